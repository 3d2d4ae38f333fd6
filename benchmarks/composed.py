"""A clip of several people composed from footage of one (`benchmarks.multi_person`): N
copies in a grid of equal cells, copy k delayed by k x a delay, odd copies mirrored.

The shared data has no clip with more than one person; this makes one, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.common import letterbox


@dataclass(frozen=True)
class Layout:
    """N copies in a grid of equal cells (1 or 2 in a row, 3 or 4 in two rows of two),
    centred in a frame of `size` (W, H) pixels."""

    n: int
    size: tuple[int, int]
    delay_s: float

    @property
    def grid(self) -> tuple[int, int]:
        cols = self.n if self.n <= 2 else math.ceil(math.sqrt(self.n))
        return cols, math.ceil(self.n / cols)

    @property
    def cell_wh(self) -> tuple[int, int]:
        cols, rows = self.grid
        return self.size[0] // cols, self.size[1] // rows

    def origin(self, k: int) -> tuple[int, int]:
        """Top-left pixel of copy k's cell."""
        (cols, rows), (cw, ch) = self.grid, self.cell_wh
        x = (self.size[0] - cols * cw) // 2 + (k % cols) * cw
        return x, (self.size[1] - rows * ch) // 2 + (k // cols) * ch

    def copy_at(self, box: Sequence[float]) -> int | None:
        """The copy whose cell holds the centre of a normalised box, or None (outside)."""
        cx, cy = 0.5 * (box[0] + box[2]) * self.size[0], 0.5 * (box[1] + box[3]) * self.size[1]
        (cols, _), (cw, ch), (x0, y0) = self.grid, self.cell_wh, self.origin(0)
        col, row = math.floor((cx - x0) / cw), math.floor((cy - y0) / ch)
        k = row * cols + col
        return k if 0 <= col < cols and 0 <= k < self.n else None


class Footage:
    """The source clip's frames (cropped to `crop`, normalised x0, y0, x1, y1) letterboxed
    into a cell, played forward then backward."""

    def __init__(
        self, clip: Path, cell_wh: tuple[int, int], crop: Sequence[float] = (0, 0, 1, 1)
    ) -> None:
        from pipeline.video import VideoInfo, iter_frames

        self.fps = VideoInfo.from_path(clip).fps
        self.frames = [letterbox(_crop(f.image, crop), cell_wh) for f in iter_frames(clip)]

    def at(self, t_s: float) -> np.ndarray:
        n = len(self.frames)
        period = max(1, 2 * n - 2)
        i = math.floor(t_s * self.fps + 1e-9) % period
        return self.frames[i if i < n else period - i]


def _crop(image: np.ndarray, crop: Sequence[float]) -> np.ndarray:
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (round(c * s) for c, s in zip(crop, (w, h, w, h), strict=True))
    return image[y0:y1, x0:x1]


def compose(footage: Footage, layout: Layout, t_s: float, only: int | None = None) -> np.ndarray:
    """The frame at `t_s`: copy k delayed by k x delay, odd copies mirrored (only one copy,
    black elsewhere, when `only` is given)."""
    (w, h), (cw, ch) = layout.size, layout.cell_wh
    frame = np.zeros((h, w, 3), np.uint8)
    for k in range(layout.n) if only is None else (only,):
        image = footage.at(t_s - k * layout.delay_s)
        x0, y0 = layout.origin(k)
        frame[y0 : y0 + ch, x0 : x0 + cw] = image[:, ::-1] if k % 2 else image
    return frame


def composed_frames(
    footage: Footage, layout: Layout, n_frames: int, fps: float, only: int | None = None
) -> Iterator[np.ndarray]:
    for j in range(n_frames):
        yield compose(footage, layout, j / fps, only)
