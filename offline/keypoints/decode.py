"""A video opened once for extraction: its header and its frames from one capture.

`pipeline.video.iter_frames` opens its own capture and keeps the header to itself, so a
caller that also needs the frame count (progress) or the frames' size before scaling
(crops, `KeypointStream.image_wh`) would have to open the file again. `OpenVideo` reads
both from the capture that decodes, by the same rules as `iter_frames`.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from pipeline.io import Closing
from pipeline.video import (
    DecodeLog,
    VideoFrame,
    VideoInfo,
    _prefetched,
    decode_frames,
    open_capture,
)


class OpenVideo(Closing):
    """One capture of one video file; close it (or use `with`) when done.

    Attributes:
        path: the file.
        info: the container's header (fps, frame count; the count may be approximate).
        log: what decoding found (`pipeline.video.DecodeLog`): the first frame's size
            before scaling (`frame_wh`), frames skipped inside, frames missing at the end.

    Raises:
        FileNotFoundError: no such file.
        VideoError: the file cannot be opened.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cap = open_capture(self.path)
        self.info = VideoInfo.from_capture(self._cap)
        self.log = DecodeLog(total_frames=self.info.total_frames)

    @property
    def frame_wh(self) -> tuple[int, int] | None:
        """(width, height) of the first decoded frame before any scaling, pixels; None
        until a frame has decoded. Used instead of the header's size, which can be wrong."""
        return self.log.frame_wh

    @property
    def skipped(self) -> list[int]:
        """Indices of frames that failed to decode, once a later frame decoded."""
        return self.log.skipped

    def frames(
        self, *, max_side: int = 0, prefetch: int = 0, start: int = 0
    ) -> Generator[VideoFrame, None, None]:
        """Decode every frame in order (t_s = index / fps), at most once per capture.

        `start` > 0 begins at that frame index (a seek; checked, else decoded up to it).

        As `pipeline.video.iter_frames` (the same `decode_frames`): failed frames are
        skipped, the file ends after `MAX_CONSECUTIVE_FAILURES` failures in a row or at
        the header's frame count, and frames are scaled so their longer side is at most
        `max_side` (0: native size); `prefetch` > 0 decodes (and scales) up to that many
        frames ahead on a thread. The capture is released when the frames end or the
        iterator is closed.

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
        try:
            if start > 0:
                self._seek(start)
            yield from decode_frames(
                self._cap, self.info, self.log, max_side=max_side, start=start, name=self.path
            )
        finally:
            self.close()

    def close(self) -> None:
        self._cap.release()
