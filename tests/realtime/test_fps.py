"""Processing-rate meter."""

from __future__ import annotations

import pytest

from realtime.fps import FpsMeter


def test_counts_intervals_not_ticks():
    meter = FpsMeter(window=10)
    assert meter.fps == 0.0
    for k in range(5):
        meter.tick(k / 20)  # 5 ticks 50 ms apart: 4 intervals in 0.2 s
    assert meter.fps == pytest.approx(20.0)


def test_sliding_window_follows_a_change():
    meter = FpsMeter(window=5)
    t = 0.0
    for _ in range(10):
        t += 1 / 10
        meter.tick(t)
    for _ in range(5):
        t += 1 / 30
        fps = meter.tick(t)
    assert fps == pytest.approx(30.0)
    meter.reset()
    assert meter.fps == 0.0


def test_window_must_hold_two_ticks():
    with pytest.raises(ValueError, match="`window` must be >= 2 ticks, got 1"):
        FpsMeter(1)
