"""Frame -> Tick: pose, buffer, window, features, classifier, smoothing, label decision.

Per frame (`Analyzer.step`): BGR -> RGB (unless the source made the RGB copy);
PoseLandmarker in VIDEO mode with the source's timestamps (made strictly increasing in ms,
`pipeline.pose.PersonTrack`); the followed person's 13 joints into the `SkeletonBuffer` (an
empty row when nobody is found, so the time axis stays honest); when the buffer holds a
usable window (settings from the model's own metadata), `vectorize` + `predict_proba` on
every tick; smoothing; the label decision with hysteresis. Each stage is timed with the
injected clock, so the reported latency is the real one.
"""

from __future__ import annotations

import time
from typing import Protocol, cast

import numpy as np
import numpy.typing as npt

from pipeline.features import vectorize
from pipeline.models import EmotionModel
from pipeline.pose import PersonTrack, PoseDetector
from pipeline.window import SkeletonBuffer, Window
from realtime.capture import Clock, Frame
from realtime.fps import FpsMeter
from realtime.smoothing import LabelDecider, Smoother
from realtime.tick import COLLECTING, NO_PERSON, Decision, StageTimes, Tick


class SourceCounters(Protocol):
    """The frame source's running counters a tick reports (`FrameSource` has them)."""

    @property
    def dropped(self) -> int:
        """Stale frames dropped so far."""

    @property
    def skipped(self) -> int:
        """Undecodable frames skipped so far."""


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
        pose: PoseDetector,
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
        self._fps = FpsMeter()

    def step(self, frame: Frame, counters: SourceCounters | None = None) -> Tick:
        """Process one frame into its tick.

        Args:
            frame: the frame to analyse.
            counters: the source, read once the label is decided, for the tick's
                `dropped` and `skipped` (0 when None, e.g. frames not from a source).
        """
        import cv2

        clock = self.clock
        t0 = clock()
        rgb = frame.rgb
        if rgb is None:
            rgb = cast("npt.NDArray[np.uint8]", cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))
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
            fps=self._fps.tick(t5),
            dropped=0 if counters is None else counters.dropped,
            skipped=0 if counters is None else counters.skipped,
        )
