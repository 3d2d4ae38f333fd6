"""Tests for benchmarks/multi_person.py: the composed clip, id-switch counting, label
agreement, and a short run on a composed clip with a fake pose stage and the tiny model."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from benchmarks import multi_person as mp
from benchmarks.composed import Footage, Layout, compose

cv2 = pytest.importorskip("cv2")
pytest.importorskip("norfair")


def write_clip(path: Path, n: int = 12, fps: float = 30.0, wh: tuple[int, int] = (40, 80)) -> Path:
    """Frame k: a white bar on the left third (so mirroring shows), grey 10 * (k + 1) elsewhere."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, wh)
    for k in range(n):
        image = np.full((wh[1], wh[0], 3), 10 * (k + 1), np.uint8)
        image[:, : wh[0] // 3] = 255
        writer.write(image)
    writer.release()
    return path


def test_copies_sit_in_their_cells_delayed_and_mirrored(tmp_path: Path) -> None:
    layout = Layout(2, (100, 80), delay_s=0.1)
    footage = Footage(write_clip(tmp_path / "c.mp4"), layout.cell_wh)
    assert layout.cell_wh == (50, 80) and [layout.origin(k) for k in (0, 1)] == [(0, 0), (50, 0)]
    frame = compose(footage, layout, 0.2)
    assert np.array_equal(frame[:, :50], footage.at(0.2))
    assert np.array_equal(frame[:, 50:], footage.at(0.1)[:, ::-1])  # delayed and mirrored
    left, right = frame[40, :50, 0], frame[40, 50:, 0]
    assert left[6:14].min() > 200 and right[-14:-6].min() > 200  # the bar; 5 px margins
    alone = compose(footage, layout, 0.2, only=1)
    assert not alone[:, :50].any() and np.array_equal(alone[:, 50:], frame[:, 50:])
    # played forward then backward: 12 frames at 30 fps -> index 11 at 11/30 s, 10 at 12/30 s
    assert np.array_equal(footage.at(12 / 30), footage.at(10 / 30))
    grid = Layout(4, (100, 80), 0.0)
    assert grid.grid == (2, 2) and [grid.origin(k) for k in range(4)] == [
        (0, 0), (50, 0), (0, 40), (50, 40)
    ]  # fmt: skip
    assert grid.copy_at((0.6, 0.6, 0.8, 0.9)) == 3 and grid.copy_at((0.1, 0.1, 0.3, 0.3)) == 0


def person(pid: int, k: int, state: str = "uncertain", label: int | None = None) -> dict:
    x0 = 0.1 + 0.5 * k
    return {"id": pid, "box": (x0, 0.2, x0 + 0.3, 0.9), "state": state, "label": label,
            "decided": (state, label), "argmax": 0, "proba": np.array([0.7, 0.3])}  # fmt: skip


def test_an_injected_id_swap_counts_one_switch_per_copy() -> None:
    layout = Layout(2, (100, 80), 0.0)
    frames = [[person(1, 0), person(2, 1)] for _ in range(10)]
    frames += [[]]  # nobody for a frame: missed, not a switch
    frames += [[person(2, 0), person(1, 1)] for _ in range(10)]  # the tracker swapped them
    frames += [[person(2, 0), person(3, 0), person(1, 1)]]  # an extra box in copy 0's cell
    out = mp.id_switches(frames, layout)
    assert [c["switches"] for c in out] == [1, 1]
    assert [c["missed"] for c in out] == [1, 1] and [c["extra"] for c in out] == [1, 0]
    assert out[0]["ids"] == [1, 2]


def test_agreement_compares_each_copy_with_its_run_alone() -> None:
    layout = Layout(2, (100, 80), 0.0)
    composed = [[person(1, 0, "classified", 0), person(2, 1)] for _ in range(4)]
    alone0 = [[person(1, 0, "classified", 0)]] * 2 + [[person(1, 0, "uncertain")]] * 2
    a = mp.agreement(composed, alone0, layout, 0)
    assert a["state"] == a["label"] == a["decided"] == 0.5 and a["argmax"] == 1.0
    assert mp.agreement(composed, [[]] * 4, layout, 1)["state"] == 0.0  # alone saw nobody


def fake_poser(clip: Path, num_poses: int, pose_model: Path | None):
    """A pose stage reading the composed frames: one lively synthetic person in every bright
    bar found along a row, at the bar's place."""
    from pipeline.pose import PoseFrame
    from pipeline.video import iter_frames
    from tests.realtime.conftest import body_at, pose_frame

    poses = []
    for frame in iter_frames(clip):
        row = frame.image[frame.image.shape[0] // 2, :, 0] > 200
        edges = np.flatnonzero(np.diff(np.r_[0, row.astype(int), 0]))
        found = []
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            p = pose_frame(body_at(frame.t_s, "lively"))
            image = p.image.copy()
            image[:, 0] = (a + (b - a) * image[:, 0]) / row.size
            found.append(PoseFrame(image, p.world, p.visibility, p.presence, p.image_wh))
        poses.append(found[:num_poses])
    return poses, [1.0] * len(poses)


def test_a_short_run_on_a_composed_clip_measures_every_figure(tmp_path: Path) -> None:
    from benchmarks.frame_budget import parse_size
    from pipeline.models import save_model
    from tests.realtime.conftest import build_tiny_model

    model = tmp_path / "tiny.joblib"
    save_model(build_tiny_model(), model)
    args = mp.build_parser().parse_args(
        ["--video", str(write_clip(tmp_path / "c.mp4")), "--size", "160x80", "--fps", "15",
         "--seconds", "2", "--rounds", "1", "--max-people", "1", "2", "--model", str(model)]
    )  # fmt: skip
    assert isinstance(args, argparse.Namespace) and args.size == parse_size("160x80")
    r = mp.run(args, poser=fake_poser)
    assert [r["non_pose"][n]["people_in_view"] for n in ("1", "2")] == [1.0, 2.0]
    assert set(r["per_extra_person_ms"]) == {"2"} and r["goal"]["met"] in (True, False)
    assert all(c["switches"] == 0 and c["missed"] == 0 for c in r["id_switches"]["2"])
    for copies in r["agreement"].values():  # same fake poses alone and composed: same labels
        assert all(a["state"] == a["decided"] == a["argmax"] == 1.0 for a in copies)
        assert all(a["argmax_frames"] > 0 for a in copies)
    text = mp.report(r)
    assert "COMPOSED" in text and "N=2 copy 1 vs alone" in text
