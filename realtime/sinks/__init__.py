"""Where processed frames and their ticks go besides the screen: JSONL lines, a recording.

A sink gets every processed frame, already annotated, with its tick (`run_loop` calls
`write` once per frame, in order). `jsonl` writes one JSON object per tick, `recording`
the annotated frames to a video file.
"""

from __future__ import annotations

from typing import Protocol

from realtime.capture import Frame
from realtime.tick import Tick


class Sink(Protocol):
    """Takes each processed (annotated) frame and its tick."""

    def write(self, frame: Frame, tick: Tick) -> None: ...
