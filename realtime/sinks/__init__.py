"""Where processed frames and their ticks go besides the screen: JSONL lines, a recording.

A sink gets every processed frame, already annotated, with its tick (`run_loop` calls
`write` once per frame, in order). `jsonl` writes one JSON object per tick, `recording`
the annotated frames to a video file.
"""

from __future__ import annotations

from typing import Final, Protocol

from realtime.capture import Frame, SourceFailed
from realtime.tick import Tick

# How a run may end and still keep what it wrote (the file outputs are renamed into place):
# the end of the source, a stop (q, a signal), a source that failed mid-run, a second
# Ctrl-C. Any other error (the model, a full disk, a bug) keeps the previous files.
FINALISED_ON: Final[tuple[type[BaseException], ...]] = (SourceFailed, KeyboardInterrupt)


def finalised(*exc_info: object) -> bool:
    """Whether a run that left a `with` block with `exc_info` (`__exit__`'s arguments; all
    None: no error) keeps its file outputs."""
    error = next((e for e in exc_info if isinstance(e, BaseException)), None)
    return error is None or isinstance(error, FINALISED_ON)


class Sink(Protocol):
    """Takes each processed (annotated) frame and its tick."""

    def write(self, frame: Frame, tick: Tick) -> None: ...
