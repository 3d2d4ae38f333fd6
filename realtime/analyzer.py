"""Frame -> Tick: pose, buffer, window, features, classifier, smoothing, label decision.

Per frame (`Analyzer.step`): BGR -> RGB (unless the source made the RGB copy);
PoseLandmarker in VIDEO mode with the source's timestamps (made strictly increasing in ms,
`pipeline.pose.PersonTrack`); each person's 13 joints into their `SkeletonBuffer` (an
empty row when they are not found, so the time axis stays honest); when the buffer holds a
usable window (settings from the model's own metadata), cutting it, `vectorize` and
`predict_proba` once the window has moved by one of its samples
(`realtime.people.PersonState`), the three on consecutive frames; smoothing; the label
decision with hysteresis. Each stage is timed with the injected clock, so the reported
latency is the real one.
"""

from __future__ import annotations

import copy
import time
from typing import Protocol, cast

import numpy as np
import numpy.typing as npt

from pipeline.models import EmotionModel
from pipeline.pose import PersonTrack, PoseDetector
from pipeline.window import SkeletonBuffer
from realtime.capture import Clock, Frame
from realtime.fps import FpsMeter
from realtime.people import (
    MultiPoseDetector,
    PeopleTracker,
    PersonState,
    Seen,
    forget_absent,
    person_box,
)
from realtime.smoothing import LabelDecider, Smoother
from realtime.tick import NO_PERSON, Decision, PersonTick, StageTimes, Tick


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

    Window length, resampling and feature set come from the model's metadata only. With
    `max_people` 1, the person `PersonTrack` follows (id 1); with more, everyone found gets
    a stable id (`realtime.people.PeopleTracker`) and their own buffer, smoother and label
    (one `predict_proba` call for all of them), and the tick's top-level fields follow the
    longest-followed person in view.

    Args:
        model: the emotion model (its `window` and `feature_set` are used).
        pose: a pose stage in VIDEO mode (one per stream); with `max_people` > 1 it must
            also have `detect_all` (`realtime.people.MultiPoseDetector`).
        smoother: smoothing strategy for the probabilities (copied for each extra person).
        decider: label decision with hysteresis (copied for each extra person).
        clock: monotonic clock, seconds; the same one the source stamps frames with.
        max_fps: highest frame rate the buffer must hold a full window of, frames/s.
        max_people: people followed at most.
        fps: the source's nominal frame rate (the tracker counts frames), frames/s.
        classify_period_s: shortest time between two classifications of a person, seconds
            (None: one sample spacing of the model's window; 0: every frame; see
            `realtime.people.PersonState`).
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
        max_people: int = 1,
        fps: float = 30.0,
        classify_period_s: float | None = None,
    ) -> None:
        if max_people < 1:
            raise ValueError(f"`max_people` must be >= 1, got {max_people}")
        self.model = model
        self.pose = pose
        self.smoother = smoother
        self.decider = decider
        self.clock = clock
        self.max_people = max_people
        self._max_fps = max_fps
        self._period_s = classify_period_s
        self._first = PersonState(model, smoother, decider, max_fps, classify_period_s)
        self.states: dict[int, PersonState] = {1: self._first}
        self._track = PersonTrack(pose)
        self._people: PeopleTracker | None = None
        if max_people > 1:
            if not hasattr(pose, "detect_all"):
                raise ValueError("`max_people` > 1 needs a pose stage with `detect_all`")
            self._people = PeopleTracker(fps)
            self.states = {}
        self._followed: int | None = None
        self._last_ms = -1
        self._fps = FpsMeter()

    @property
    def buffer(self) -> SkeletonBuffer:
        """The (first) person's ring buffer."""
        return self._first.buffer

    def step(self, frame: Frame, counters: SourceCounters | None = None) -> Tick:
        """Process one frame into its tick.

        Args:
            frame: the frame to analyse.
            counters: the source, read once the label is decided, for the tick's
                `dropped` and `skipped` (0 when None, e.g. frames not from a source).
        """
        clock = self.clock
        t0 = clock()
        rgb = frame.rgb
        if rgb is None:
            import cv2

            rgb = cast("npt.NDArray[np.uint8]", cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))
        t1 = clock()
        seen = self._find(rgb, frame.t_s)
        t2 = clock()
        t_s = frame.t_s
        in_view = {s.id for s in seen}
        for s in seen:
            state = self.states.get(s.id)
            if state is None:
                state = self.states[s.id] = self._new_state()
            state.observe(s.person, t_s)
        for pid, state in self.states.items():
            if pid not in in_view:
                state.observe(None, t_s)
        states = [self.states[s.id] for s in seen]
        t3 = clock()
        # one step of each person's classification a frame, latest step first, so that
        # a person moves by one step: classify features computed on the previous frame,
        # compute features of a window cut on it, cut new windows (period 0: all at once)
        ready = [st for st in states if st.pending is not None]
        probas = self._classify(ready)
        t4 = clock()
        for st, proba in zip(ready, probas, strict=True):
            st.finish(proba)
        t5 = clock()
        every_frame = self._first.period_s == 0
        cut = [st for st in states if st.cut_window is not None]
        for st in cut:
            st.features()
        fresh = [
            st
            for st in states
            if st not in ready
            and st not in cut
            and st.due(t_s)
            and (st.prepare(t_s) if every_frame else st.cut(t_s))
        ]
        t6 = clock()
        if fresh and every_frame:
            probas = self._classify(fresh)
        t7 = clock()
        for st, proba in zip(fresh if every_frame else [], probas, strict=False):
            st.finish(proba)
        if self._people is not None:
            forget_absent(self.states, t_s, self._people.return_s)
        people = tuple(
            PersonTick(
                s.id,
                s.person,
                s.box,
                self.states[s.id].decision,
                self.states[s.id].probabilities,
                self.states[s.id].progress(t_s),
            )
            for s in seen
        )
        followed = self._follow(people)
        t8 = clock()
        times = StageTimes(
            wait_ms=1e3 * (t0 - frame.grabbed_s),
            prepare_ms=1e3 * (t1 - t0),
            pose_ms=1e3 * (t2 - t1),
            window_ms=1e3 * ((t3 - t2) + (t6 - t5)),
            classify_ms=1e3 * ((t4 - t3) + (t7 - t6)),
            smooth_ms=1e3 * ((t5 - t4) + (t8 - t7)),
            latency_ms=1e3 * (t8 - frame.grabbed_s),
        )
        return Tick(
            index=frame.index,
            t_s=t_s,
            person=None if followed is None else followed.person,
            decision=Decision(NO_PERSON) if followed is None else followed.decision,
            probabilities=None if followed is None else followed.probabilities,
            progress=0.0 if followed is None else followed.progress,
            times=times,
            fps=self._fps.tick(t8),
            dropped=0 if counters is None else counters.dropped,
            skipped=0 if counters is None else counters.skipped,
            people=people,
        )

    def _classify(self, states: list[PersonState]) -> npt.NDArray[np.float64]:
        """(len(states), C) probabilities of the states' pending windows, in one call."""
        if not states:
            return np.empty((0, len(self.model.classes)))
        return self.model.predict_proba(np.stack([st.pending[0] for st in states if st.pending]))

    def _new_state(self) -> PersonState:
        return PersonState(
            self.model,
            copy.deepcopy(self.smoother),
            copy.deepcopy(self.decider),
            self._max_fps,
            self._period_s,
        )

    def _find(self, rgb: npt.NDArray[np.uint8], t_s: float) -> list[Seen]:
        """Everyone found in the frame, with their ids."""
        if self._people is None:
            person = self._track(rgb, t_s)
            return [Seen(1, person, person_box(person))] if person.found else []
        ms = max(round(t_s * 1000.0), self._last_ms + 1)  # as PersonTrack stamps frames
        self._last_ms = ms
        found = cast("MultiPoseDetector", self.pose).detect_all(rgb, ms)
        return self._people.update(found[: self.max_people], (rgb.shape[1], rgb.shape[0]))

    def _follow(self, people: tuple[PersonTick, ...]) -> PersonTick | None:
        """The followed person: the same id while in view, else the lowest id in view."""
        if not people:
            self._followed = None
            return None
        for p in people:
            if p.id == self._followed:
                return p
        self._followed = people[0].id
        return people[0]
