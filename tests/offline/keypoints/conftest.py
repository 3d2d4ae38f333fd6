"""Small videos for the keypoint tests: a white square moving right on black."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.video import write_video as write_bgr_video

FPS = 10.0

WH = (160, 120)


def square_frames(n: int, size: int = 20) -> list[np.ndarray]:
    """Black (H, W, 3) frames with a white square moving right 4 px per frame."""
    frames = []
    for i in range(n):
        f = np.zeros((WH[1], WH[0], 3), np.uint8)
        f[40 : 40 + size, 10 + 4 * i : 10 + 4 * i + size] = 255
        frames.append(f)
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float = FPS) -> Path:
    """Write BGR frames as an mp4 with the renderer's writer."""
    write_bgr_video(frames, path, fps)
    return path


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.mp4", square_frames(10))


def cut_short(path: Path, n_frames: int = 100, keep: float = 0.5) -> Path:
    """An MJPG .avi of `n_frames` square frames whose bytes are cut to `keep` of their
    length: its header still lists `n_frames`, about half of them decode (issue #11)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), FPS, WH)
    for frame in square_frames(n_frames, size=4):
        writer.write(frame)
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path
