"""Frame sources for the live loop: a camera, or a video file played as if it were live.

Every source decodes on its own daemon thread and hands frames to the processing side
through a one-frame mailbox (`LatestFrame`): a frame that is still untaken when the next
one arrives is replaced, and counted in `dropped`. Latency therefore cannot grow, whatever
the processing side does. Both kinds of source yield the same `Frame`, so the loop never
knows which one it got:

- camera: `t_s` is the clock at grab time; frames are delivered as the camera makes them.
  When the camera stops delivering, the source warns, retries (reopening the device every
  second) for `retry_s` seconds, then ends with `SourceFailed`.
- video file: `t_s = index / fps` (plus the length of the clip per earlier pass with
  `loop`, so timestamps keep increasing; a short looped clip is decoded once and replayed
  from memory). With `realtime=True` frames are released at the
  file's own frame rate, like a camera; with `realtime=False` every frame is delivered, in
  order, as fast as the consumer takes them (nothing is dropped; latency then counts from
  when the consumer takes a frame, since the next one is read ahead). Undecodable frames in the
  middle of a file are skipped and counted in `skipped` (`pipeline.video.iter_frames`).

A source is a context manager: leaving it stops the thread, joins it, then releases the
device or file.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from pipeline.video import VideoFrame, VideoInfo, fit_size, iter_frames, resize_to

log = logging.getLogger(__name__)

Clock = Callable[[], float]
# Time a camera may stop delivering before the source gives up, seconds (see --camera-retry-s).
DEFAULT_RETRY_S = 5.0
_REOPEN_EVERY_S = 1.0
# A looped file whose working-size frames fit in this many bytes is decoded only once.
MAX_CACHE_BYTES = 256 * 1024 * 1024


class SourceFailed(RuntimeError):
    """A source that worked at first stopped delivering frames for good."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame as the processing side receives it.

    Attributes:
        image: (H, W, 3) uint8 BGR, already scaled to the source's working size.
        index: source frame number (keeps counting across passes of a looped file).
        t_s: source timestamp, seconds (camera: clock at grab; file: index / fps).
        grabbed_s: the clock when the frame became available, seconds (latency origin).
        rgb: the same image in RGB order for the pose model, made on the capture thread so
            the processing thread does not have to (None: convert `image` when needed).
    """

    image: npt.NDArray[np.uint8]
    index: int
    t_s: float
    grabbed_s: float
    rgb: npt.NDArray[np.uint8] | None = None


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What a source delivers.

    Attributes:
        name: "camera 0" or the file name.
        width, height: size of the delivered frames, pixels (after `max_side` scaling).
        native_wh: the camera's or file's own frame size, pixels.
        nominal_fps: the frame rate the source reports, frames per second (30 when unknown).
        total_frames: frames in one pass of a file; None for a camera.
    """

    name: str
    width: int
    height: int
    native_wh: tuple[int, int]
    nominal_fps: float
    total_frames: int | None

    @property
    def resolution_wh(self) -> tuple[int, int]:
        return self.width, self.height


class FrameSource(Protocol):
    """What the loop needs from a source (`CameraSource`, `FileSource`, test fakes)."""

    info: SourceInfo

    def get(self, timeout_s: float) -> Frame | None:
        """The newest untaken frame, waiting up to `timeout_s`; None if there is none."""

    @property
    def ended(self) -> bool:
        """True once the source will deliver no more frames."""

    @property
    def dropped(self) -> int:
        """Frames replaced before the processing side took them."""

    @property
    def skipped(self) -> int:
        """Undecodable frames skipped."""

    def raise_if_failed(self) -> None:
        """Re-raise an error that ended the capture thread, if any."""


class LatestFrame:
    """A one-frame mailbox between the capture thread and the processing side.

    `put` replaces a frame nobody took (counted in `dropped`); with `block=True` it waits
    for the slot to be empty instead, so nothing is dropped. `close` ends it: `get` then
    still returns a frame left in the slot, and `put` returns False.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self.dropped = 0

    def put(self, frame: Frame, *, block: bool = False) -> bool:
        """Offer a frame; False when the mailbox is closed (the consumer stopped)."""
        with self._cond:
            while block and self._frame is not None and not self._closed:
                self._cond.wait(0.1)
            if self._closed:
                return False
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._cond.notify_all()
            return True

    def get(self, timeout_s: float) -> Frame | None:
        """Take the frame, waiting up to `timeout_s` seconds for one."""
        with self._cond:
            if self._frame is None and not self._closed and timeout_s > 0:
                self._cond.wait(timeout_s)
            frame, self._frame = self._frame, None
            if frame is not None:
                self._cond.notify_all()
            return frame

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def ended(self) -> bool:
        with self._cond:
            return self._closed and self._frame is None


def _with_rgb(image: npt.NDArray[np.uint8], index: int, t_s: float, grabbed_s: float) -> Frame:
    """A Frame of a working-size BGR image, with its RGB copy (made on the capture thread)."""
    import cv2

    return Frame(image, index, t_s, grabbed_s, cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


class _ThreadedSource:
    """Runs `_produce` on a daemon thread that feeds a `LatestFrame`."""

    info: SourceInfo

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._slot = LatestFrame()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    # --- the processing side -------------------------------------------------------
    def get(self, timeout_s: float) -> Frame | None:
        return self._slot.get(timeout_s)

    @property
    def ended(self) -> bool:
        return self._slot.ended

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    @property
    def skipped(self) -> int:
        return 0

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread, join it, then release the device or file."""
        self._stop.set()
        self._slot.close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():
                log.warning("%s: capture thread did not stop within 5 s", self.info.name)
                return  # releasing under a running read could crash; exit frees it
        self._release()

    def __enter__(self) -> _ThreadedSource:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the capture thread ----------------------------------------------------------
    def _run(self) -> None:
        try:
            self._produce()
        except BaseException as e:  # handed to the main thread by raise_if_failed
            self._error = e
        finally:
            self._slot.close()

    def _produce(self) -> None:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError


def open_camera(index: int) -> Any:
    """`cv2.VideoCapture(index)`; RuntimeError with a hint when it cannot be opened."""
    import cv2

    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        cap.release()
        raise RuntimeError(
            f"cannot open camera {index}: no such device, or it is in use; check the index "
            "(Linux: `ls /dev/video*`) or use --video PATH / --demo instead"
        )
    return cap


class CameraSource(_ThreadedSource):
    """A live camera (OpenCV), read on its own thread; the newest frame wins.

    Args:
        index: OpenCV camera index.
        max_side: longest side of delivered frames, pixels (0: native size).
        retry_s: how long to keep retrying once the camera stops delivering, seconds.
        clock: monotonic clock for timestamps and latency, seconds.
        opener: `index -> capture` (an object with read/get/release); default `open_camera`.
    """

    def __init__(
        self,
        index: int,
        *,
        max_side: int = 0,
        retry_s: float = DEFAULT_RETRY_S,
        clock: Clock = time.perf_counter,
        opener: Callable[[int], Any] | None = None,
    ) -> None:

        if index < 0:
            raise ValueError(f"`camera` must be an index >= 0, got {index}")
        if retry_s < 0:
            raise ValueError(f"`retry_s` must be >= 0 seconds, got {retry_s}")
        super().__init__(clock)
        self._index = index
        self._opener = opener or open_camera
        self._retry_s = retry_s
        self._cap = self._opener(index)
        reported = VideoInfo.from_capture(self._cap)
        width, height = reported.width or 640, reported.height or 480
        self._size = fit_size(width, height, max_side)
        self.info = SourceInfo(
            name=f"camera {index}",
            width=self._size[0],
            height=self._size[1],
            native_wh=(width, height),
            nominal_fps=reported.fps,
            total_frames=None,
        )

    def _produce(self) -> None:
        index = 0
        failing_since: float | None = None
        last_reopen = 0.0
        while not self._stop.is_set():
            ok, image = self._cap.read()
            now = self._clock()
            if ok and image is not None and image.ndim == 3 and image.size:
                if failing_since is not None:
                    log.warning("%s is delivering frames again", self.info.name)
                    failing_since = None
                frame = _with_rgb(resize_to(image, self._size), index, now, now)
                index += 1
                if not self._slot.put(frame):
                    return
                continue
            if failing_since is None:
                failing_since = last_reopen = now
                log.warning(
                    "%s stopped delivering frames; retrying for up to %g s",
                    self.info.name,
                    self._retry_s,
                )
            if now - failing_since >= self._retry_s:
                raise SourceFailed(
                    f"{self.info.name} stopped delivering frames; gave up after "
                    f"{self._retry_s:g} s of retries (check the cable or the device)"
                )
            if now - last_reopen >= _REOPEN_EVERY_S:
                last_reopen = now
                self._cap.release()
                try:
                    self._cap = self._opener(self._index)
                except RuntimeError:
                    pass  # still gone; read() on a closed capture keeps failing
            self._stop.wait(0.05)

    def _release(self) -> None:
        self._cap.release()


class FileSource(_ThreadedSource):
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
        self._skipped_indices: list[int] = []
        self._skipped_before = 0  # from earlier passes
        video = VideoInfo.from_path(self.path)
        self._fps = video.fps
        self._frames = self._open()
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
        return self._skipped_before + len(self._skipped_indices)

    def get(self, timeout_s: float) -> Frame | None:
        frame = self._slot.get(timeout_s)
        if frame is not None and not self._realtime:
            # Offline, the next frame is decoded ahead while this one is processed; its
            # latency counts from when the loop takes it, not from when it was read ahead.
            frame = replace(frame, grabbed_s=self._clock())
        return frame

    def _open(self) -> Iterator[VideoFrame]:
        """The file's decodable frames at working size, scaled as keypoint extraction does."""
        return iter_frames(self.path, skipped=self._skipped_indices, max_side=self._max_side)

    def _one_pass(self) -> Iterator[VideoFrame]:
        """Each decodable frame of the file (the first pass starts with `__init__`'s frame)."""
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        else:
            self._skipped_before += len(self._skipped_indices)
            self._skipped_indices.clear()
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
            frame = _with_rgb(vf.image, vf.index, vf.t_s, self._clock())
            if not self._slot.put(frame, block=not self._realtime):
                return

    def _release(self) -> None:
        close = getattr(self._frames, "close", None)
        if close is not None:
            close()  # runs iter_frames' finally: releases the capture


def open_source(
    spec: int | str | Path,
    *,
    realtime: bool = True,
    loop: bool = False,
    max_side: int = 0,
    retry_s: float = DEFAULT_RETRY_S,
    clock: Clock = time.perf_counter,
) -> CameraSource | FileSource:
    """A camera (an int index) or a video file (a path); not started yet.

    `realtime` and `loop` apply to files only, `retry_s` to cameras only.
    """
    if isinstance(spec, bool) or not isinstance(spec, (int, str, Path)):
        raise TypeError(f"`spec` must be a camera index or a path, got {type(spec).__name__}")
    if isinstance(spec, int):
        return CameraSource(spec, max_side=max_side, retry_s=retry_s, clock=clock)
    return FileSource(spec, realtime=realtime, loop=loop, max_side=max_side, clock=clock)


def quiet_opencv() -> None:
    """Silence OpenCV's and FFmpeg's own console messages (the app reports errors itself).

    FFmpeg's level is read when OpenCV first opens a video, so call this before that.
    """
    import os

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    import cv2

    cv2.setLogLevel(0)  # cv::utils::logging::LOG_LEVEL_SILENT
