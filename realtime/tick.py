"""What one processed frame produced: the shown state, its timings and the run's counters.

Defined once, here, and imported by everything that makes or reads a tick (the analyzer,
the loop, the overlay, the sinks), so none of those modules needs another one for its types.

The states shown instead of an emotion:
- "no person": nobody in the current frame;
- "collecting movement": a person, but not yet a full window of usable movement;
- "uncertain": a full window, but the top smoothed probability is under the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from pipeline.pose import PoseFrame

ProbArr = npt.NDArray[np.float64]

NO_PERSON: Final[str] = "no person"
COLLECTING: Final[str] = "collecting movement"
UNCERTAIN: Final[str] = "uncertain"
CLASSIFIED: Final[str] = "classified"
STATES: Final[tuple[str, ...]] = (NO_PERSON, COLLECTING, UNCERTAIN, CLASSIFIED)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the label panel shows for one tick.

    Attributes:
        state: one of `STATES`.
        label: index into the model's classes when `state` is "classified", else None.
    """

    state: str
    label: int | None = None


@dataclass(slots=True)
class StageTimes:
    """Per-frame stage durations, milliseconds: the frame's stopwatch.

    Filled in as the stages run: `Analyzer.step` sets everything up to `latency_ms`;
    `run_loop` then sets `draw_ms` (before the sinks, which see it) and `output_ms` (after
    them; seen by `on_tick`).

    Attributes:
        wait_ms: capture to the start of processing (time in the mailbox).
        prepare_ms: BGR -> RGB conversion for the pose model (0 when the source made it).
        pose_ms: pose inference (PoseLandmarker), including person selection.
        window_ms: buffer push, window resampling and `vectorize`.
        classify_ms: class probabilities (`EmotionModel.predict_proba`).
        smooth_ms: smoothing and the label decision.
        draw_ms: overlay drawing.
        output_ms: handing the frame and tick to the sinks (JSONL line, recording queue).
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
    latency_ms: float = 0.0

    @property
    def non_pose_ms(self) -> float:
        """Per-frame work besides pose: prepare, window, classify, smooth and draw.

        Waiting, pose inference, the sinks (`output_ms`) and the display are not included.
        """
        return self.prepare_ms + self.window_ms + self.classify_ms + self.smooth_ms + self.draw_ms


@dataclass(frozen=True, slots=True)
class PersonTick:
    """One person's part of a tick.

    Attributes:
        id: the person's id, stable across frames (1 with --max-people 1).
        person: their landmarks in this frame.
        box: (x0, y0, x1, y1) bounding box of their landmarks, normalised image coordinates.
        decision: their shown state and label.
        probabilities: (C,) their smoothed probabilities, or None when not classified.
        progress: fraction of a window collected since they appeared, [0, 1].
    """

    id: int
    person: PoseFrame
    box: tuple[float, float, float, float]
    decision: Decision
    probabilities: ProbArr | None
    progress: float


@dataclass(frozen=True, slots=True)
class Tick:
    """The result of processing one frame (built once, by `Analyzer.step`).

    Attributes:
        index: source frame index. t_s: source time, seconds.
        person: the followed person, or None when nobody was found.
        decision: the shown state and label.
        probabilities: (C,) smoothed probabilities, or None when nothing was classified.
        progress: fraction of a window collected since the person appeared, [0, 1].
        times: stage durations, milliseconds.
        fps: processing rate, frames per second, over the last ticks.
        dropped, skipped: the source's counters after this frame (stale frames dropped,
            undecodable frames skipped).
        people: everyone in view, by id; `person`, `decision`, `probabilities` and
            `progress` above are the followed one's (the longest-followed id in view).
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
    people: tuple[PersonTick, ...] = ()
