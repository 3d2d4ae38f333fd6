"""Temporal smoothing of class probabilities, and the label decision with hysteresis.

The classifier runs on every tick; its raw probabilities jitter from one window to the
next. A smoothing strategy (`make_smoother`: "ema", "mean" or "none") averages them over
time, and `LabelDecider` turns the result into what is shown: an emotion only when its
smoothed probability is at least `min_confidence`, "uncertain" otherwise, and a change of
label only when the new class leads the shown one by `margin` (so the label does not
flicker between two close classes). The shown states are defined in `realtime.tick`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final, Protocol

import numpy as np

from pipeline.validate import check_positive
from realtime.tick import CLASSIFIED, UNCERTAIN, Decision, ProbArr


class Smoother(Protocol):
    """A smoothing strategy: `update` per classification, `reset` when the stream breaks."""

    def update(self, proba: ProbArr, t_s: float) -> ProbArr:
        """(C,) raw probabilities at source time `t_s` (seconds) -> (C,) smoothed."""

    def reset(self) -> None:
        """Forget the history (nobody in view, or the window became unusable)."""


class NoSmoothing:
    """Passes the raw probabilities through."""

    def update(self, proba: ProbArr, t_s: float) -> ProbArr:
        return np.asarray(proba, dtype=np.float64)

    def reset(self) -> None:
        pass


class ExponentialSmoothing:
    """Exponential moving average with a time constant, so it behaves alike at any fps.

    Each update moves the state by `1 - exp(-dt / tau_s)` of the way to the new value,
    `dt` being the source time since the previous update; the first update is taken as is.

    Args:
        tau_s: time constant, seconds (about 63% of a step change after `tau_s`).
    """

    def __init__(self, tau_s: float = 0.5) -> None:
        self.tau_s = check_positive("tau_s", tau_s, "seconds")
        self._state: ProbArr | None = None
        self._t_s = 0.0

    def update(self, proba: ProbArr, t_s: float) -> ProbArr:
        proba = np.asarray(proba, dtype=np.float64)
        if self._state is None or self._state.shape != proba.shape:
            self._state = proba.copy()
        else:
            alpha = 1.0 - math.exp(-max(t_s - self._t_s, 0.0) / self.tau_s)
            self._state += alpha * (proba - self._state)
        self._t_s = t_s
        return self._state.copy()

    def reset(self) -> None:
        self._state = None


class MeanSmoothing:
    """Mean of the last `k` probability vectors (a preallocated ring, no allocation per tick).

    Args:
        k: number of classifications averaged, >= 1.
    """

    def __init__(self, k: int = 10) -> None:
        if k < 1:
            raise ValueError(f"`k` must be >= 1 classifications, got {k}")
        self.k = k
        self._ring: ProbArr | None = None
        self._next = 0
        self._size = 0

    def update(self, proba: ProbArr, t_s: float) -> ProbArr:
        proba = np.asarray(proba, dtype=np.float64)
        if self._ring is None or self._ring.shape[1] != proba.shape[0]:
            self._ring = np.zeros((self.k, proba.shape[0]), np.float64)
            self._next = self._size = 0
        self._ring[self._next] = proba
        self._next = (self._next + 1) % self.k
        self._size = min(self._size + 1, self.k)
        mean: ProbArr = self._ring[: self._size].mean(axis=0)
        return mean

    def reset(self) -> None:
        self._next = self._size = 0


SMOOTHERS: Final[dict[str, Callable[[float, int], Smoother]]] = {
    "ema": lambda tau_s, k: ExponentialSmoothing(tau_s),
    "mean": lambda tau_s, k: MeanSmoothing(k),
    "none": lambda tau_s, k: NoSmoothing(),
}


def make_smoother(name: str, *, tau_s: float = 0.5, k: int = 10) -> Smoother:
    """The smoothing strategy called `name` ("ema" uses `tau_s`, "mean" uses `k`)."""
    try:
        factory = SMOOTHERS[name]
    except KeyError:
        raise ValueError(f"`smoothing` must be one of {sorted(SMOOTHERS)}, got {name!r}") from None
    return factory(tau_s, k)


class LabelDecider:
    """Smoothed probabilities -> shown label, with a confidence threshold and hysteresis.

    Args:
        min_confidence: smallest smoothed probability shown as an emotion, (0, 1].
        margin: how far a new class must lead the shown one to replace it, and how far the
            shown one may fall under `min_confidence` before it is dropped, [0, min_confidence).
    """

    def __init__(self, min_confidence: float = 0.4, margin: float = 0.1) -> None:
        if not 0.0 < min_confidence <= 1.0:
            raise ValueError(f"`min_confidence` must be in (0, 1], got {min_confidence}")
        if not 0.0 <= margin < min_confidence:
            raise ValueError(
                f"`margin` must be in [0, min_confidence={min_confidence}), got {margin}"
            )
        self.min_confidence = min_confidence
        self.margin = margin
        self._current: int | None = None

    def update(self, proba: ProbArr) -> Decision:
        """Decide from (C,) smoothed probabilities."""
        top = int(np.argmax(proba))
        p_top = float(proba[top])
        current = self._current
        if current is None:
            if p_top >= self.min_confidence:
                current = top
        elif (
            top != current
            and p_top >= self.min_confidence
            and (p_top >= float(proba[current]) + self.margin)
        ):
            current = top
        elif float(proba[current]) < self.min_confidence - self.margin:
            current = None
        self._current = current
        if current is None:
            return Decision(UNCERTAIN)
        return Decision(CLASSIFIED, current)

    def reset(self) -> None:
        self._current = None
