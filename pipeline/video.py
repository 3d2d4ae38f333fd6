"""Reading video files frame by frame with OpenCV, with clear errors for bad files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

# Consecutive unreadable frames tolerated before a file is considered to have ended.
MAX_CONSECUTIVE_FAILURES = 30


class VideoError(ValueError):
    """A video that cannot be read; the message names the file and what to do."""


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """Properties of a video file.

    Attributes:
        width, height: frame size, pixels.
        fps: nominal frame rate, frames per second (30 if the file does not say).
        total_frames: frame count the container reports (may be approximate).
    """

    width: int
    height: int
    fps: float
    total_frames: int

    @property
    def resolution_wh(self) -> tuple[int, int]:
        return self.width, self.height

    @classmethod
    def from_path(cls, path: str | Path) -> VideoInfo:
        """Read a file's properties; raises FileNotFoundError or VideoError."""
        cap = open_capture(path)
        try:
            return cls._from_capture(cap)
        finally:
            cap.release()

    @classmethod
    def _from_capture(cls, cap: "cv2.VideoCapture") -> VideoInfo:  # noqa: F821
        import cv2

        fps = cap.get(cv2.CAP_PROP_FPS)
        return cls(
            width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=float(fps) if fps and np.isfinite(fps) and 1 <= fps <= 1000 else 30.0,
            total_frames=max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0),
        )


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One decoded frame: (H, W, 3) uint8 BGR image, its index and time in seconds."""

    image: npt.NDArray[np.uint8]
    index: int
    t_s: float


def open_capture(path: str | Path) -> "cv2.VideoCapture":  # noqa: F821
    """Open a video file, or raise FileNotFoundError / VideoError with a hint."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video not found: {path}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise VideoError(f"cannot open video {path}: not a video file or corrupt; try re-encoding it")
    return cap


def iter_frames(path: str | Path, *, skipped: list[int] | None = None) -> Iterator[VideoFrame]:
    """Decode every frame of a video file in order, with t_s = index / fps.

    Frames that fail to decode are skipped (their indices appended to `skipped` when a list
    is given); the file ends after `MAX_CONSECUTIVE_FAILURES` failures in a row or at its
    reported frame count. The capture is released even if the caller stops early.

    Raises:
        FileNotFoundError: no such file.
        VideoError: the file cannot be opened or has no decodable frame.
    """
    cap = open_capture(path)
    try:
        info = VideoInfo._from_capture(cap)
        index, produced = 0, 0
        pending: list[int] = []  # failed indices, counted as skipped once a later frame decodes
        while len(pending) < MAX_CONSECUTIVE_FAILURES:
            ok, image = cap.read()
            if ok and image is not None and image.ndim == 3:
                if skipped is not None:
                    skipped.extend(pending)
                pending.clear()
                produced += 1
                yield VideoFrame(image, index, index / info.fps)
            else:
                pending.append(index)
                if info.total_frames and index >= info.total_frames - 1:
                    break
            index += 1
        if produced == 0:
            raise VideoError(f"video {path} has no decodable frames; check or re-encode the file")
    finally:
        cap.release()
