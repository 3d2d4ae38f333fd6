"""Reading video files frame by frame with OpenCV, with clear errors for bad files."""

from __future__ import annotations

import errno
import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from pipeline.io import atomic_path, check_regular_file
from pipeline.validate import check_positive

if TYPE_CHECKING:
    import cv2

# Longest image side given to pose, pixels, by the live app and by keypoint extraction alike
# (PoseLandmarker looks at 256x256 crops; larger frames only cost conversion time).
POSE_MAX_SIDE = 640
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
            return cls.from_capture(cap)
        finally:
            cap.release()

    @classmethod
    def from_capture(cls, cap: cv2.VideoCapture) -> VideoInfo:
        """Properties of an open capture (file or camera); 30 fps when it reports none."""
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


MIN_MAX_SIDE = 64  # smaller images leave PoseLandmarker nothing to see


def check_max_side(max_side: int) -> int:
    """Raise ValueError unless `max_side` is 0 (native size) or >= MIN_MAX_SIDE pixels."""
    if max_side != 0 and max_side < MIN_MAX_SIDE:
        raise ValueError(
            f"`max_side` must be 0 (native size) or >= {MIN_MAX_SIDE} pixels, got {max_side}"
        )
    return max_side


def fit_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """Frame size with the longer side at most `max_side` pixels, same aspect, even numbers.

    The live app and keypoint extraction both scale frames by this rule before pose, so a
    model is trained on landmarks from images like the ones it sees live. 0 keeps the size.
    """
    if max_side < 0:
        raise ValueError(f"`max_side` must be >= 0 pixels, got {max_side}")
    if max_side == 0 or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def resize_to(image: npt.NDArray[np.uint8], size_wh: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """`image` scaled to `size_wh` (INTER_AREA, for shrinking); the same array if it fits."""
    import cv2

    if (image.shape[1], image.shape[0]) == tuple(size_wh):
        return image
    return np.asarray(cv2.resize(image, size_wh, interpolation=cv2.INTER_AREA), np.uint8)


def open_capture(path: str | Path) -> cv2.VideoCapture:
    """Open a video file, or raise FileNotFoundError / NotAFileError (a folder, FIFO or
    device, named as such) / VideoError with a hint."""
    import cv2

    path = check_regular_file(path, "video")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise VideoError(
            f"cannot open video {path}: not a video file or corrupt; try re-encoding it"
        )
    return cap


@dataclass
class DecodeLog:
    """What decoding one video found, filled in as its frames decode.

    Attributes:
        total_frames: the frame count the container lists (0: it lists none).
        skipped: indices of frames that failed to decode inside the file (a later
            frame decoded).
        decoded: frames decoded.
        last_index: index of the last decoded frame (-1: none yet).
        frame_wh: (width, height) of the first decoded frame before any scaling.
        ended: True once decoding reached the end of the file (not stopped early).
    """

    total_frames: int = 0
    skipped: list[int] = field(default_factory=list)
    decoded: int = 0
    last_index: int = -1
    frame_wh: tuple[int, int] | None = None
    ended: bool = False

    @property
    def missing_at_end(self) -> int:
        """Frames the container lists after the last decoded one, once the file ended: a
        file cut short (or a wrong header). 0 before the end or without a count."""
        if not self.ended or not self.total_frames:
            return 0
        return max(self.total_frames - (self.last_index + 1), 0)

    def problem(self, name: str) -> str | None:
        """One line on frames missing at the end and skipped inside; None if neither."""
        missing = self.missing_at_end
        if not missing and not self.skipped:
            return None
        line = f"{name}: "
        if missing:
            line += (
                f"{missing} of the {self.total_frames} frames its header lists are missing at "
                f"the end (decoding stopped after frame {self.last_index}: the file is cut "
                "short or damaged); "
            )
        return line + f"{len(self.skipped)} undecodable frames skipped inside"


def decode_frames(
    cap: cv2.VideoCapture,
    info: VideoInfo,
    log: DecodeLog,
    *,
    max_side: int = 0,
    start: int = 0,
    name: str | Path = "",
) -> Generator[VideoFrame, None, None]:
    """The decodable frames of an open capture from index `start`, recorded in `log`.

    Frames that fail to decode are skipped (in `log.skipped` once a later frame decodes);
    the file ends after `MAX_CONSECUTIVE_FAILURES` failures in a row or at its listed
    frame count (`log.ended`, and what is missing at the end: `log.missing_at_end`).
    The caller releases the capture. Raises VideoError (naming `name`) if no frame decodes.
    """
    log.total_frames = info.total_frames
    size: tuple[int, int] | None = None  # from the first decoded frame, not the header
    index, produced = start, 0
    pending: list[int] = []  # failed indices, counted as skipped once a later frame decodes
    while len(pending) < MAX_CONSECUTIVE_FAILURES:
        ok, image = cap.read()
        if ok and image is not None and image.ndim == 3:
            log.skipped.extend(pending)
            pending.clear()
            produced += 1
            log.decoded += 1
            log.last_index = index
            if size is None:
                log.frame_wh = log.frame_wh or (int(image.shape[1]), int(image.shape[0]))
                size = fit_size(image.shape[1], image.shape[0], max_side)
            pixels = np.asarray(image, np.uint8)  # 8-bit BGR, as decoded (no copy)
            yield VideoFrame(resize_to(pixels, size), index, index / info.fps)
        else:
            pending.append(index)
            if info.total_frames and index >= info.total_frames - 1:
                break
        index += 1
    log.ended = True
    if produced == 0:
        raise VideoError(f"video {name} has no decodable frames; check or re-encode the file")


def iter_frames(
    path: str | Path,
    *,
    skipped: list[int] | None = None,
    max_side: int = 0,
    prefetch: int = 0,
    log: DecodeLog | None = None,
) -> Generator[VideoFrame, None, None]:
    """Decode every frame of a video file in order, with t_s = index / fps.

    Frames that fail to decode are skipped (their indices appended to `skipped` when a list
    is given); the file ends after `MAX_CONSECUTIVE_FAILURES` failures in a row or at its
    reported frame count. The capture is released even if the caller stops early.

    Args:
        max_side: scale frames so their longer side is at most this many pixels (`fit_size`).
        prefetch: decode (and scale) up to this many frames ahead on a thread, so decoding
            overlaps the caller's work (OpenCV releases the GIL); 0 decodes in the caller.
        log: filled with what decoding found (`DecodeLog`: frames skipped inside, frames
            missing at the end of a file cut short).

    Raises:
        FileNotFoundError: no such file.
        VideoError: the file cannot be opened or has no decodable frame.
    """
    if log is None:
        log = DecodeLog()
    if skipped is not None:
        log.skipped = skipped
    if prefetch > 0:
        yield from _prefetched(iter_frames(path, max_side=max_side, log=log), prefetch)
        return
    cap = open_capture(path)
    try:
        yield from decode_frames(
            cap, VideoInfo.from_capture(cap), log, max_side=max_side, name=path
        )
    finally:
        cap.release()


def _prefetched(frames: Generator[VideoFrame, None, None], size: int) -> Iterator[VideoFrame]:
    """Run `frames` on a daemon thread, up to `size` items ahead; errors re-raised here."""
    items: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=size)
    stop = threading.Event()

    def produce() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        items.put(("frame", frame), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(("end", None))
        except BaseException as e:  # handed to the consumer, which re-raises it
            items.put(("error", e))
        finally:
            frames.close()  # releases the capture (iter_frames' finally)

    worker = threading.Thread(target=produce, name="video-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = items.get()
            if kind == "frame":
                yield item  # type: ignore[misc]
            elif kind == "error":
                raise item  # type: ignore[misc]
            else:
                return
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                items.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


def written_video_problem(path: str | Path, frames: int) -> str | None:
    """Why a video file just written with `frames` frames is not complete, or None.

    OpenCV's writer reports no failed write (a full disk, a file size limit): the file
    is then cut short, its index or header missing. Checked by opening it, comparing the
    frame count its header gives and decoding its last frame (a seek, not a full read).
    """
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return "the file cannot be read back (cut short: is the disk full?)"
        found = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if found != frames:
            return f"the file holds {found} of the {frames} frames written (is the disk full?)"
        capture.set(cv2.CAP_PROP_POS_FRAMES, frames - 1)
        if not capture.read()[0]:
            return "its last frame cannot be decoded (cut short: is the disk full?)"
    finally:
        capture.release()
    return None


def write_video(
    frames: Iterable[npt.NDArray[np.uint8]],
    path: str | Path,
    fps: float,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write BGR frames to an .mp4 (MPEG-4 Part 2, "mp4v") atomically; returns the count.

    The file is written under a temporary name beside `path` and renamed when complete,
    so an interrupted run never leaves a truncated video under the final name; a file
    that cannot be read back complete (`written_video_problem`, e.g. a full disk) is
    never renamed: OSError naming `path`.
    `progress(1)` is called after each frame.

    Raises:
        ValueError: `path` does not end in .mp4, or no frames.
        RuntimeError: OpenCV cannot open a video writer.
        OSError: the file written is not complete (the previous one is kept).
    """
    import cv2

    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise ValueError(f"output video must end in .mp4, got {path.name}")
    check_positive("fps", fps, "frames per second")
    writer = None
    count = 0
    with atomic_path(path, keep_suffix=True) as tmp:
        try:
            for image in frames:
                if writer is None:
                    h, w = image.shape[:2]
                    fourcc = cv2.VideoWriter.fourcc(*"mp4v")
                    writer = cv2.VideoWriter(str(tmp), fourcc, fps, (w, h))
                    if not writer.isOpened():
                        raise RuntimeError(
                            f"OpenCV could not open an mp4v video writer for {path}; check "
                            "that opencv-contrib-python (with FFmpeg) is installed"
                        )
                writer.write(image)
                count += 1
                if progress is not None:
                    progress(1)
            if writer is None:
                raise ValueError(f"no frames to write to {path}")
        finally:
            if writer is not None:
                writer.release()
        problem = written_video_problem(tmp, count)
        if problem is not None:  # the previous file stays (atomic_path)
            raise OSError(errno.EIO, f"writing the video failed: {problem}", str(path))
    return count
