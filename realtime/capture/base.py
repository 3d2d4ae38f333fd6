"""The parts every frame source shares: the frame, its description, the one-frame mailbox
and the capture thread (`ThreadedSource`); see `realtime.capture` for the sources.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, cast

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Clock = Callable[[], float]
# Time a camera may stop delivering before the source gives up, seconds (see --camera-retry-s).
DEFAULT_RETRY_S = 5.0


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


def with_rgb(image: npt.NDArray[np.uint8], index: int, t_s: float, grabbed_s: float) -> Frame:
    """A Frame of a working-size BGR image, with its RGB copy (made on the capture thread)."""
    import cv2

    rgb = cast("npt.NDArray[np.uint8]", cv2.cvtColor(image, cv2.COLOR_BGR2RGB))  # uint8 in, out
    return Frame(image, index, t_s, grabbed_s, rgb)


class ThreadedSource:
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

    def __enter__(self) -> ThreadedSource:
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


def quiet_opencv() -> None:
    """Silence OpenCV's and FFmpeg's own console messages (the app reports errors itself).

    FFmpeg's level is read when OpenCV first opens a video, so call this before that.
    """
    import os

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    import cv2

    cv2.setLogLevel(0)  # cv::utils::logging::LOG_LEVEL_SILENT
