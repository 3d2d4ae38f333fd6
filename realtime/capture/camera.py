"""A live camera (OpenCV) as a frame source, with retries when it stops delivering."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from pipeline.video import VideoInfo, fit_size, resize_to
from realtime.capture.base import (
    DEFAULT_RETRY_S,
    Clock,
    SourceFailed,
    SourceInfo,
    ThreadedSource,
    with_rgb,
)

log = logging.getLogger(__name__)

_REOPEN_EVERY_S = 1.0  # how often a camera that stopped delivering is reopened, seconds


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


class CameraSource(ThreadedSource):
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
                frame = with_rgb(resize_to(image, self._size), index, now, now)
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
