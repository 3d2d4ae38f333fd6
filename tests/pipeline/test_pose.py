"""Tests for pipeline/pose.py: the PoseLandmarker wrapper, on a real photograph.

The photograph is scikit-image's `astronaut` (Eileen Collins, NASA, public domain):
512x512 RGB, a woman facing the camera, head and shoulders in view. Where her nose and
shoulders are was read off the image by eye (pixels, x right, y down).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pipeline import pose
from pipeline import skeleton as sk
from pipeline.pose import (
    PoseEstimator,
    PoseFrame,
    check_pose_model,
    is_pose_bundle,
    quiet_stderr,
    select_person,
)

os.environ.setdefault("GLOG_minloglevel", "2")

# (x_min, x_max, y_min, y_max) pixel boxes in the 512x512 astronaut image
NOSE_BOX = (195, 255, 95, 150)
LEFT_SHOULDER_BOX = (270, 400, 200, 320)  # her left: the image's right
RIGHT_SHOULDER_BOX = (50, 180, 190, 310)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    data = pytest.importorskip("skimage.data")
    return data.astronaut()


@pytest.fixture(scope="module")
def image_estimator():
    with PoseEstimator(mode="image") as est:
        yield est


def _in_box(xy: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    x0, x1, y0, y1 = box
    return bool(x0 <= xy[0] <= x1 and y0 <= xy[1] <= y1)


def _pixels(frame: PoseFrame, index: int) -> np.ndarray:
    w, h = frame.image_wh
    return frame.image[index, :2] * np.array([w, h])


def _frame(hip_x: float, size: float) -> PoseFrame:
    """A fake PoseFrame whose landmarks spread `size` around a mid-hip at `hip_x`."""
    image = np.zeros((33, 3), np.float32)
    image[:, 0] = hip_x + np.linspace(-size, size, 33)
    image[:, 1] = 0.5 + np.linspace(-size, size, 33)
    image[23, 0], image[24, 0] = hip_x - 0.01, hip_x + 0.01
    ones = np.ones(33, np.float32)
    return PoseFrame(image, np.zeros((33, 3), np.float32), ones, ones, (640, 480))


# --- no model needed ----------------------------------------------------------------------


def test_empty_frame_is_all_nan() -> None:
    frame = PoseFrame.empty((640, 480))
    assert not frame.found
    assert np.isnan(frame.image).all() and np.isnan(frame.world).all()
    world, image, vis = frame.joints()
    assert world.shape == (13, 3) and np.isnan(world).all() and np.isnan(image).all()
    assert (vis == 0).all()


def test_joints_use_the_shared_axes() -> None:
    frame = _frame(0.5, 0.2)
    world = np.arange(99, dtype=np.float32).reshape(33, 3)
    frame = PoseFrame(frame.image, world, frame.visibility, frame.presence, (640, 480))
    w, i, v = frame.joints()
    np.testing.assert_allclose(w, world[sk.MEDIAPIPE_INDEX] * [1, -1, -1])
    np.testing.assert_allclose(i[:, 0], frame.image[sk.MEDIAPIPE_INDEX, 0] * 640 / 480, rtol=1e-6)
    assert frame.found


def test_select_person() -> None:
    near_left, far_right = _frame(0.3, 0.3), _frame(0.7, 0.1)
    assert select_person([], None) is None
    assert select_person([far_right], near_left) is far_right
    assert select_person([far_right, near_left], None) is near_left  # the biggest
    assert select_person([near_left, far_right], _frame(0.68, 0.1)) is far_right  # followed
    assert select_person([near_left, far_right], PoseFrame.empty((640, 480))) is near_left


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"mode": "live"}, r"`mode` must be 'video' or 'image', got 'live'"),
    ({"num_poses": 0}, r"`num_poses` must be >= 1, got 0"),
])  # fmt: skip
def test_bad_estimator_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PoseEstimator(**kwargs)


def test_user_model_file_checks(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="pose model not found"):
        check_pose_model(tmp_path / "missing.task")
    text = tmp_path / "model.task"
    text.write_text("not a model")
    with pytest.raises(
        ValueError, match=r"is not a PoseLandmarker .task bundle .*pose_detector.tflite"
    ):
        check_pose_model(text)
    with pytest.raises(ValueError, match="not a PoseLandmarker .task bundle"):
        PoseEstimator(text)
    wrong_zip = tmp_path / "hands.task"
    with zipfile.ZipFile(wrong_zip, "w") as zf:
        zf.writestr("hand_detector.tflite", b"\0" * 16)
    assert not is_pose_bundle(wrong_zip)
    with pytest.raises(ValueError, match="not a PoseLandmarker .task bundle"):
        check_pose_model(wrong_zip)


def test_build_default_model_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mediapipe")
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    def crash(models: dict, path: str) -> None:
        Path(path).write_bytes(b"PK\3\4 half a zip")
        raise RuntimeError("killed halfway")

    monkeypatch.setattr(model_asset_bundle_utils, "create_model_asset_bundle", crash)
    target = tmp_path / "models" / "pose.task"
    with pytest.raises(RuntimeError, match="killed halfway"):
        pose.build_default_model(target)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no temporary file left either
    # an existing good file survives a failed rebuild
    target.write_bytes(b"previous")
    with pytest.raises(RuntimeError):
        pose.build_default_model(target)
    assert target.read_bytes() == b"previous"


# --- the real model -------------------------------------------------------------------------


@pytest.mark.integration
def test_built_model_is_a_valid_bundle() -> None:
    path = pose.default_model_path()
    assert is_pose_bundle(path) and check_pose_model(path) == path
    with zipfile.ZipFile(path) as zf:
        assert set(pose.BUNDLE_MEMBERS) <= set(zf.namelist())
        assert all(zf.getinfo(m).file_size > 100_000 for m in pose.BUNDLE_MEMBERS)


@pytest.mark.integration
def test_landmarks_land_on_the_astronaut(image_estimator, astronaut: np.ndarray) -> None:
    frame = image_estimator.detect(astronaut)
    assert frame.found and frame.image_wh == (512, 512)
    assert _in_box(_pixels(frame, 0), NOSE_BOX), _pixels(frame, 0)
    assert _in_box(_pixels(frame, 11), LEFT_SHOULDER_BOX), _pixels(frame, 11)
    assert _in_box(_pixels(frame, 12), RIGHT_SHOULDER_BOX), _pixels(frame, 12)
    assert (frame.visibility[[0, 11, 12]] > 0.5).all()
    assert frame.image.dtype == frame.world.dtype == np.float32


@pytest.mark.integration
def test_astronaut_faces_plus_z_with_left_at_plus_x(image_estimator, astronaut: np.ndarray) -> None:
    world, image, vis = image_estimator.detect(astronaut).joints()
    assert world[sk.L_SHOULDER, 0] > world[sk.R_SHOULDER, 0] + 0.15  # left at +x
    assert world[sk.NOSE, 2] > sk.mid_shoulder(world)[2]  # nose towards the camera: +z
    assert world[sk.NOSE, 1] > world[sk.L_SHOULDER, 1]  # y up
    assert image[sk.L_SHOULDER, 0] > image[sk.R_SHOULDER, 0]  # left on the image's right
    assert image[sk.NOSE, 1] > image[sk.L_SHOULDER, 1]


@pytest.mark.integration
def test_mirrored_photo_swaps_the_shoulders(image_estimator, astronaut: np.ndarray) -> None:
    frame = image_estimator.detect(np.ascontiguousarray(astronaut[:, ::-1]))
    left = _pixels(frame, 11)
    assert 512 - RIGHT_SHOULDER_BOX[1] <= left[0] <= 512 - RIGHT_SHOULDER_BOX[0]


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["image", "video"])
def test_black_frame_gives_nans(mode: str) -> None:
    with PoseEstimator(mode=mode) as est:
        frame = est.detect(np.zeros((480, 640, 3), np.uint8), timestamp_ms=0)
        assert not frame.found and frame.image_wh == (640, 480)
        assert np.isnan(frame.world).all() and np.isnan(frame.visibility).all()
        assert est.detect_all(np.zeros((480, 640, 3), np.uint8), timestamp_ms=40) == []


@pytest.mark.integration
@pytest.mark.parametrize(
    ("image", "error", "match"),
    [
        (np.zeros((9, 9, 3), np.float32), ValueError,
         r"`image_rgb` must have dtype kind 'u' .*float32"),
        (np.zeros((9, 9, 3), np.uint16), ValueError,
         r"`image_rgb` must have dtype uint8, got uint16"),
        (np.zeros((9, 9), np.uint8), ValueError,
         r"`image_rgb` must have shape \(_, _, 3\), got \(9, 9\)"),
        (np.zeros((9, 9, 4), np.uint8), ValueError,
         r"must have shape \(_, _, 3\), got \(9, 9, 4\)"),
        ([[[0, 0, 0]]], TypeError, r"`image_rgb` must be a numpy array, got list"),
    ],
)  # fmt: skip
def test_wrong_image_says_what_was_expected(image_estimator, image, error, match) -> None:
    with pytest.raises(error, match=match):
        image_estimator.detect(image)


@pytest.mark.integration
def test_video_mode_tracks_a_moving_person(astronaut: np.ndarray) -> None:
    canvas = np.zeros((480, 640, 3), np.uint8)
    noses = []
    with PoseEstimator(mode="video") as est:
        previous = None
        for k in range(8):
            frame_rgb = canvas.copy()
            x = 40 + 8 * k
            frame_rgb[:, x : x + 440] = astronaut[20:500, 36:476]
            previous = est.detect(frame_rgb, timestamp_ms=33 * k, previous=previous)
            assert previous.found, k
            noses.append(_pixels(previous, 0))
    noses = np.array(noses)
    expected_x = np.array([NOSE_BOX[0] + NOSE_BOX[1]]) / 2 - 36 + 40 + 8 * np.arange(8)
    np.testing.assert_allclose(noses[:, 0], expected_x, atol=35)
    assert np.polyfit(np.arange(8), noses[:, 0], 1)[0] == pytest.approx(8, abs=3)  # px per frame


@pytest.mark.integration
def test_video_mode_needs_increasing_timestamps(astronaut: np.ndarray) -> None:
    with PoseEstimator(mode="video") as est:
        est.detect(astronaut, timestamp_ms=100)
        for bad in (100, 50, 100.7):  # 100.7 ms is 100 ms to MediaPipe
            with pytest.raises(
                ValueError, match=rf"`timestamp_ms` must increase .*got {bad} after 100"
            ):
                est.detect(astronaut, timestamp_ms=bad)
        with pytest.raises(ValueError, match="`timestamp_ms` is required in video mode"):
            est.detect(astronaut)
        assert est.detect(astronaut, timestamp_ms=101).found  # still usable after refusals


@pytest.mark.integration
def test_image_mode_ignores_timestamps(image_estimator, astronaut: np.ndarray) -> None:
    a = image_estimator.detect(astronaut, timestamp_ms=500)
    b = image_estimator.detect(astronaut, timestamp_ms=10)
    np.testing.assert_allclose(a.image, b.image, atol=1e-6)


def test_person_track_times_and_follows() -> None:
    """Seconds -> strictly increasing ms; the last person found is passed as `previous`."""
    from pipeline.pose import PersonTrack

    seen: list[tuple[int, PoseFrame | None]] = []
    somebody = PoseFrame(
        *(np.zeros((33, 3), np.float32),) * 2, *(np.ones(33, np.float32),) * 2, (4, 4)
    )
    results = iter([somebody, PoseFrame.empty((4, 4)), somebody])

    class Recorder:
        def detect(self, image, ms, previous=None):
            seen.append((ms, previous))
            return next(results)

    track = PersonTrack(Recorder())
    image = np.zeros((4, 4, 3), np.uint8)
    for t in (0.0, 0.0004, 0.0333):
        track(image, t)
    assert [ms for ms, _ in seen] == [0, 1, 33]  # 0.4 ms rounds to 0: bumped to 1
    assert [p is somebody for _, p in seen] == [False, True, True]  # kept through a miss


def test_quiet_stderr_hides_native_output_and_replays_it_on_error(capfd):
    with quiet_stderr():
        os.write(2, b"noise from a native library\n")
    assert "noise" not in capfd.readouterr().err
    with pytest.raises(RuntimeError), quiet_stderr():
        os.write(2, b"why it failed\n")
        raise RuntimeError("boom")
    assert "why it failed" in capfd.readouterr().err


REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_quiet_stderr_keeps_python_messages(tmp_path):
    """In a real process: native writes to fd 2 are muted, Python's stderr still shows."""
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "from pipeline.pose import quiet_stderr\n"
        "with quiet_stderr():\n"
        "    os.write(2, b'native noise\\n')\n"
        "    print('python message', file=sys.stderr)\n"
        "print('after', file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "python message\nafter\n"
