"""Tests for offline/render/clip.py: one clip to frames or a video, and PoseLandmarker on
the result."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from offline.mocap.body import BANDAI, BodyMap, from_bvh
from offline.mocap.bvh import read_bvh
from offline.mocap.virtual_camera import VirtualCamera
from offline.render.clip import render_bvh, render_motion
from pipeline import skeleton as sk
from pipeline.video import write_video
from tests.offline.render.conftest import write_tiny_bvh

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
BANDAI_DATA = SHARED / "data" / "bandai-namco-motion-1"
CMU_DATA = SHARED / "data" / "cmu-emotion"


def test_render_is_deterministic(tiny_bvh: Path) -> None:
    motion = read_bvh(tiny_bvh)
    camera = VirtualCamera(yaw_deg=20.0, width=120, height=160)
    first = list(render_motion(motion, camera))
    second = list(render_motion(read_bvh(tiny_bvh), camera))
    assert len(first) == motion.n_frames == 4
    for a, b in zip(first, second, strict=True):
        assert a.dtype == np.uint8 and a.shape == (160, 120, 3)
        assert np.array_equal(a, b)
    assert not np.array_equal(first[0], first[-1])  # the figure moves between frames


def test_video_files_are_identical_frame_for_frame(tiny_bvh: Path, tmp_path: Path) -> None:
    from pipeline.video import iter_frames

    camera = VirtualCamera(width=120, height=160)
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    assert render_bvh(tiny_bvh, a, camera) == 4
    assert render_bvh(tiny_bvh, b, camera) == 4
    fa = [f.image for f in iter_frames(a)]
    fb = [f.image for f in iter_frames(b)]
    assert len(fa) == len(fb) == 4
    assert all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True))


def test_write_video_is_atomic(tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"previous good file")

    def frames():
        yield np.zeros((64, 48, 3), np.uint8)
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        write_video(frames(), out, 30.0)
    assert out.read_bytes() == b"previous good file"
    assert os.listdir(tmp_path) == ["clip.mp4"]  # no temporary file left behind
    with pytest.raises(ValueError, match=r"output video must end in \.mp4, got clip\.avi"):
        write_video(iter([]), tmp_path / "clip.avi", 30.0)
    with pytest.raises(ValueError, match="no frames to write"):
        write_video(iter([]), tmp_path / "empty.mp4", 30.0)
    assert not (tmp_path / "empty.mp4").exists()


# --------------------------------------------------------------------------- PoseLandmarker


def _landmarker_errors(
    motion, camera: VirtualCamera, n_frames: int, body: BodyMap = BANDAI
) -> tuple[float, np.ndarray]:
    """Detection rate and per-frame pixel errors (F, 13) of PoseLandmarker on a render."""
    import cv2

    from pipeline.pose import PoseEstimator

    world = from_bvh(motion, body).astype(np.float64)
    pixels, _ = camera.project(world, camera.poses(world, 1.0 / motion.frame_time_s))
    errors, found = [], 0
    with PoseEstimator(mode="video") as estimator:
        previous = None
        frames = render_motion(motion, camera, body=body, max_frames=n_frames)
        for f, image in enumerate(frames):
            t_ms = int(round(f * motion.frame_time_s * 1000)) + 1
            pose = estimator.detect(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), t_ms, previous)
            previous = pose
            if pose.found:
                found += 1
                seen = pose.image[sk.MEDIAPIPE_INDEX, :2] * np.array([camera.width, camera.height])
                errors.append(np.linalg.norm(seen - pixels[f], axis=1))
    return found / n_frames, np.array(errors)


def _body_height_px(motion, camera: VirtualCamera) -> float:
    """Standing height (head top above the floor, 1.63 m here) in pixels at 3 m."""
    return camera.focal_px * 1.63 / camera.distance_m


_CHECKED = [sk.NOSE, sk.L_SHOULDER, sk.R_SHOULDER, sk.L_HIP, sk.R_HIP]


@pytest.mark.integration
def test_pose_landmarker_finds_the_tiny_figure(tmp_path: Path) -> None:
    motion = read_bvh(write_tiny_bvh(tmp_path / "tiny.bvh", n_frames=30))
    camera = VirtualCamera(yaw_deg=20.0)
    rate, errors = _landmarker_errors(motion, camera, 30)
    assert rate >= 0.9
    relative = np.median(errors[:, _CHECKED], axis=0) / _body_height_px(motion, camera)
    assert (relative < 0.05).all(), dict(
        zip(np.array(sk.JOINTS)[_CHECKED], relative.round(3), strict=True)
    )


@pytest.mark.integration
@pytest.mark.skipif(not BANDAI_DATA.is_dir(), reason=f"shared Bandai-Namco data absent ({SHARED})")
@pytest.mark.parametrize("view", [0.0, 90.0])
def test_pose_landmarker_finds_a_rendered_walk(view: float) -> None:
    motion = read_bvh(BANDAI_DATA / "data" / "dataset-1_walk_normal_001.bvh")
    camera = VirtualCamera(yaw_deg=view)
    rate, errors = _landmarker_errors(motion, camera, 30)
    assert rate >= 0.9
    relative = np.median(errors, axis=0) / _body_height_px(motion, camera)
    assert (relative[_CHECKED] < 0.05).all(), dict(zip(sk.JOINTS, relative.round(3), strict=True))
    assert (relative < 0.08).all(), dict(zip(sk.JOINTS, relative.round(3), strict=True))


@pytest.mark.integration
@pytest.mark.skipif(not CMU_DATA.is_dir(), reason=f"shared CMU data absent ({CMU_DATA})")
@pytest.mark.parametrize("view", [0.0, 90.0])
def test_pose_landmarker_finds_a_rendered_cmu_walk(view: float) -> None:
    """CMU's skeleton has no toe joints: its feet are placed from the ankles."""
    body = BodyMap.from_json(CMU_DATA / "joint_map.json")
    assert body.l_toes is None and body.r_toes is None
    clip = read_bvh(CMU_DATA / "data" / "91_29.bvh")  # a normal walk from 3.5 s on
    start, n = 84, 72
    motion = replace(
        clip,
        positions=clip.positions[start : start + n],
        rotations=clip.rotations[start : start + n],
    )
    camera = VirtualCamera(yaw_deg=view)
    rate, errors = _landmarker_errors(motion, camera, n, body)
    assert rate >= 0.9
    relative = np.median(errors, axis=0) / _body_height_px(motion, camera)
    assert (relative < 0.05).all(), dict(zip(sk.JOINTS, relative.round(3), strict=True))
