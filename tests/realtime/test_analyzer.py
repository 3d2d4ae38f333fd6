"""Analyzer.step: states, windows from the model, timestamps and stage times, on a fake clock."""

from __future__ import annotations

import numpy as np
import pytest

from realtime.capture import Frame
from realtime.tick import CLASSIFIED, COLLECTING, NO_PERSON
from tests.realtime.conftest import make_analyzer


def frame_at(k: int, fps: float, clock) -> Frame:
    t = k / fps
    return Frame(np.zeros((120, 160, 3), np.uint8), k, t, clock())


def test_states_follow_the_person(tiny_model, fake_clock, fakes):
    """nobody -> no person; person for less than a window -> collecting; then classified."""
    script = lambda t: None if t < 0.3 else "lively"  # noqa: E731
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock, 0.01, script))
    ticks = [analyzer.step(frame_at(k, 30.0, fake_clock)) for k in range(45)]
    states = [t.decision.state for t in ticks]
    assert states[:9] == [NO_PERSON] * 9  # t < 0.3 s
    first_seen = 9
    # classification starts once the window holds enough visible movement (the model's
    # window spec: min_coverage of window_s), never before
    started = states.index(CLASSIFIED)
    needed = int(np.ceil(tiny_model.window.min_coverage * tiny_model.window.window_s * 30))
    assert set(states[first_seen:started]) == {COLLECTING}
    assert started >= first_seen + needed - 1
    assert set(states[started:]) == {CLASSIFIED}
    assert tiny_model.classes[ticks[-1].decision.label] == "lively"
    assert all(
        t.probabilities is None for t in ticks if t.decision.state in (NO_PERSON, COLLECTING)
    )
    for t in ticks:
        if t.probabilities is not None:
            assert t.probabilities.sum() == pytest.approx(1.0)
    progress = [t.progress for t in ticks[first_seen:started]]
    assert progress == sorted(progress) and 0 <= progress[0] < progress[-1] < 1
    assert ticks[started].progress == 1.0


def test_calm_and_lively_are_told_apart(tiny_model, fake_clock, fakes):
    for motion in ("calm", "lively"):
        analyzer = make_analyzer(
            tiny_model, fake_clock, fakes.Pose(fake_clock, 0.01, lambda t, m=motion: m)
        )
        tick = [analyzer.step(frame_at(k, 30.0, fake_clock)) for k in range(40)][-1]
        assert tick.decision.state == CLASSIFIED
        assert tiny_model.classes[tick.decision.label] == motion


def test_person_leaving_resets_to_no_person(tiny_model, fake_clock, fakes):
    script = lambda t: "lively" if t < 1.0 else None  # noqa: E731
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock, 0.01, script), "ema")
    ticks = [analyzer.step(frame_at(k, 30.0, fake_clock)) for k in range(45)]
    assert ticks[29].decision.state == CLASSIFIED
    assert {t.decision.state for t in ticks[30:]} == {NO_PERSON}
    assert all(t.person is None and t.probabilities is None for t in ticks[30:])


def test_window_settings_come_from_the_model(tiny_model, fake_clock, fakes):
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock))
    # the buffer holds a full model window at up to 240 fps
    assert analyzer.buffer.capacity >= tiny_model.window.window_s * 240
    # and classification starts exactly once a model window is covered
    ticks = [analyzer.step(frame_at(k, 30.0, fake_clock)) for k in range(30)]
    first = next(t for t in ticks if t.decision.state != COLLECTING)
    assert first.t_s == pytest.approx(tiny_model.window.window_s, abs=1 / 30 + 1e-9)


def test_pose_timestamps_strictly_increase_in_ms(tiny_model, fake_clock, fakes):
    pose = fakes.Pose(fake_clock)
    analyzer = make_analyzer(tiny_model, fake_clock, pose)
    # 2 kHz source: consecutive frames round to the same millisecond
    for k in range(10):
        analyzer.step(Frame(np.zeros((120, 160, 3), np.uint8), k, 5.0 + k * 0.0005, fake_clock()))
    assert np.all(np.diff(pose.timestamps_ms) >= 1)
    assert pose.timestamps_ms[0] == 5000


def test_stage_times_and_latency_use_the_injected_clock(tiny_model, fake_clock, fakes):
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock, delay_s=0.025))
    grabbed = fake_clock()
    fake_clock.advance(0.004)  # the frame waited 4 ms in the mailbox
    tick = analyzer.step(Frame(np.zeros((120, 160, 3), np.uint8), 0, 0.0, grabbed))
    assert tick.times.wait_ms == pytest.approx(4.0)
    assert tick.times.pose_ms == pytest.approx(25.0)
    assert tick.times.latency_ms == pytest.approx(29.0)  # nothing else moves the fake clock
    assert tick.times.non_pose_ms == pytest.approx(0.0)


def test_a_window_unlike_the_training_data_is_shown_uncertain(tiny_model) -> None:
    """The novelty check overrides a confident label: the same probabilities give a label
    when the model knows the window and "uncertain" when it does not."""
    from realtime.people import PersonState
    from realtime.smoothing import LabelDecider, make_smoother
    from realtime.tick import CLASSIFIED, UNCERTAIN

    class Novel:
        def __init__(self, model, flag):
            self._model, self._flag = model, flag

        def __getattr__(self, name):
            return getattr(self._model, name)

        def unfamiliar(self, vectors):
            return np.array([self._flag])

    confident = np.zeros(len(tiny_model.classes))
    confident[0] = 1.0
    seen = {}
    for flag in (False, True):
        state = PersonState(
            Novel(tiny_model, flag), make_smoother("none"), LabelDecider(), 30.0, 0.0
        )
        state.pending = (np.zeros(tiny_model.n_features, np.float32), 1.0)
        state.finish(confident)
        seen[flag] = state.decision.state
    assert seen == {False: CLASSIFIED, True: UNCERTAIN}
