"""Tests for offline/datasets/skeletons.py on .npz skeleton files written here.

Bodies come from the synthetic BVH clips of test_mocap (`bvh_text`: a walking, waving or
bowing 13-joint skeleton in metres, floor at y = 0).
"""

from __future__ import annotations

import pickle
import re
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from offline.datasets import skeletons
from offline.datasets.mocap import MocapOptions, clip_sequences, list_clips
from offline.datasets.skeletons import (
    MEDIAPIPE_LANDMARKS,
    is_skeleton_folder,
    load_skeleton,
    read_skeletons,
)
from offline.datasets.views import view_movements
from offline.labels import STYLE_LABELS
from offline.mocap.body import from_bvh
from offline.mocap.bvh import read_bvh
from pipeline import skeleton as sk
from pipeline.features import vectorize
from pipeline.window import WindowSpec
from tests.offline.datasets.test_mocap import bvh_text, write_mocap_folder

JITTERY = MocapOptions(views_deg=(0.0, 90.0, -135.0), image_jitter=0.02, world_jitter_m=0.01)


def clip_world(tmp_path: Path, content: str = "walk", style: str = "happy") -> np.ndarray:
    """(75, 13, 3) metres at 30 fps: a synthetic mocap clip."""
    bvh = tmp_path / f"{content}_{style}.bvh"
    bvh.write_text(bvh_text(content, style))
    return from_bvh(read_bvh(bvh))


def write(path: Path, **fields: Any) -> Path:
    """An .npz skeleton file; `fields` default to a valid 13-joint movement at 30 fps."""
    defaults: dict[str, Any] = {"joints": np.array(sk.JOINTS), "fps": 30.0, "label": "happy"}
    if "positions" not in fields:
        defaults["positions"] = clip_world(path.parent)
    if "t_s" in fields:
        del defaults["fps"]
    args = {k: v for k, v in {**defaults, **fields}.items() if v is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **args)
    return path


# --- layout ---------------------------------------------------------------------------


def test_docstring_example_writes_a_readable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = skeletons.__doc__ or ""
    block = re.search(r"Example[^\n]*\n\n((?:    .*\n|\n)+)", doc)
    assert block is not None
    code = textwrap.dedent(block.group(1))
    assert len(code.strip().splitlines()) <= 10
    monkeypatch.chdir(tmp_path)
    (tmp_path / "skeletons").mkdir()
    exec(compile(code, "example", "exec"), {})
    [movement] = read_skeletons(tmp_path / "skeletons")
    assert movement.label == "Happy" and movement.groups["group"] == "actor1"
    assert movement.visibility[40:45, sk.R_WRIST].max() == 0.0
    assert movement.windows(WindowSpec(), 0.5)


def test_mediapipe_names_are_poselandmarkers() -> None:
    pose = pytest.importorskip("mediapipe.python.solutions.pose")
    assert MEDIAPIPE_LANDMARKS == tuple(p.name.lower() for p in pose.PoseLandmark)
    shared = [MEDIAPIPE_LANDMARKS[i] for i in sk.MEDIAPIPE_INDEX]
    assert [n.replace("left_", "l_").replace("right_", "r_") for n in shared] == list(sk.JOINTS)


def test_shared_names_read_back_equal_with_extra_joints_ignored(tmp_path: Path) -> None:
    world = clip_world(tmp_path)
    extra = np.random.default_rng(0).normal(size=(world.shape[0], 2, 3))
    positions = np.concatenate([world, extra], axis=1).astype(np.float64)
    names = [*sk.JOINTS, "spine", "L_Toe"]
    order = np.random.default_rng(1).permutation(len(names))  # columns in any order
    path = write(tmp_path / "a.npz", positions=positions[:, order], joints=np.array(names)[order])
    loaded = load_skeleton(path)
    assert loaded.world.dtype == np.float32
    np.testing.assert_array_equal(loaded.world, world.astype(np.float32))
    [movement] = read_skeletons(tmp_path, MocapOptions())
    np.testing.assert_array_equal(movement.world, world)
    assert movement.groups == {"group": "a", "person": "a", "clip": "a", "view_deg": "0"}
    assert movement.name == "a@0" and movement.source == "mocap"
    assert (movement.visibility == 1).all() and np.isfinite(movement.image).all()


def test_mediapipe_names_read_back_equal(tmp_path: Path) -> None:
    world = clip_world(tmp_path)
    landmarks = np.random.default_rng(0).normal(size=(world.shape[0], 33, 3))
    landmarks[:, sk.MEDIAPIPE_INDEX] = world
    names = [n.upper() if i % 2 else n for i, n in enumerate(MEDIAPIPE_LANDMARKS)]
    write(tmp_path / "mp.npz", positions=landmarks, joints=np.array(names), label="Joy")
    [movement] = read_skeletons(tmp_path)
    np.testing.assert_array_equal(movement.world, world)
    assert movement.label == "Happy"


def test_fps_and_t_s_give_the_same_times(tmp_path: Path) -> None:
    world = clip_world(tmp_path)
    by_fps = load_skeleton(write(tmp_path / "fps.npz", positions=world, fps=np.float32(25)))
    t = np.arange(world.shape[0]) / 25.0
    by_t = load_skeleton(write(tmp_path / "t.npz", positions=world, t_s=t))
    np.testing.assert_array_equal(by_fps.t_s, t)
    np.testing.assert_array_equal(by_t.t_s, by_fps.t_s)
    assert by_t.t_s.dtype == np.float64


def test_group_and_bytes_strings(tmp_path: Path) -> None:
    write(tmp_path / "x.npz", group=np.array(b"actor 7"), label=np.array([b"ANGRY"]))
    [movement] = read_skeletons(tmp_path)
    assert movement.groups["group"] == "actor 7" and movement.label == "Anger"


def test_nan_joints_have_visibility_0_and_windows_are_still_cut(tmp_path: Path) -> None:
    world = clip_world(tmp_path).astype(np.float64)
    spec = WindowSpec(window_s=1.0)
    complete = view_movements(world, np.arange(75) / 30, "Happy", {}, "c", MocapOptions(), None)
    n_windows = len(complete[0].windows(spec, stride_s=0.25))
    assert n_windows == 7  # ends 0.97 s..2.47 s of the 75 frames at 30 fps
    world[10:30, sk.L_WRIST] = np.nan
    world[50:53, sk.R_HIP] = np.nan  # the camera must still place these frames
    write(tmp_path / "gaps.npz", positions=world)
    movements = read_skeletons(tmp_path, MocapOptions(views_deg=(0.0, 60.0), image_jitter=0.02))
    for m in movements:
        hidden = np.zeros(m.visibility.shape, bool)
        hidden[10:30, sk.L_WRIST] = hidden[50:53, sk.R_HIP] = True
        np.testing.assert_array_equal(m.visibility, np.where(hidden, 0.0, 1.0))
        assert np.isnan(m.image[hidden]).all() and np.isnan(m.world[hidden]).all()
        assert np.isfinite(m.image[~hidden]).all()  # one unseen hip blanks nothing else
        windows = m.windows(spec, stride_s=0.25)
        assert len(windows) == n_windows  # the gaps are filled within each window
        for w in windows:
            assert np.isfinite(vectorize(w, "motion+image")).all()


# --- bad files --------------------------------------------------------------------------


def _object_joints(path: Path) -> None:
    write(path, joints=np.array(list(sk.JOINTS), dtype=object))


def _pickled_file(path: Path) -> None:
    path.write_bytes(pickle.dumps({"positions": [1.0]}))


BAD_FILES = {
    "missing joints": (
        lambda p: write(p, joints=np.array([*sk.JOINTS[:-2], "foo", "bar"])),
        "missing joints l_ankle, r_ankle (MediaPipe names: left_ankle, right_ankle); "
        "`joints` has 'nose', 'l_shoulder',",
    ),
    "joint twice": (
        lambda p: write(p, joints=np.array([*sk.JOINTS[:-1], "left_shoulder"])),
        "joint l_shoulder is given twice",
    ),
    "bad label": (lambda p: write(p, label="bored"), "label 'bored' is not an emotion; use"),
    "number label": (lambda p: write(p, label=3), "`label` must be one string"),
    "inf": (
        lambda p: write(p, positions=np.where(np.eye(13)[None, :, :3] > 0, np.inf, 1.0)),
        "holds ±inf (joints l_shoulder, nose, r_shoulder, frames 0); mark unseen joints with NaN",
    ),
    "too big": (
        lambda p: write(p, positions=np.full((5, 13, 3), 1e300)),
        "too large for float32",
    ),
    "2d positions": (
        lambda p: write(p, positions=np.zeros((5, 13, 2))),
        "must be a (frames, joints, 3) float array, got shape (5, 13, 2) of float64",
    ),
    "string positions": (
        lambda p: write(p, positions=np.full((5, 13, 3), "1")),
        "must be a (frames, joints, 3) float array, got shape (5, 13, 3) of <U1",
    ),
    "fewer names": (
        lambda p: write(p, positions=np.zeros((5, 14, 3))),
        "`joints` names 13 joints but `positions` has 14",
    ),
    "object array": (_object_joints, "`joints` is an object array"),
    "pickle": (_pickled_file, "not an .npz archive"),
    "not a zip": (lambda p: p.write_bytes(b"PK\x03\x04 broken"), "cannot be read as .npz"),
    "npy": (lambda p: np.save(p.open("wb"), np.zeros(3)), "single .npy array"),
    "no label": (lambda p: write(p, label=None), "missing `label`"),
    "both times": (lambda p: write(p, t_s=np.arange(75) / 30, fps=30), "either `fps`"),
    "no time": (lambda p: write(p, fps=None), "either `fps`"),
    "zero fps": (lambda p: write(p, fps=0), "`fps` must be 0.1 to 10000 frames per second"),
    "fps 1e300": (lambda p: write(p, fps=1e300), "frames per second, got 1e+300"),
    "fps 1e-300": (lambda p: write(p, fps=1e-300), "frames per second, got 1e-300"),
    "t_s back": (
        lambda p: write(p, t_s=np.r_[np.arange(70), 5, np.arange(71, 75)] / 30),
        "must strictly increase, but frame 70",
    ),
    "t_s shape": (lambda p: write(p, t_s=np.arange(74) / 30), "`t_s` must be (75,) numbers"),
    "empty group": (lambda p: write(p, group=" "), "`group` is empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_one_clear_error_naming_it(tmp_path: Path, case: str) -> None:
    make, message = BAD_FILES[case]
    write(tmp_path / "fine.npz")
    bad = tmp_path / "take_2.npz"
    make(bad)
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        read_skeletons(tmp_path)
    text = str(info.value)
    assert text.startswith(f"skeleton file {bad}: ") and "\n" not in text


def test_unusable_files_are_skipped_and_reported_by_name(tmp_path: Path) -> None:
    write(tmp_path / "good.npz")
    write(tmp_path / "blank.npz", positions=np.full((20, 13, 3), np.nan))
    never = clip_world(tmp_path).astype(np.float64)
    never[:, sk.NOSE] = np.nan
    write(tmp_path / "never.npz", positions=never)
    write(tmp_path / "one.npz", positions=clip_world(tmp_path)[:1])
    write(tmp_path / "none.npz", positions=np.zeros((0, 13, 3)))
    skipped: dict[str, str] = {}
    movements = read_skeletons(tmp_path, skipped=skipped)
    assert [m.name for m in movements] == ["good@0"]
    assert skipped == {
        "blank.npz": "every joint is NaN in every frame",
        "never.npz": "joints never seen: nose",
        "none.npz": "no frames",
        "one.npz": "a single frame; a movement needs at least 2",
    }
    with pytest.warns(UserWarning, match=r"^4 skeleton files skipped: blank.npz \(every"):
        assert len(read_skeletons(tmp_path)) == 1


def test_no_usable_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "blank.npz", positions=np.full((20, 13, 3), np.nan))
    with pytest.raises(ValueError, match=r"no usable movement in .*: 1 skeleton files skipped"):
        read_skeletons(tmp_path)


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="skeleton folder not found"):
        read_skeletons(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no .npz skeleton files"):
        read_skeletons(tmp_path)


def test_is_skeleton_folder(tmp_path: Path) -> None:
    assert not is_skeleton_folder(tmp_path)
    assert not is_skeleton_folder(tmp_path / "nowhere")
    path = write(tmp_path / "a.npz")
    assert is_skeleton_folder(tmp_path) and not is_skeleton_folder(path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.bvh").write_text("HIERARCHY\n")
    assert not is_skeleton_folder(tmp_path)


# --- the virtual camera ---------------------------------------------------------------


def _assert_same(ours: list[Any], theirs: list[Any]) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        for attr in ("world", "image", "visibility", "t_s"):
            x, y = getattr(a, attr), getattr(b, attr)
            assert x.dtype == y.dtype, attr
            np.testing.assert_array_equal(x, y, err_msg=attr)
        assert (a.label, a.groups, a.source, a.name) == (b.label, b.groups, b.source, b.name)


def _reference_views(world, t_s, fps, label, groups, name, options, rng):
    """Motion capture's per-view numbers as `clip_sequences` computed them before it called
    `view_movements` (camera, then image jitter, then world jitter), kept as the reference."""
    from offline.datasets.movement import Movement
    from offline.mocap.virtual_camera import VirtualCamera

    out = []
    for view in options.views_deg:
        camera = VirtualCamera(yaw_deg=float(view), distance_m=options.distance_m)
        plane = camera.image_points(world, fps)
        noisy = world
        if options.image_jitter > 0:
            height = np.nanmedian(np.ptp(plane[..., 1], axis=1))
            plane = plane + rng.normal(0.0, options.image_jitter * height, plane.shape)
        if options.world_jitter_m > 0:
            noisy = world + rng.normal(0.0, options.world_jitter_m, world.shape)
        out.append(Movement(
            world=noisy.astype(np.float32), image=plane.astype(np.float32),
            visibility=np.ones(world.shape[:2], np.float32), t_s=t_s, label=label,
            groups={**groups, "view_deg": f"{view:g}"}, source="mocap", name=f"{name}@{view:g}",
        ))  # fmt: skip
    return out


def _compare_with_clip_sequences(root: Path, options: MocapOptions, n_clips: int) -> None:
    clips = list_clips(root)[:n_clips]
    assert clips
    for given_fps in (True, False):
        rng_ours, rng_ref, rng_clip = (np.random.default_rng(7) for _ in range(3))
        for clip in clips:
            motion = read_bvh(clip.path, unit_m=options.unit_m)
            world = from_bvh(motion, options.body)
            label = STYLE_LABELS.get(clip.style, clip.style.capitalize())
            groups = {"content": clip.content, "clip": clip.path.stem}
            fps = 1.0 / motion.frame_time_s
            ours = view_movements(
                world, motion.t_s, label, groups, clip.path.stem, options,
                rng_ours, fps=fps if given_fps else None,
            )  # fmt: skip
            reference = _reference_views(
                world, motion.t_s, fps, label, groups, clip.path.stem, options, rng_ref
            )
            _assert_same(ours, reference)
            _assert_same(clip_sequences(clip, options, rng_clip), reference)


def _features(movements: list[Any], feature_set: str) -> np.ndarray:
    windows = [w for m in movements for w in m.windows(WindowSpec(), stride_s=0.3)]
    assert len(windows) >= 3 * len(movements)
    return np.stack([vectorize(w, feature_set) for w in windows])


@pytest.mark.parametrize("content", ["walk", "wave"])
def test_centimetres_and_metres_give_the_same_features(tmp_path: Path, content: str) -> None:
    world = clip_world(tmp_path, content).astype(np.float64)
    write(tmp_path / "m" / "clip.npz", positions=world, label="angry")
    write(tmp_path / "cm" / "clip.npz", positions=world * 100.0, label="angry")
    metres, centimetres = (
        read_skeletons(tmp_path / "m", JITTERY),
        read_skeletons(tmp_path / "cm", JITTERY),
    )
    np.testing.assert_allclose(centimetres[0].world, 100 * metres[0].world, atol=1e-3)
    for feature_set in ("motion", "image", "motion+image"):
        np.testing.assert_allclose(
            _features(centimetres, feature_set),
            _features(metres, feature_set),
            rtol=1e-3,
            atol=1e-3,
            err_msg=feature_set,
        )
    # the study's "seed" vector is in file units: it is not scale-free
    seed_cm, seed_m = _features(centimetres, "seed"), _features(metres, "seed")
    np.testing.assert_allclose(seed_cm, 100 * seed_m, rtol=1e-3, atol=1e-2)


def test_the_camera_view_does_not_depend_on_the_origin(tmp_path: Path) -> None:
    world = clip_world(tmp_path).astype(np.float64)
    hip_origin = world - np.array([2.0, 0.0, -1.0]) - sk.mid_hip(world)[:1, None] * [0, 1, 0]
    write(tmp_path / "floor" / "clip.npz", positions=world)
    write(tmp_path / "hips" / "clip.npz", positions=hip_origin)
    a = read_skeletons(tmp_path / "floor", JITTERY)
    b = read_skeletons(tmp_path / "hips", JITTERY)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x.image, y.image, atol=1e-5)


def _body_shape(image: np.ndarray) -> np.ndarray:
    """Image-plane joints about the mid-hip in torso lengths (what the image features see)."""
    torso = np.linalg.norm(sk.mid_shoulder(image) - sk.mid_hip(image), axis=-1)
    return sk.canonical_image(image) / torso[:, None, None]


def test_the_camera_sees_a_metre_skeleton_about_as_motion_capture_does(tmp_path: Path) -> None:
    root = write_mocap_folder(tmp_path / "mocap", [("walk", "happy")])
    [clip] = list_clips(root)
    options = MocapOptions(views_deg=(0.0, 45.0, 90.0))
    mocap = clip_sequences(clip, options, np.random.default_rng(0))
    motion = read_bvh(clip.path)
    write(tmp_path / "npz" / "clip.npz", positions=from_bvh(motion), t_s=motion.t_s)
    ours = read_skeletons(tmp_path / "npz", options)
    for x, y in zip(ours, mocap, strict=True):
        np.testing.assert_array_equal(x.world, y.world)
        error = np.linalg.norm(_body_shape(x.image) - _body_shape(y.image), axis=-1)
        # this body's torso is 15% longer than the standard one: the camera stands 15%
        # further away and a little lower, which barely changes the body's image shape
        assert np.median(error) < 0.02 and error.max() < 0.1
