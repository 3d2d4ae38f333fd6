"""The processing loop, on the main thread: frame -> pose -> window -> label -> overlay.

Per frame (`Analyzer.step`): BGR -> RGB; PoseLandmarker in VIDEO mode with the source's
timestamps (made strictly increasing in ms); the followed person's 13 joints into the
`SkeletonBuffer` (an empty row when nobody is found, so the time axis stays honest); when
the buffer holds a usable window (settings from the model's own metadata), `vectorize` +
`predict_proba` on every tick; smoothing; the label decision with hysteresis. Each stage
is timed with the injected clock, so the reported latency is the real one.

`run_loop` pulls the newest frame from a source (stale ones are dropped by the source),
steps the analyzer, draws the overlay, hands the tick to the sinks (JSONL, recording) and
shows the frame. `imshow`/`waitKey` are called only here (`Screen`).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Protocol

import numpy as np
import numpy.typing as npt

from pipeline.features import vectorize
from pipeline.models import EmotionModel
from pipeline.pose import PersonTrack, PoseFrame
from pipeline.window import SkeletonBuffer, Window
from realtime.capture import Clock, Frame, FrameSource
from realtime.fps import FpsMeter
from realtime.jsonl import JsonlWriter, tick_record
from realtime.overlay import Annotator
from realtime.recording import VideoRecorder
from realtime.smoothing import COLLECTING, NO_PERSON, Decision, LabelDecider, Smoother

log = logging.getLogger(__name__)

ProbArr = npt.NDArray[np.float64]
QUIT_KEYS = (ord("q"), ord("Q"), 27)  # q or Esc
# Latencies kept for the end-of-run summary: the most recent ones only, so memory stays
# fixed however long a run lasts (100 000 frames: about 55 min at 30 fps, ~3 MB).
MAX_LATENCIES = 100_000


class PoseStage(Protocol):
    """What the analyzer needs from a pose estimator (`pipeline.pose.PoseEstimator`)."""

    def detect(
        self,
        image_rgb: npt.NDArray[np.uint8],
        timestamp_ms: int | None = None,
        previous: PoseFrame | None = None,
    ) -> PoseFrame: ...


@dataclass(slots=True)
class StageTimes:
    """Per-frame stage durations, milliseconds.

    Attributes:
        wait_ms: capture to the start of processing (time in the mailbox).
        prepare_ms: BGR -> RGB conversion for the pose model (0 when the source made it).
        pose_ms: pose inference (PoseLandmarker), including person selection.
        window_ms: buffer push, window resampling and `vectorize`.
        classify_ms: class probabilities (`EmotionModel.predict_proba`).
        smooth_ms: smoothing and the label decision.
        draw_ms: overlay drawing.
        output_ms: handing the frame and tick to the sinks (JSONL line, recording queue).
        display_ms: imshow + waitKey of this frame (0 headless; measured after the sinks ran).
        latency_ms: capture to label (end to end, excluding drawing and display).
    """

    wait_ms: float = 0.0
    prepare_ms: float = 0.0
    pose_ms: float = 0.0
    window_ms: float = 0.0
    classify_ms: float = 0.0
    smooth_ms: float = 0.0
    draw_ms: float = 0.0
    output_ms: float = 0.0
    display_ms: float = 0.0
    latency_ms: float = 0.0

    @property
    def non_pose_ms(self) -> float:
        """Per-frame work besides pose: prepare, window, classify, smooth and draw.

        Waiting, pose inference, the sinks (`output_ms`) and the display are not included.
        """
        return self.prepare_ms + self.window_ms + self.classify_ms + self.smooth_ms + self.draw_ms


@dataclass(slots=True)
class Tick:
    """The result of processing one frame.

    Attributes:
        index: source frame index. t_s: source time, seconds.
        person: the followed person, or None when nobody was found.
        decision: the shown state and label.
        probabilities: (C,) smoothed probabilities, or None when nothing was classified.
        progress: fraction of a window collected since the person appeared, [0, 1].
        times: stage durations.
        fps, dropped, skipped: processing rate (frames/s) and the source's counters so far.
    """

    index: int
    t_s: float
    person: PoseFrame | None
    decision: Decision
    probabilities: ProbArr | None
    progress: float
    times: StageTimes = field(default_factory=StageTimes)
    fps: float = 0.0
    dropped: int = 0
    skipped: int = 0


class Analyzer:
    """Frame -> Tick: pose, buffer, window, features, classifier, smoothing, decision.

    Window length, resampling and feature set come from the model's metadata only.

    Args:
        model: the emotion model (its `window` and `feature_set` are used).
        pose: a pose stage in VIDEO mode (one per stream).
        smoother: smoothing strategy for the probabilities.
        decider: label decision with hysteresis.
        clock: monotonic clock, seconds; the same one the source stamps frames with.
        max_fps: highest frame rate the buffer must hold a full window of, frames/s.
    """

    def __init__(
        self,
        model: EmotionModel,
        pose: PoseStage,
        smoother: Smoother,
        decider: LabelDecider,
        *,
        clock: Clock = time.perf_counter,
        max_fps: float = 240.0,
    ) -> None:
        self.model = model
        self.pose = pose
        self.smoother = smoother
        self.decider = decider
        self.clock = clock
        self.buffer = SkeletonBuffer.for_spec(model.window, max_fps)
        self._track = PersonTrack(pose)
        self._person_since: float | None = None

    def step(self, frame: Frame) -> Tick:
        import cv2

        clock = self.clock
        t0 = clock()
        rgb = frame.rgb if frame.rgb is not None else cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        t1 = clock()
        person = self._track(rgb, frame.t_s)
        t2 = clock()
        found = person.found
        window: Window | None = None
        vector = None
        if found:
            world, image, visibility = person.joints()
            self.buffer.push(world, image, visibility, frame.t_s)
            if self._person_since is None:
                self._person_since = frame.t_s
            window = self.buffer.window(self.model.window)
            if window is not None:
                vector = vectorize(window, self.model.feature_set)
        else:
            self.buffer.push_empty(frame.t_s)
            self._person_since = None
        t3 = clock()
        smoothed = None
        if vector is not None:
            proba = self.model.predict_proba(vector)[0]
            t4 = clock()
            smoothed = self.smoother.update(proba, frame.t_s)
            decision = self.decider.update(smoothed)
        else:
            t4 = t3
            self.smoother.reset()
            self.decider.reset()
            decision = Decision(COLLECTING if found else NO_PERSON)
        t5 = clock()
        progress = 0.0
        if self._person_since is not None:
            elapsed = frame.t_s - self._person_since
            progress = 1.0 if window is not None else min(1.0, elapsed / self.model.window.window_s)
        times = StageTimes(
            wait_ms=1e3 * (t0 - frame.grabbed_s),
            prepare_ms=1e3 * (t1 - t0),
            pose_ms=1e3 * (t2 - t1),
            window_ms=1e3 * (t3 - t2),
            classify_ms=1e3 * (t4 - t3),
            smooth_ms=1e3 * (t5 - t4),
            latency_ms=1e3 * (t5 - frame.grabbed_s),
        )
        return Tick(
            index=frame.index,
            t_s=frame.t_s,
            person=person if found else None,
            decision=decision,
            probabilities=smoothed,
            progress=progress,
            times=times,
        )


class Screen:
    """The display window; the only place that calls imshow and waitKey.

    Raises:
        RuntimeError: no window can be opened (no display, or OpenCV built without GUI).
    """

    def __init__(self, title: str = "PosEmotion") -> None:
        import cv2

        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
        except cv2.error as e:
            raise RuntimeError(
                f"cannot open a window ({str(e).strip().splitlines()[-1]}); use --headless"
            ) from None
        self._shown = False

    def show(self, image: npt.NDArray[np.uint8]) -> None:
        import cv2

        cv2.imshow(self.title, image)
        self._shown = True

    def poll(self) -> bool:
        """Process GUI events; True when the user asked to quit (q, Esc, window closed)."""
        import cv2

        key = cv2.waitKey(1)
        if key != -1 and (key & 0xFF) in QUIT_KEYS:
            return True
        return self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1

    def close(self) -> None:
        import cv2

        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)


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


class JsonlSink:
    """Writes each tick as one JSON line (`realtime.jsonl.tick_record`)."""

    def __init__(self, writer: JsonlWriter, classes: Sequence[str]) -> None:
        self.writer = writer
        self.classes = tuple(classes)

    def write(self, frame: Frame, tick: Tick) -> None:
        self.writer.write(tick_record(tick, self.classes))


class Sink(Protocol):
    def write(self, frame: Frame, tick: Tick) -> None: ...


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

    Raises:
        SourceFailed (or another error) when the source ended with an error.
    """
    stop = stop or threading.Event()
    clock = analyzer.clock
    fps = FpsMeter()
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
        tick = analyzer.step(frame)
        now = clock()
        if summary.frames == 0:
            first_clock = now
        summary.elapsed_s = now - first_clock
        tick.fps = fps.tick(now)
        tick.dropped, tick.skipped = source.dropped, source.skipped
        t_draw = clock()
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
            t_show = clock()
            screen.show(frame.image)
            quit_now = screen.poll()
            tick.times.display_ms = 1e3 * (clock() - t_show)
            if quit_now:
                summary.reason = "quit"
                break
        if max_frames is not None and summary.frames >= max_frames:
            summary.reason = "max frames"
            break
    summary.dropped, summary.skipped = source.dropped, source.skipped
    if summary.reason == "end of video":
        source.raise_if_failed()
    return summary


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn SIGINT (Ctrl-C) and SIGTERM into `stop.set()` for the duration of the block.

    A second signal raises KeyboardInterrupt, so a stuck run can still be interrupted
    (context managers still clean up). Must be entered on the main thread.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
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
