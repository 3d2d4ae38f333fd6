"""Small video datasets built from a real photo of a person, and a fake pose model.

Frames: scikit-image's public-domain `astronaut` photo pasted onto a magenta background
at moving positions, with a mirrored copy as a second person. ``fake_pose` (see
tests/pipeline/conftest.py) puts every landmark at the centre of the non-magenta pixels it
is shown, so a test can tell whether pose ran on the right person's crop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

BACKGROUND_RGB = (255, 0, 255)


@dataclass(frozen=True)
class Scene:
    """Test videos: person A walks right, person B (mirrored) stands still on the right.

    Attributes (pixels, x right, y down):
        fps: frame rate of the written videos.
        frame_wh: frame (width, height).
        person_px: side of each pasted photo.
        person_y: top of both photos.
        b_x: left edge of person B.
    """

    fps: float = 10.0
    frame_wh: tuple[int, int] = (320, 240)
    person_px: int = 112
    person_y: int = 64
    b_x: int = 196

    def a_x(self, frame: Any) -> Any:
        """Left edge of person A in `frame` (int or array), pixels."""
        return 16 + 3 * frame

    def frames(self, n: int) -> list[np.ndarray]:
        """n (H, W, 3) RGB frames with both people."""
        a = astronaut(self.person_px)
        b = np.ascontiguousarray(a[:, ::-1])
        return [
            paste(self.frame_wh, [(self.a_x(i), self.person_y, a), (self.b_x, self.person_y, b)])
            for i in range(n)
        ]

    def write(self, path: Path, n: int) -> Path:
        """An mp4 of `frames(n)`."""
        return write_video(path, self.frames(n), self.fps)

    def box_pct(self, x_px: float) -> tuple[float, float, float, float]:
        """EiLA box (X, Y, Width, Height) in percent for a photo whose left edge is x_px."""
        w, h = self.frame_wh
        s = self.person_px
        return (100 * x_px / w, 100 * self.person_y / h, 100 * s / w, 100 * s / h)

    def centre_px(self, image: np.ndarray) -> np.ndarray:
        """(N, 2) pixels (x right, y down) of joint 0 of image-height, y-up joints (N, J, 2)."""
        h = self.frame_wh[1]
        return np.stack([image[:, 0, 0] * h, -image[:, 0, 1] * h], axis=1)


def astronaut(size: int) -> np.ndarray:
    """scikit-image's public-domain astronaut photo, RGB, resized to size x size."""
    import cv2
    from skimage import data

    return cv2.resize(data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)


def paste(wh: tuple[int, int], photos: list[tuple[int, int, np.ndarray]]) -> np.ndarray:
    """(H, W, 3) RGB frame on the background with each (x, y, photo) at its top-left corner."""
    frame = np.empty((wh[1], wh[0], 3), np.uint8)
    frame[:] = BACKGROUND_RGB
    for x, y, photo in photos:
        h, w = photo.shape[:2]
        frame[y : y + h, x : x + w] = photo
    return frame


def write_video(path: Path, frames_rgb: list[np.ndarray], fps: float) -> Path:
    """Write RGB frames as an mp4 (MPEG-4 part 2) with the renderer's writer."""
    import cv2

    from pipeline.video import write_video as write_bgr

    write_bgr((cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames_rgb), path, fps)
    return path


@pytest.fixture
def scene() -> Scene:
    return Scene()


def not_background(image_rgb: np.ndarray) -> np.ndarray:
    """Pixels that are not the magenta background: the people."""
    return np.abs(image_rgb.astype(int) - BACKGROUND_RGB).sum(axis=2) > 120


@pytest.fixture
def fake_pose(fake_pose: Any) -> Any:
    """The shared `FakePose`, locating people by the scene's background colour."""
    fake_pose.person = not_background
    return fake_pose
