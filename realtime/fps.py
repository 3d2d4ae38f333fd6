"""Processing rate over a sliding window of tick times."""

from __future__ import annotations

from collections import deque


class FpsMeter:
    """Frames per second over the last `window` ticks.

    The estimate is `(n - 1) / span`: n ticks span n - 1 intervals.

    Args:
        window: number of recent ticks used, >= 2.
    """

    def __init__(self, window: int = 30) -> None:
        if window < 2:
            raise ValueError(f"`window` must be >= 2 ticks, got {window}")
        self._ticks: deque[float] = deque(maxlen=window)

    def tick(self, now_s: float) -> float:
        """Record a tick at `now_s` (seconds, monotonic clock); returns the current fps."""
        self._ticks.append(now_s)
        return self.fps

    @property
    def fps(self) -> float:
        """Frames per second; 0 until two ticks are recorded."""
        if len(self._ticks) < 2:
            return 0.0
        span = self._ticks[-1] - self._ticks[0]
        return (len(self._ticks) - 1) / span if span > 0 else 0.0

    def reset(self) -> None:
        self._ticks.clear()
