"""Writing the annotated frames to a video file, on a writer thread.

`VideoRecorder` opens its `cv2.VideoWriter` lazily, on the first frame, with that frame's
size; the codec follows the file extension. Frames go through a bounded queue to a writer
thread, so encoding runs beside the processing loop and memory stays fixed. The file is
written under a temporary name beside the target and renamed into place by `close`, which
runs on every exit path (it is a context manager), so the target is always a complete,
playable file: the previous one until the run ends, then the new one, checked to read back
complete (OpenCV reports no failed write, e.g. on a full disk). A run that fails
(`realtime.sinks.finalised`) keeps the previous file. `RecordSink` feeds
it from the loop, one frame per source frame.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from pipeline.io import (
    Closing,
    OutputError,
    check_output_location,
    clean_stale_temporaries,
    new_temporary,
)
from pipeline.validate import check_positive
from pipeline.video import written_video_problem
from realtime.capture import Frame
from realtime.sinks import finalised
from realtime.tick import Tick

# File extension -> FourCC. OpenCV's pip wheels carry no H.264 encoder, so MP4 uses MPEG-4 Part 2.
CODECS: Final[dict[str, str]] = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG"}


def codec_for(path: str | Path) -> str:
    """The FourCC for `path`'s extension; ValueError naming the supported ones otherwise."""
    suffix = Path(path).suffix.lower()
    try:
        return CODECS[suffix]
    except KeyError:
        raise ValueError(
            f"`record` must end in one of {', '.join(sorted(CODECS))}, got {Path(path).name!r}"
        ) from None


class VideoRecorder(Closing):
    """Record (H, W, 3) uint8 BGR frames to `path` at `fps` frames per second.

    Args:
        path: output file; its extension picks the codec (see `CODECS`).
        fps: frame rate written into the file, frames per second.
        queue_size: frames waiting for the writer thread at most; `write` blocks beyond.
    """

    def __init__(self, path: str | Path, fps: float, queue_size: int = 32) -> None:
        self.path = Path(path)
        self.fourcc = codec_for(self.path)
        check_positive("fps", fps, "frames per second")
        if queue_size < 1:
            raise ValueError(f"`queue_size` must be >= 1 frames, got {queue_size}")
        if not self.path.parent.is_dir():
            raise FileNotFoundError(
                f"cannot record to {self.path}: directory {self.path.parent} does not exist"
            )
        self.fps = float(fps)
        self.size_wh: tuple[int, int] | None = None
        self.frames_written = 0
        self._tmp: Path | None = None  # created with the writer (`new_temporary`)
        clean_stale_temporaries([self.path.parent])  # ours, left by a run that was killed
        self._queue: queue.Queue[npt.NDArray[np.uint8] | None] = queue.Queue(maxsize=queue_size)
        self._writer: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._closed = False
        self._kept = False  # the file was moved into place

    def write(self, image: npt.NDArray[np.uint8], count: int = 1) -> None:
        """Queue `image` to be written `count` times (count > 1 fills dropped frames)."""
        if self._closed:
            raise RuntimeError(f"recorder for {self.path} is closed")
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"`image` must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
        size = (image.shape[1], image.shape[0])
        if self.size_wh is None:
            self._open(size)
        elif size != self.size_wh:
            raise ValueError(f"frame size must stay {self.size_wh}, got {size}")
        for _ in range(count):
            self._put(image)

    def _open(self, size_wh: tuple[int, int]) -> None:
        import cv2

        try:  # a new file (O_EXCL): never a file or link planted at a guessable name
            fd, self._tmp = new_temporary(self.path, "partial", keep_suffix=True)
        except OSError:
            raise RuntimeError(self._why_not_opened(size_wh)) from None
        os.fchmod(fd, 0o644)  # mkstemp makes it private; the final file should not be
        os.close(fd)
        writer = cv2.VideoWriter(
            str(self._tmp), cv2.VideoWriter.fourcc(*self.fourcc), self.fps, size_wh
        )
        if not writer.isOpened():
            writer.release()
            self._tmp.unlink(missing_ok=True)
            raise RuntimeError(self._why_not_opened(size_wh))
        self._writer, self.size_wh = writer, size_wh
        self._thread = threading.Thread(target=self._run, name="VideoRecorder", daemon=True)
        self._thread.start()

    def _why_not_opened(self, size_wh: tuple[int, int]) -> str:
        """What is wrong when OpenCV opens no writer: the path, the frame size, or the codec."""
        try:
            check_output_location("--record", self.path, create_folders=False)
        except OutputError as e:
            return str(e)
        w, h = size_wh
        if w < 2 or h < 2:
            return (
                f"cannot record to {self.path}: the frames are {w}x{h} pixels, too small for "
                f"the {self.fourcc} encoder; record a larger source, or to .avi (MJPG)"
            )
        return (
            f"cannot record to {self.path}: OpenCV could not open a {self.fourcc} writer for "
            f"{w}x{h} frames at {self.fps:g} fps; try .avi (MJPG), which takes any size"
        )

    def _put(self, item: npt.NDArray[np.uint8] | None) -> None:
        assert self._thread is not None
        while True:
            if self._error is not None:
                raise RuntimeError(f"recording to {self.path} failed: {self._error}")
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    raise RuntimeError(f"recording to {self.path} stopped unexpectedly") from None

    def _run(self) -> None:
        try:
            while (image := self._queue.get()) is not None:
                self._writer.write(image)
                self.frames_written += 1
        except BaseException as e:  # reported by the next write or by close
            self._error = e

    def close(self, keep: bool = True) -> Path | None:
        """Finish writing, release the writer and move the file into place, if `keep` (the
        run did not fail) and the file reads back complete; else the previous file stays.

        Returns the file, or None when no frame was ever written or `keep` is False.

        Raises:
            OSError: the file is not complete (a full disk), naming the target.
            RuntimeError: the writer thread failed.
        """
        if self._closed:
            return self.path if self._kept else None
        self._closed = True
        if self._writer is None:
            return None
        assert self._thread is not None and self._tmp is not None
        if self._thread.is_alive():
            self._queue.put(None)  # the writer drains the queue, so this cannot block for long
            self._thread.join()
        self._writer.release()
        try:
            if self._error is not None:
                raise RuntimeError(
                    f"recording to {self.path} failed: {self._error}; the previous file was kept"
                )
            if self.frames_written == 0 or not keep:
                return None
            problem = written_video_problem(self._tmp, self.frames_written)
            if problem is not None:
                raise OSError(
                    errno.EIO, f"recording failed: {problem}; the previous file was kept",
                    str(self.path),
                )  # fmt: skip
            os.replace(self._tmp, self.path)
            self._kept = True
            return self.path
        finally:
            self._tmp.unlink(missing_ok=True)

    def __exit__(self, *exc: object) -> None:
        self.close(keep=finalised(*exc))


class RecordSink:
    """Feeds annotated frames to a `VideoRecorder` at the source's frame rate.

    A frame that was dropped before processing is filled with the previous annotated frame
    (what the screen showed at that moment), so the recording keeps the source's timing
    and has one frame per source frame.
    """

    def __init__(self, recorder: VideoRecorder) -> None:
        self.recorder = recorder
        self._last_index: int | None = None
        self._last_image: npt.NDArray[np.uint8] | None = None

    def write(self, frame: Frame, tick: Tick) -> None:
        if self._last_index is not None and self._last_image is not None:
            gap = frame.index - self._last_index - 1
            if gap > 0:
                self.recorder.write(self._last_image, count=gap)
        self.recorder.write(frame.image)
        self._last_index, self._last_image = frame.index, frame.image
