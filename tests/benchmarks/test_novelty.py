"""Tests for benchmarks/novelty.py: the made-up movements are what they say (lying down has a
horizontal trunk, frozen has zero speed, jitter has the noise asked, the arm turns as
asked), and the table runs end to end on a tiny model and skeleton files made here (the
real-footage rows from synthetic video movements). Figures are never asserted on targets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from benchmarks import novelty as nov
from benchmarks import run_all
from offline.datasets.movement import Movement
from pipeline import skeleton as sk
from pipeline.window import WindowSpec

SPEC = WindowSpec()
MOTIONS = {"walk": "Neutral", "wave": "Happy", "still": "Sad"}


def trunk_elevation_deg(world: np.ndarray) -> np.ndarray:
    """(..., J, 3) -> angle of mid-hip -> mid-shoulder above the horizontal, degrees."""
    trunk = sk.mid_shoulder(world) - sk.mid_hip(world)
    return np.degrees(np.arcsin(trunk[..., 1] / np.linalg.norm(trunk, axis=-1)))


def movement_of(seq, label: str = "Neutral", name: str = "m") -> Movement:
    return Movement(seq.world, seq.image, seq.visibility, seq.t_s, label, name=name)


def test_lying_down_has_a_horizontal_trunk_and_upside_down_hangs(synthetic_sequence) -> None:
    seq = synthetic_sequence(90, 30.0, "walk")
    assert trunk_elevation_deg(seq.world).min() > 80  # upright to start with
    lying = nov.turned(seq.world.astype(np.float64), 90.0)
    assert np.abs(trunk_elevation_deg(lying)).max() < 10
    assert lying[..., 1].min() == pytest.approx(0.0, abs=1e-9)  # on the floor

    # bones keep their lengths
    def shin(w: np.ndarray) -> np.ndarray:
        return np.linalg.norm(w[:, sk.L_KNEE] - w[:, sk.L_ANKLE], axis=-1)

    assert np.allclose(shin(lying), shin(seq.world))
    # and what the model is fed (the canonical window, which turns a trunk upright by
    # 45 deg at most: `skeleton.upright`) is still far from upright
    windows = nov.seen_again(movement_of(seq), lying, "lying").windows(SPEC, 0.5)
    assert windows and max(np.abs(trunk_elevation_deg(w.world)).max() for w in windows) < 55
    upside = nov.turned(seq.world.astype(np.float64), 180.0)
    assert trunk_elevation_deg(upside).max() < -80
    assert (upside[:, sk.NOSE, 1] < upside[:, sk.L_ANKLE, 1]).all()


def test_frozen_windows_have_zero_speed(synthetic_sequence) -> None:
    windows = movement_of(synthetic_sequence(90, 30.0, "wave")).windows(SPEC, 0.5)
    assert windows and all(np.abs(np.diff(w.world, axis=0)).max() > 1e-3 for w in windows)
    for w in windows:
        still = nov.frozen(w)
        assert np.abs(np.diff(still.world, axis=0)).max() == 0.0
        assert np.abs(np.diff(still.image, axis=0)).max() == 0.0
        assert np.array_equal(still.world[-1], w.world[-1]) and np.array_equal(still.t_s, w.t_s)


@pytest.mark.parametrize("rms_cm", [5.0, 8.0])
def test_jitter_has_the_noise_level_asked(synthetic_sequence, rms_cm: float) -> None:
    seq = synthetic_sequence(600, 30.0, "wave")
    world = seq.world.astype(np.float64)
    noise = nov.jittered(world, rms_cm / 100, np.random.default_rng(1)) - world
    rms = math.sqrt((np.linalg.norm(noise, axis=-1) ** 2).mean())
    assert rms == pytest.approx(rms_cm / 100, rel=0.03)
    # independent per frame and joint: no correlation between neighbours
    flat = noise[..., 0]
    assert abs(np.corrcoef(flat[1:].ravel(), flat[:-1].ravel())[0, 1]) < 0.05
    assert abs(np.corrcoef(flat[:, 1:].ravel(), flat[:, :-1].ravel())[0, 1]) < 0.05
    # the windows the model gets carry it (the virtual camera sees the same jittered body)
    moved = nov.seen_again(movement_of(seq), world + noise, "jitter")
    assert np.allclose(moved.world, world + noise, atol=1e-5)


def test_the_arm_spins_straight_at_the_rate_asked(synthetic_sequence) -> None:
    seq = synthetic_sequence(120, 30.0, "walk")
    spun = nov.arm_spinning(seq.world.astype(np.float64), seq.t_s, 2.0)
    reach = np.linalg.norm(spun[:, sk.R_WRIST] - spun[:, sk.R_SHOULDER], axis=-1)
    assert np.ptp(reach) < 1e-9 and reach[0] == pytest.approx(0.30 + 0.26, rel=0.05)
    rel = spun[:, sk.R_WRIST] - spun[:, sk.R_SHOULDER]
    turns = np.unwrap(np.arctan2(rel[:, 2], rel[:, 1]))  # angle from up towards forward
    assert (turns[-1] - turns[0]) / (2 * math.pi) == pytest.approx(2.0 * seq.t_s[-1], rel=0.02)
    others = [j for j in range(sk.N_JOINTS) if j not in (sk.R_ELBOW, sk.R_WRIST)]
    assert np.array_equal(spun[:, others], seq.world[:, others].astype(np.float64))


# --- end to end on a tiny model ------------------------------------------------------------


def write_skeletons(folder: Path, make) -> Path:
    """Skeleton files: 3 motions x 3 takes of 4 s, labelled, one group per take."""
    folder.mkdir()
    for motion, label in MOTIONS.items():
        for take in range(3):
            seq = make(120, 30.0, motion, t0=1.3 * take)
            fields = {"joints": np.array(sk.JOINTS), "label": label, "group": f"take{take}"}
            np.savez(folder / f"{motion}_{take}.npz", positions=seq.world, fps=30.0, **fields)
    return folder


def tiny_model(folder: Path, path: Path) -> Path:
    from offline.training.classifiers import fit_classifier, make_classifier
    from pipeline.features import DEFAULT_FEATURE_SET, vectorize
    from pipeline.models import EmotionModel, save_model

    x, y, clips, contents = [], [], [], []
    for m in nov.read_movements(folder, None):
        for w in m.windows(SPEC, 0.2):
            x.append(vectorize(w, DEFAULT_FEATURE_SET))
            y.append(m.label)
            clips.append(m.name)
            contents.append(m.name.split("_")[0])
    features = np.array(x)
    pipe = make_classifier("et", balance="none", projection=1)
    fit_classifier(pipe, features, np.array(y), balance="none", clips=np.array(clips),
                   contents=np.array(contents))  # fmt: skip
    classes = tuple(sorted(set(y)))
    save_model(EmotionModel(pipe, classes, DEFAULT_FEATURE_SET, SPEC, features.shape[1]), path)
    return path


def test_the_table_runs_end_to_end_on_a_tiny_model(
    tmp_path: Path, synthetic_sequence, monkeypatch, capsys
) -> None:
    from pipeline.features import vectorize
    from pipeline.models import load_model

    data = write_skeletons(tmp_path / "skeletons", synthetic_sequence)
    model_path = tiny_model(data, tmp_path / "tiny.skops")
    real = {
        "cam01.mp4": movement_of(synthetic_sequence(100, 60.0, "wave"), name="Neutral/00_cam01"),
        "cam02.mp4": movement_of(synthetic_sequence(30, 60.0, "wave"), name="Neutral/01_cam02"),
    }  # cam02: 0.5 s, shorter than a window
    seen: list = []

    def fake_videos(videos, model, cache_dir, pose_model):
        seen.append((videos, model.pose))
        return real, {"cam03.mp4": "no person found"}

    monkeypatch.setattr(nov, "video_movements", fake_videos)
    out = tmp_path / "novelty.json"
    argv = ["--model", str(model_path), "--videos", "a.mp4", "--mocap", str(data),
            "--ordinary", str(data), "--stride", "0.5", "--out", str(out)]  # fmt: skip
    assert nov.main(argv) == 0
    r = json.loads(out.read_text())
    assert seen[0][0] == [Path("a.mp4")]
    by_name = {(row["section"], row["name"]): row for row in r["rows"]}
    model = load_model(model_path)
    period = SPEC.window_s / (SPEC.n_frames - 1)  # the live app's classification period
    cam01 = real["cam01.mp4"].windows(SPEC, period)
    flagged = model.unfamiliar(np.stack([vectorize(w, model.feature_set) for w in cam01]))
    assert by_name[("real", "cam01.mp4")]["windows"] == len(cam01) > 5
    assert by_name[("real", "cam01.mp4")]["flagged"] == int(flagged.sum())
    assert by_name[("real", "cam02.mp4")]["windows"] == 0
    assert by_name[("real", "cam03.mp4")]["note"] == "no person found"
    assert by_name[("real", "all real videos")]["windows"] == len(cam01)
    kinds = [row["name"] for row in r["rows"] if row["section"] == "unlike"]
    assert len(kinds) == 5 and any(k.startswith("jittering (6.5 cm") for k in kinds)
    ordinary = by_name[("ordinary", "skeletons")]
    movements = nov.read_movements(data, None)
    windows = [w for m in movements for w in m.windows(SPEC, 0.5)]
    assert ordinary["windows"] == len(windows)
    assert all(by_name[("unlike", k)]["windows"] == len(windows) for k in kinds)
    x = np.stack([vectorize(w, model.feature_set) for w in windows])
    assert ordinary["flagged"] == int(model.unfamiliar(x).sum())
    a = ordinary["accuracy"]  # every window has one of the model's labels
    assert a is not None and 0.0 <= a["let_through"] <= 1.0
    assert ordinary["note"] == "not on the model's card"
    printed = capsys.readouterr().out
    assert "movement unlike anything people do:" in printed and "lying down" in printed
    assert f"sha256 {r['model_sha256'][:12]}" in printed
    results = {"benchmarks": {"novelty": {"result": r}}, "quick": True, "finished": "now"}
    table = run_all.markdown({**results, "wall_s": 1.0, "machine": r["machine"]})
    assert table.count("| novelty check |") == len(r["rows"]) and "Not measured" not in table


def test_a_model_without_a_novelty_check_is_one_error_line(
    tmp_path: Path, synthetic_sequence, capsys
) -> None:
    from pipeline.models import save_model
    from tests.realtime.conftest import build_tiny_model

    path = tmp_path / "plain.skops"
    save_model(build_tiny_model(), path)  # scaling + SVM: no reference windows
    data = write_skeletons(tmp_path / "skeletons", synthetic_sequence)
    argv = ["--model", str(path), "--no-videos", "--mocap", "--ordinary", str(data)]
    assert nov.main(argv) == 2
    assert capsys.readouterr().err.strip() == (
        "error: the model has no novelty check (no reference windows on it)"
    )


# --- real footage and the shared data (skipped when absent) ---------------------------------


@pytest.mark.integration
def test_demo_video_goes_through_pose_to_windows(tmp_path: Path, synthetic_sequence) -> None:
    from realtime import demo

    clip = demo.clip_path()
    if not clip.is_file():
        pytest.skip(f"demo clip not cached at {clip} (python -m realtime --demo fetches it)")
    from pipeline.models import load_model

    data = write_skeletons(tmp_path / "skeletons", synthetic_sequence)
    model = load_model(tiny_model(data, tmp_path / "tiny.skops"))
    found, skipped = nov.video_movements([clip], model, tmp_path / "cache", None)
    assert skipped == {} and list(found) == ["cam02.mp4"]
    m = found["cam02.mp4"]
    assert m.source == "video" and m.duration_s == pytest.approx(99 / 60, abs=0.02)
    assert len(m.windows(SPEC, 0.1)) >= 5


@pytest.mark.integration
def test_shared_mocap_gives_every_unlike_kind() -> None:
    path = nov.DEFAULT_MOCAP[0]
    if not (path / "data").is_dir():
        pytest.skip(f"shared motion capture not found at {path} (a checkout beside ../shared)")
    (movement,) = nov.read_movements(path, 1)
    made = nov.unlike_windows(movement, SPEC, 0.5, 0.065, 2.0, np.random.default_rng(0))
    assert len(made) == 5 and all(len(w) > 0 for w in made.values())
    lying = next(w for k, w in made.items() if k.startswith("lying"))
    assert max(np.abs(trunk_elevation_deg(w.world)).max() for w in lying) < 60  # <= 45 turned
