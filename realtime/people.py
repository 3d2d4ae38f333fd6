"""Per-person state of the live analysis, and who is who across frames (`--max-people N`).

`PersonState` is one person's movement and label: a `SkeletonBuffer`, a smoother, a label
decider, and the classification schedule (see `PersonState.due`). The single-person app
keeps one; with `--max-people N > 1`, `PeopleTracker` gives every person PoseLandmarker
finds a stable id from frame to frame with norfair (`norfair.Tracker` on each person's
image bounding box, IoU distance, with a Kalman filter per box), and the analyzer keeps one
`PersonState` per id.

Ids: a person missed for up to `lost_s` keeps their id through the tracker's own
prediction; one who stays away longer is re-identified when they come back within
`return_s`, where the tracker can tell (a new track is merged into the old id when its box
is near the one the old track was last seen at, as norfair's ReID does). A person out of
view for more than `return_s` is forgotten: their buffer is freed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from pipeline.features import vectorize
from pipeline.models import EmotionModel
from pipeline.pose import PoseFrame
from pipeline.window import SkeletonBuffer, Window
from realtime.smoothing import LabelDecider, Smoother
from realtime.tick import COLLECTING, NO_PERSON, UNCERTAIN, Decision, ProbArr

Box = tuple[float, float, float, float]  # x0, y0, x1, y1, normalised image coordinates


class MultiPoseDetector(Protocol):
    """What following several people needs from a pose estimator (`PoseEstimator`)."""

    def detect_all(
        self, image_rgb: npt.NDArray[np.uint8], timestamp_ms: int | None = None
    ) -> list[PoseFrame]: ...


def person_box(person: PoseFrame) -> Box:
    """The bounding box of a person's landmarks in the image, normalised [0, 1]."""
    xy = person.image[:, :2]
    xy = xy[np.isfinite(xy).all(1)]
    if not len(xy):
        return (0.0, 0.0, 0.0, 0.0)
    x0, y0 = np.clip(xy.min(0), 0.0, 1.0)
    x1, y1 = np.clip(xy.max(0), 0.0, 1.0)
    return (float(x0), float(y0), float(x1), float(y1))


class PersonState:
    """One person's movement window, smoothing and label, and when to classify next.

    Classification runs in three steps on three consecutive frames, so no frame pays for
    more than one: on a frame where it is `due`, the window is cut (`cut`); on the next,
    its features are computed (`features`); on the third, they are classified, smoothed
    and decided (`finish`, which the analyzer calls for every person at once, one
    `predict_proba` call). Each step costs 0.1-0.3 ms for the shipped model, against
    0.5-0.9 ms for all of them on one frame. It is due when the
    window has moved by about one of its resampled samples since the last one was cut
    (`period_s`, default `window_s / (n_frames - 1)` of the model: 0.11 s for the shipped
    model); a window moved by less holds nearly the same samples. `period_s` 0 classifies
    on every frame, all steps on the same frame (`prepare`, then `finish`).

    Args:
        model: the emotion model (window spec and feature set).
        smoother: smoothing strategy for this person's probabilities.
        decider: this person's label decision.
        max_fps: highest frame rate the buffer must hold a full window of, frames/s.
        period_s: shortest time between two windows, seconds (None: the model's spacing).
    """

    def __init__(
        self,
        model: EmotionModel,
        smoother: Smoother,
        decider: LabelDecider,
        max_fps: float,
        period_s: float | None = None,
    ) -> None:
        spec = model.window
        self.model = model
        self.smoother = smoother
        self.decider = decider
        self.buffer = SkeletonBuffer.for_spec(spec, max_fps)
        self.period_s = spec.window_s / (spec.n_frames - 1) if period_s is None else period_s
        if self.period_s < 0:
            raise ValueError(f"`period_s` must be >= 0 seconds, got {self.period_s}")
        self.since: float | None = None  # source time the person appeared
        self.last_seen: float | None = None
        self.decided = Decision(NO_PERSON)  # the decider's, before the novelty check
        self.unfamiliar = False  # the last window was unlike all training windows
        self.probabilities: ProbArr | None = None
        self.has_window = False
        self.cut_window: tuple[Window, float] | None = None  # cut, features not yet
        self.pending: tuple[npt.NDArray[np.float32], float] | None = None  # to classify
        self._window_t = -math.inf
        self._last_t = -math.inf

    def observe(self, person: PoseFrame | None, t_s: float) -> None:
        """Push this frame's joints (an empty row when the person is not in view)."""
        dt = t_s - self._last_t
        self._last_t = t_s
        self._dt = dt if math.isfinite(dt) else 0.0
        if person is None:
            self.buffer.push_empty(t_s)
            self.reset()
            return
        world, image, visibility = person.joints()
        self.buffer.push(world, image, visibility, t_s)
        self.last_seen = t_s
        if self.since is None:
            self.since = t_s
            self.decided, self.unfamiliar = Decision(COLLECTING), False

    def due(self, t_s: float) -> bool:
        """Whether to cut a new window on this frame (in view, nothing in progress, and the
        window moved by `period_s`, less half a frame, since the last one)."""
        if self.since is None or self.in_progress:
            return False
        return t_s - self._window_t >= self.period_s - 0.5 * self._dt

    @property
    def in_progress(self) -> bool:
        """A window is cut and not yet classified."""
        return self.cut_window is not None or self.pending is not None

    def cut(self, t_s: float) -> bool:
        """Cut the window ending now; True when there is one to compute features of.

        A window with too little visible movement resets the label to "collecting movement".
        """
        self._window_t = t_s
        window = self.buffer.window(self.model.window)
        if window is None:
            self.has_window = False
            self.smoother.reset()
            self.decider.reset()
            self.decided, self.unfamiliar, self.probabilities = Decision(COLLECTING), False, None
            return False
        self.cut_window = (window, t_s)
        return True

    def features(self) -> None:
        """The cut window's features, to classify (`pending`)."""
        assert self.cut_window is not None
        window, t_s = self.cut_window
        self.cut_window = None
        self.pending = (vectorize(window, self.model.feature_set), t_s)

    def prepare(self, t_s: float) -> bool:
        """`cut` and `features` at once; True when there is a vector to classify."""
        if not self.cut(t_s):
            return False
        self.features()
        return True

    def finish(self, proba: ProbArr) -> None:
        """Smooth and decide the probabilities of the pending window; a window the model
        finds unlike all its training windows (`EmotionModel.unfamiliar`) is shown as
        "uncertain", whatever its probabilities (`decided` keeps the decider's decision)."""
        assert self.pending is not None
        vector, t_s = self.pending
        self.pending = None
        self.has_window = True
        self.probabilities = self.smoother.update(proba, t_s)
        self.decided = self.decider.update(self.probabilities)
        unfamiliar = self.model.unfamiliar(vector)
        self.unfamiliar = unfamiliar is not None and bool(unfamiliar[0])

    @property
    def decision(self) -> Decision:
        """What is shown: the decider's decision, or "uncertain" for an unfamiliar window."""
        return Decision(UNCERTAIN) if self.unfamiliar else self.decided

    def progress(self, t_s: float) -> float:
        """Fraction of a window collected since the person appeared, [0, 1]."""
        if self.since is None:
            return 0.0
        if self.has_window:
            return 1.0
        collected = min(1.0, (t_s - self.since) / self.model.window.window_s)
        return min(collected, 0.99) if self.in_progress else collected

    def reset(self) -> None:
        """The person is out of view: forget the label, keep the buffer (time stays honest)."""
        self.since = None
        self.cut_window = None
        self.pending = None
        self.has_window = False
        self.smoother.reset()
        self.decider.reset()
        self.decided, self.unfamiliar, self.probabilities = Decision(NO_PERSON), False, None
        self._window_t = -math.inf


@dataclass(frozen=True, slots=True)
class Seen:
    """One person found in a frame, with their id."""

    id: int
    person: PoseFrame
    box: Box


class PeopleTracker:
    """Stable ids for the people found in each frame (norfair, IoU of image boxes).

    Args:
        fps: the source's nominal frame rate, frames/s (norfair counts in frames).
        lost_s: how long a person may be missed and keep their track, seconds.
        return_s: how long a lost person's id waits to be re-identified, seconds.
        max_distance: largest 1 - IoU for a box to match a track, (0, 1].
    """

    def __init__(
        self,
        fps: float,
        *,
        lost_s: float = 0.5,
        return_s: float = 3.0,
        max_distance: float = 0.8,
    ) -> None:
        from norfair.tracker import Tracker

        self.fps = max(1.0, fps)
        self.lost_frames = max(2, round(lost_s * self.fps))
        self.return_s = return_s
        self._tracker = Tracker(
            distance_function="iou",
            distance_threshold=max_distance,
            hit_counter_max=self.lost_frames,
            initialization_delay=0,
            reid_distance_function=_reid_distance,
            reid_distance_threshold=0.5,
            reid_hit_counter_max=max(2, round(return_s * self.fps)),
        )

    def update(self, people: Sequence[PoseFrame], image_wh: tuple[int, int]) -> list[Seen]:
        """The people found in this frame with their ids, in order of id."""
        from norfair.tracker import Detection

        w, h = image_wh
        detections = []
        for person in people:
            box = person_box(person)
            points = np.array([[box[0] * w, box[1] * h], [box[2] * w, box[3] * h]], np.float64)
            detections.append(Detection(points, data=(person, box)))
        tracked = self._tracker.update(detections)
        current = {id(d) for d in detections}
        seen = []
        for obj in tracked:
            last = obj.last_detection
            if last is not None and id(last) in current and obj.id is not None:
                person, box = last.data
                seen.append(Seen(int(obj.id), person, box))
        return sorted(seen, key=lambda s: s.id)


def _reid_distance(new: Any, old: Any) -> float:
    """ReID: 1 - IoU of the new track's box and the box the old track was last seen at."""
    a, b = new.last_detection.points, old.last_detection.points
    return 1.0 - _iou(a, b)


def _iou(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    x0, y0 = np.maximum(a[0], b[0])
    x1, y1 = np.minimum(a[1], b[1])
    inter = max(0.0, float(x1 - x0)) * max(0.0, float(y1 - y0))
    area = float(np.prod(a[1] - a[0]) + np.prod(b[1] - b[0])) - inter
    return inter / area if area > 0 else 0.0


def forget_absent(states: dict[int, PersonState], t_s: float, after_s: float) -> None:
    """Drop the states of people not seen for more than `after_s` seconds (frees buffers)."""
    for pid in [p for p, s in states.items() if s.last_seen is None or t_s - s.last_seen > after_s]:
        del states[pid]
