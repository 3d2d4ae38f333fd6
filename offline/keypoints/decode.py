"""A video opened once for extraction: its header and its frames from one capture.

`pipeline.video.iter_frames` opens its own capture and keeps the header to itself, so a
caller that also needs the frame count (progress) or the frames' size before scaling
(crops, `KeypointStream.image_wh`) would have to open the file again. `OpenVideo` reads
both from the capture that decodes, by the same rules as `iter_frames`.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import numpy as np

from pipeline.io import Closing
from pipeline.video import (
    MAX_CONSECUTIVE_FAILURES,
    VideoError,
    VideoFrame,
    VideoInfo,
    _prefetched,
    fit_size,
    open_capture,
    resize_to,
)


class OpenVideo(Closing):
    """One capture of one video file; close it (or use `with`) when done.

    Attributes:
        path: the file.
        info: the container's header (fps, frame count; the count may be approximate).
        frame_wh: (width, height) of the first decoded frame before any scaling, pixels;
            None until a frame has decoded. Used instead of the header's size, which can
            be wrong (or 0x0).
        skipped: indices of frames that failed to decode, once a later frame decoded.

    Raises:
        FileNotFoundError: no such file.
        VideoError: the file cannot be opened.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cap = open_capture(self.path)
        self.info = VideoInfo.from_capture(self._cap)
        self.frame_wh: tuple[int, int] | None = None
        self.skipped: list[int] = []

    def frames(
        self, *, max_side: int = 0, prefetch: int = 0, start: int = 0
    ) -> Generator[VideoFrame, None, None]:
        """Decode every frame in order (t_s = index / fps), at most once per capture.

        `start` > 0 begins at that frame index (a seek; checked, else decoded up to it).

        As `pipeline.video.iter_frames`: failed frames are skipped (and listed in
        `skipped`), the file ends after `MAX_CONSECUTIVE_FAILURES` failures in a row or
        at the header's frame count, and frames are scaled so their longer side is at
        most `max_side` (0: native size); `prefetch` > 0 decodes (and scales) up to that
        many frames ahead on a thread. The capture is released when the frames end or
        the iterator is closed.

        Raises:
            VideoError: no frame decodes.
        """
        if prefetch > 0:
            yield from _prefetched(self._decode(max_side, start), prefetch)
        else:
            yield from self._decode(max_side, start)

    def _seek(self, start: int) -> None:
        """Position the capture at frame `start`: a seek, checked; else decode up to it."""
        import cv2

        cap = self._cap
        if cap.set(cv2.CAP_PROP_POS_FRAMES, start) and cap.get(cv2.CAP_PROP_POS_FRAMES) == start:
            return
        cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        for _ in range(start):
            cap.grab()

    def _decode(self, max_side: int, start: int = 0) -> Generator[VideoFrame, None, None]:
        cap, total = self._cap, self.info.total_frames
        try:
            if start > 0:
                self._seek(start)
            size: tuple[int, int] | None = None
            index, produced = start, 0
            pending: list[int] = []  # failed indices, skipped once a later frame decodes
            while len(pending) < MAX_CONSECUTIVE_FAILURES:
                ok, image = cap.read()
                if ok and image is not None and image.ndim == 3:
                    self.skipped.extend(pending)
                    pending.clear()
                    produced += 1
                    if size is None:
                        self.frame_wh = (int(image.shape[1]), int(image.shape[0]))
                        size = fit_size(*self.frame_wh, max_side)
                    pixels = np.asarray(image, np.uint8)  # 8-bit BGR, as decoded (no copy)
                    yield VideoFrame(resize_to(pixels, size), index, index / self.info.fps)
                else:
                    pending.append(index)
                    if total and index >= total - 1:
                        break
                index += 1
            if produced == 0:
                raise VideoError(
                    f"video {self.path} has no decodable frames; check or re-encode the file"
                )
        finally:
            self.close()

    def close(self) -> None:
        self._cap.release()
