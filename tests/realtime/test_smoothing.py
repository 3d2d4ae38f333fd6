"""Probability smoothing strategies and the label decision with hysteresis."""

from __future__ import annotations

import numpy as np
import pytest

from realtime.smoothing import (
    ExponentialSmoothing,
    LabelDecider,
    MeanSmoothing,
    NoSmoothing,
    make_smoother,
)
from realtime.tick import CLASSIFIED, UNCERTAIN


def test_none_passes_through():
    p = np.array([0.2, 0.8])
    assert np.array_equal(NoSmoothing().update(p, 0.0), p)


def test_ema_first_value_then_time_constant():
    ema = ExponentialSmoothing(tau_s=1.0)
    assert ema.update(np.array([1.0, 0.0]), 0.0) == pytest.approx([1.0, 0.0])
    # after one time constant, 1 - 1/e of the step
    out = ema.update(np.array([0.0, 1.0]), 1.0)
    assert out[1] == pytest.approx(1 - np.exp(-1))
    assert out.sum() == pytest.approx(1.0)


def test_ema_is_frame_rate_invariant():
    """The same step change smoothed at 15 and at 60 updates per second ends alike."""
    results = []
    for fps in (15, 60):
        ema = ExponentialSmoothing(tau_s=0.5)
        ema.update(np.array([1.0, 0.0]), 0.0)
        for k in range(1, fps + 1):  # one second of the new value
            out = ema.update(np.array([0.0, 1.0]), k / fps)
        results.append(out[1])
    assert results[0] == pytest.approx(results[1], abs=1e-9)
    assert results[0] == pytest.approx(1 - np.exp(-2.0))


def test_ema_reset_forgets():
    ema = ExponentialSmoothing(0.5)
    ema.update(np.array([1.0, 0.0]), 0.0)
    ema.reset()
    assert ema.update(np.array([0.0, 1.0]), 0.1) == pytest.approx([0.0, 1.0])


def test_mean_of_last_k():
    mean = MeanSmoothing(k=3)
    outs = [mean.update(np.array([v, 1 - v]), i) for i, v in enumerate([1.0, 0.0, 0.5, 0.5])]
    assert outs[0] == pytest.approx([1.0, 0.0])
    assert outs[1] == pytest.approx([0.5, 0.5])
    assert outs[3] == pytest.approx([1 / 3, 2 / 3])  # (0 + .5 + .5) / 3: the 1.0 is out
    mean.reset()
    assert mean.update(np.array([0.9, 0.1]), 9) == pytest.approx([0.9, 0.1])


@pytest.mark.parametrize(
    ("name", "kwargs", "kind"),
    [
        ("ema", {"tau_s": 0.3}, ExponentialSmoothing),
        ("mean", {"k": 4}, MeanSmoothing),
        ("none", {}, NoSmoothing),
    ],
)
def test_make_smoother_by_name(name, kwargs, kind):
    assert isinstance(make_smoother(name, **kwargs), kind)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: make_smoother("kalman"),
            r"`smoothing` must be one of \['ema', 'mean', 'none'\], got 'kalman'",
        ),
        (lambda: ExponentialSmoothing(0), "`tau_s` must be > 0 seconds, got 0"),
        (lambda: MeanSmoothing(0), "`k` must be >= 1 classifications, got 0"),
        (lambda: LabelDecider(0.0), r"`min_confidence` must be in \(0, 1\], got 0.0"),
        (lambda: LabelDecider(0.4, 0.5), r"`margin` must be in \[0, min_confidence=0.4\), got 0.5"),
    ],
)
def test_bad_settings(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_decider_uncertain_below_threshold():
    d = LabelDecider(min_confidence=0.5, margin=0.1)
    assert d.update(np.array([0.45, 0.3, 0.25])).state == UNCERTAIN
    decision = d.update(np.array([0.55, 0.3, 0.15]))
    assert (decision.state, decision.label) == (CLASSIFIED, 0)


def test_decider_does_not_flicker_between_close_classes():
    d = LabelDecider(min_confidence=0.4, margin=0.1)
    labels = []
    for k in range(40):  # two classes trading a small lead back and forth
        a = 0.5 + (0.04 if k % 2 else -0.04)
        labels.append(d.update(np.array([a, 1 - a])).label)
    assert len(set(labels)) == 1 and labels[0] is not None  # whichever came first stays
    other = 1 - labels[0]
    clear = np.array([0.2, 0.2])
    clear[other] = 0.8
    assert d.update(clear).label == other  # a clear lead does switch


def test_decider_holds_a_label_just_under_the_threshold_then_drops_it():
    d = LabelDecider(min_confidence=0.5, margin=0.1)
    assert d.update(np.array([0.6, 0.2, 0.2])).label == 0
    held = d.update(np.array([0.45, 0.3, 0.25]))  # under 0.5 but within the margin
    assert (held.state, held.label) == (CLASSIFIED, 0)
    assert d.update(np.array([0.35, 0.33, 0.32])).state == UNCERTAIN
    d.reset()
    assert d.update(np.array([0.45, 0.3, 0.25])).state == UNCERTAIN
