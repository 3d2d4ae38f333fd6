"""A video file as a frame source: played as if live, or every frame in order (offline)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from pipeline.video import DecodeLog, VideoFrame, VideoInfo, iter_frames
from realtime.capture.base import Clock, Frame, SourceInfo, ThreadedSource, with_rgb

log = logging.getLogger(__name__)

# A looped file whose working-size frames fit in this many bytes is decoded only once.
MAX_CACHE_BYTES = 256 * 1024 * 1024


class FileSource(ThreadedSource):
    """A video file played as if it were live (or every frame in order, offline).

    Args:
        path: the video file.
        realtime: release frames at the file's own frame rate (True) or deliver every
            frame as fast as the consumer takes them (False).
        loop: start again at the end, without end.
        max_side: longest side of delivered frames, pixels (0: native size).
        clock: monotonic clock for pacing and latency, seconds.

    Raises:
        FileNotFoundError: no such file.
        VideoError: not a video, corrupt, or no decodable frame.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        realtime: bool = True,
        loop: bool = False,
        max_side: int = 0,
        clock: Clock = time.perf_counter,
    ) -> None:
        super().__init__(clock)
        self.path = Path(path)
        self._realtime = realtime
        self._loop = loop
        self._max_side = max_side
        self._log = DecodeLog()  # this pass's (`_open` starts a new one)
        self._skipped_before = 0  # from earlier passes
        video = VideoInfo.from_path(self.path)
        self._fps = video.fps
        self._frames = self._open()
        self._first_log = self._log  # the first pass's: what the file lacks at its end
        # Decode the first frame here, so a file without frames fails before anything starts.
        self._first: VideoFrame | None = next(self._frames)
        height, width = self._first.image.shape[:2]
        self.info = SourceInfo(
            name=self.path.name,
            width=width,
            height=height,
            native_wh=video.resolution_wh,
            nominal_fps=video.fps,
            total_frames=video.total_frames or None,
        )

    @property
    def skipped(self) -> int:
        return self._skipped_before + len(self._log.skipped)

    @property
    def missing_at_end(self) -> int:
        """Frames the file's header lists after its last decodable frame (a file cut
        short), known once the first pass has ended; 0 before."""
        return self._first_log.missing_at_end

    def get(self, timeout_s: float) -> Frame | None:
        frame = self._slot.get(timeout_s)
        if frame is not None and not self._realtime:
            # Offline, the next frame is decoded ahead while this one is processed; its
            # latency counts from when the loop takes it, not from when it was read ahead.
            frame = replace(frame, grabbed_s=self._clock())
        return frame

    def _open(self) -> Iterator[VideoFrame]:
        """The file's decodable frames at working size, scaled as keypoint extraction does."""
        self._log = DecodeLog()
        return iter_frames(self.path, log=self._log, max_side=self._max_side)

    def _one_pass(self) -> Iterator[VideoFrame]:
        """Each decodable frame of the file (the first pass starts with `__init__`'s frame)."""
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        else:
            self._skipped_before += len(self._log.skipped)
            self._frames = self._open()
        yield from self._frames

    def _passes(self) -> Iterator[VideoFrame]:
        """Frames over one pass, or forever with `loop`, indices and times continuing.

        With `loop`, a clip whose frames fit in `MAX_CACHE_BYTES` is decoded once and later
        passes replay copies from memory (the same frames, without decoding them again).
        """
        t_offset, i_offset = 0.0, 0
        cache: list[VideoFrame] | None = [] if self._loop else None
        cached_bytes = 0
        frames: Iterator[VideoFrame] = self._one_pass()
        from_cache = False
        first_pass_skipped = 0
        while True:
            last = -1
            for vf in frames:
                last = vf.index
                if cache is not None and not from_cache:
                    cached_bytes += vf.image.nbytes
                    cache = cache if cached_bytes <= MAX_CACHE_BYTES else None
                    if cache is not None:
                        cache.append(replace(vf, image=vf.image.copy()))
                yield VideoFrame(vf.image, i_offset + vf.index, t_offset + vf.t_s)
            if i_offset == 0 and self._first_log.missing_at_end:  # once, as the pass ends
                log.warning("%s", self._first_log.problem(self.path.name))
            if not self._loop or self._stop.is_set() or last < 0:
                return
            # Next pass: indices and timestamps continue after this one.
            i_offset += last + 1
            t_offset += (last + 1) / self._fps
            if cache is not None:
                if not from_cache:
                    first_pass_skipped = self.skipped
                    from_cache = True
                else:
                    self._skipped_before += first_pass_skipped
                frames = (replace(vf, image=vf.image.copy()) for vf in cache)
            else:
                frames = self._one_pass()

    def _produce(self) -> None:
        start_clock: float | None = None
        for vf in self._passes():
            if self._stop.is_set():
                return
            if self._realtime:
                now = self._clock()
                if start_clock is None:
                    start_clock = now - vf.t_s
                delay = start_clock + vf.t_s - now
                if delay > 0 and self._stop.wait(delay):
                    return
            frame = with_rgb(vf.image, vf.index, vf.t_s, self._clock())
            if not self._slot.put(frame, block=not self._realtime):
                return

    def _release(self) -> None:
        close = getattr(self._frames, "close", None)
        if close is not None:
            close()  # runs iter_frames' finally: releases the capture
