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

import time
from pathlib import Path

from realtime.capture.base import (
    DEFAULT_RETRY_S,
    Clock,
    Frame,
    FrameSource,
    LatestFrame,
    SourceFailed,
    SourceInfo,
    quiet_opencv,
)
from realtime.capture.camera import CameraSource, open_camera
from realtime.capture.file import FileSource

__all__ = [
    "DEFAULT_RETRY_S",
    "CameraSource",
    "Clock",
    "FileSource",
    "Frame",
    "FrameSource",
    "LatestFrame",
    "SourceFailed",
    "SourceInfo",
    "open_camera",
    "open_source",
    "quiet_opencv",
]


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
