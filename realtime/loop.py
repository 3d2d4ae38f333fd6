"""The processing loop, on the main thread: frame -> analyzer -> overlay -> sinks -> screen.

`run_loop` pulls the newest frame from a source (stale ones are dropped by the source),
steps the analyzer (`realtime.analyzer`), draws the overlay, hands the frame and its tick
to the sinks (JSONL, recording) and shows the frame on the screen, until the source ends,
a limit is hit, the user quits or a signal arrives (`stop_on_signals`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType

from realtime.analyzer import Analyzer
from realtime.capture import Frame, FrameSource
from realtime.overlay import Annotator
from realtime.screen import Screen
from realtime.sinks import Sink
from realtime.tick import Tick

# Latencies kept for the end-of-run summary: the most recent ones only, so memory stays
# fixed however long a run lasts (100 000 frames: about 55 min at 30 fps, ~3 MB).
MAX_LATENCIES = 100_000


@dataclass(slots=True)
class RunSummary:
    """How a run ended and what it processed.

    Attributes:
        frames: frames processed. dropped, skipped: the source's counters at the end.
        reason: why it stopped ("end of video", "quit", "signal", "max frames", "duration").
        first_t_s: source time of the first processed frame, seconds.
        latencies_ms: capture-to-label latency of each processed frame, the last
            `MAX_LATENCIES` of them.
        elapsed_s: clock time from the first to the last processed frame, seconds.
    """

    frames: int = 0
    dropped: int = 0
    skipped: int = 0
    reason: str = ""
    first_t_s: float | None = None
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=MAX_LATENCIES))
    elapsed_s: float = 0.0

    @property
    def fps(self) -> float:
        return (self.frames - 1) / self.elapsed_s if self.frames > 1 and self.elapsed_s > 0 else 0.0


def run_loop(
    source: FrameSource,
    analyzer: Analyzer,
    *,
    annotators: Sequence[Annotator] = (),
    sinks: Sequence[Sink] = (),
    screen: Screen | None = None,
    stop: threading.Event | None = None,
    max_frames: int | None = None,
    duration_s: float | None = None,
    on_tick: Callable[[Frame, Tick], None] | None = None,
    poll_s: float = 0.05,
    draw: bool | None = None,
) -> RunSummary:
    """Process frames until the source ends, `stop` is set, a limit is hit or the user quits.

    Args:
        source: a started frame source.
        analyzer: per-frame processing.
        annotators: drawn in order on each frame, in place.
        sinks: get every processed (annotated) frame and its tick.
        screen: shows each frame; None for headless.
        stop: set from outside (signals) to end the loop.
        max_frames: stop after this many processed frames.
        duration_s: stop once a frame is this many source seconds after the first one.
        on_tick: called after drawing with each frame and tick (benchmarks).
        poll_s: how long to wait for a new frame before polling the GUI again, seconds.
        draw: draw the overlay on every frame (True), never (False), or only when
            something shows or keeps the image (None: a screen, or a sink whose
            `wants_image` is true; sinks without that attribute count as wanting it).

    Raises:
        SourceFailed (or another error) when the source ended with an error.
    """
    stop = stop or threading.Event()
    clock = analyzer.clock
    summary = RunSummary()
    first_clock = 0.0
    while True:
        if stop.is_set():
            summary.reason = "signal"
            break
        frame = source.get(poll_s)
        if frame is None:
            if source.ended:
                summary.reason = "end of video"
                break
            if screen is not None and screen.poll():
                summary.reason = "quit"
                break
            continue
        if summary.first_t_s is None:
            summary.first_t_s = frame.t_s
        elif duration_s is not None and frame.t_s - summary.first_t_s >= duration_s:
            summary.reason = "duration"
            break
        tick = analyzer.step(frame, source)
        now = clock()
        if summary.frames == 0:
            first_clock = now
        summary.elapsed_s = now - first_clock
        t_draw = clock()
        if draw or (draw is None and (screen is not None or wants_image(sinks))):
            for annotator in annotators:
                annotator.annotate(frame.image, tick)
        tick.times.draw_ms = 1e3 * (clock() - t_draw)
        t_out = clock()
        for sink in sinks:
            sink.write(frame, tick)
        tick.times.output_ms = 1e3 * (clock() - t_out)
        if on_tick is not None:
            on_tick(frame, tick)
        summary.frames += 1
        summary.latencies_ms.append(tick.times.latency_ms)
        if screen is not None:
            screen.show(frame.image)
            if screen.poll():
                summary.reason = "quit"
                break
        if max_frames is not None and summary.frames >= max_frames:
            summary.reason = "max frames"
            break
    summary.dropped, summary.skipped = source.dropped, source.skipped
    if summary.reason == "end of video":
        source.raise_if_failed()
    return summary


def wants_image(sinks: Sequence[Sink]) -> bool:
    """Whether any sink uses the annotated image (`wants_image`, True when not stated)."""
    return any(getattr(sink, "wants_image", True) for sink in sinks)


# Signals that end a run cleanly; SIGHUP does not exist on Windows.
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn SIGINT (Ctrl-C), SIGTERM and SIGHUP (the terminal or SSH session closed) into
    `stop.set()` for the duration of the block, so the outputs are finalised in every case.

    A second signal raises KeyboardInterrupt, so a stuck run can still be interrupted
    (context managers still clean up). Must be entered on the main thread.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def single_threaded_numerics() -> Iterator[None]:
    """Limit BLAS and OpenMP to one thread in the block.

    Everything numpy and scikit-learn compute per frame is tiny (a 1 x 100 by 100 x 400
    product at most); on a 2-core machine that also runs pose inference, waking BLAS worker
    threads for it costs more than it saves: about one classification in ten took over
    1 ms instead of 0.15 ms with the default two OpenBLAS threads.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
