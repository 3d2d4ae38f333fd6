"""The processing loop's logic, on a fake clock with a fake pose stage (no wall-clock asserts)."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from realtime.capture import Frame, SourceFailed
from realtime.loop import (
    Analyzer,
    RecordSink,
    Tick,
    run_loop,
    stop_on_signals,
)
from realtime.smoothing import (
    CLASSIFIED,
    COLLECTING,
    NO_PERSON,
    STATES,
    LabelDecider,
    make_smoother,
)


def make_analyzer(model, clock, pose, smoothing: str = "none") -> Analyzer:
    return Analyzer(model, pose, make_smoother(smoothing), LabelDecider(0.6, 0.1), clock=clock)


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


def test_slow_pose_drops_stale_frames_and_latency_does_not_grow(tiny_model, fake_clock, fakes):
    """A 30 fps camera and a 100 ms pose stage: the loop takes the newest frame each time."""
    camera = fakes.Camera(fake_clock, fps=30.0, n_frames=600)
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock, delay_s=0.1))
    summary = run_loop(camera, analyzer)
    assert summary.reason == "end of video"
    assert summary.frames == len(camera.taken)
    assert summary.frames + summary.dropped == 600
    # each 100 ms tick skips ahead to the newest frame: 2 of every 3 frames are stale
    assert np.all(np.diff(camera.taken[:-1]) == 3)
    assert summary.dropped >= 2 * (summary.frames - 2)
    latency = np.array(summary.latencies_ms)
    # bounded by one pose stage plus one frame interval, from the first tick to the last
    assert latency.max() <= 100.0 + 1000 / 30 + 1e-6
    third = len(latency) // 3
    assert np.median(latency[-third:]) <= np.median(latency[:third]) + 1e-6


def test_fast_pose_drops_nothing(tiny_model, fake_clock, fakes):
    camera = fakes.Camera(fake_clock, fps=30.0, n_frames=90)
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock, delay_s=0.01))
    summary = run_loop(camera, analyzer)
    assert summary.frames == 90 and summary.dropped == 0
    assert camera.taken == list(range(90))


@pytest.mark.parametrize(
    ("kwargs", "frames", "reason"),
    [({"max_frames": 7}, 7, "max frames"), ({"duration_s": 1.0}, 30, "duration")],
)
def test_limits(tiny_model, fake_clock, kwargs, frames, reason, fakes):
    camera = fakes.Camera(fake_clock, fps=30.0, n_frames=300)
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock, delay_s=0.01))
    summary = run_loop(camera, analyzer, **kwargs)
    assert (summary.frames, summary.reason) == (frames, reason)


def test_summary_keeps_the_latest_latencies_only(tiny_model, fake_clock, fakes, monkeypatch):
    """Memory stays fixed on a long run: only the last MAX_LATENCIES latencies are kept."""
    import realtime.loop as loop

    monkeypatch.setattr(loop, "MAX_LATENCIES", 10)
    camera = fakes.Camera(fake_clock, fps=30.0, n_frames=40)
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock, delay_s=0.01))
    seen: list[float] = []
    summary = run_loop(camera, analyzer, on_tick=lambda f, t: seen.append(t.times.latency_ms))
    assert summary.frames == 40 and len(seen) == 40
    assert list(summary.latencies_ms) == seen[-10:]


def test_stop_event_ends_the_loop(tiny_model, fake_clock, fakes):
    stop = threading.Event()
    camera = fakes.Camera(fake_clock, fps=30.0, n_frames=300)
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock, delay_s=0.01))
    summary = run_loop(
        camera, analyzer, stop=stop, on_tick=lambda f, t: f.index == 4 and stop.set()
    )
    assert (summary.frames, summary.reason) == (5, "signal")


def test_annotators_and_sinks_get_every_tick(tiny_model, fake_clock, fakes):
    seen: list[tuple[str, int]] = []

    class Annotator:
        def annotate(self, scene, tick):
            scene[0, 0] = 255
            fake_clock.advance(0.001)
            return scene

    class Sink:
        def write(self, frame, tick: Tick):
            assert frame.image[0, 0, 0] == 255  # drawn before the sinks see it
            assert tick.times.draw_ms == pytest.approx(1.0)
            assert tick.decision.state in STATES
            seen.append(("sink", frame.index))

    camera = fakes.Camera(fake_clock, fps=30.0, n_frames=12)
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock, delay_s=0.01))
    run_loop(camera, analyzer, annotators=[Annotator()], sinks=[Sink()])
    assert seen == [("sink", i) for i in range(12)]


def test_source_failure_is_raised_after_the_loop(tiny_model, fake_clock, fakes):
    class Failing(fakes.Camera):
        def raise_if_failed(self):
            raise SourceFailed("camera 0 stopped delivering frames")

    camera = Failing(fake_clock, n_frames=5)
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock))
    with pytest.raises(SourceFailed, match="stopped delivering"):
        run_loop(camera, analyzer)


def test_record_sink_fills_dropped_frames_with_the_previous_one():
    written: list[tuple[int, int]] = []

    class Recorder:
        def write(self, image, count=1):
            written.append((int(image[0, 0, 0]), count))

    sink = RecordSink(Recorder())  # type: ignore[arg-type]
    for index in (3, 4, 7, 8):
        sink.write(Frame(np.full((2, 2, 3), index, np.uint8), index, index / 30, 0.0), None)  # type: ignore[arg-type]
    # 5 and 6 were dropped: the screen still showed frame 4 then
    assert written == [(3, 1), (4, 1), (4, 2), (7, 1), (8, 1)]
    assert sum(c for _, c in written) == 8 - 3 + 1


def test_stop_on_signals_turns_sigterm_into_stop():
    stop = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(stop):
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5.0)
        with pytest.raises(KeyboardInterrupt):  # a second signal interrupts for real
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before


def test_single_threaded_numerics_limits_blas_in_the_block():
    from threadpoolctl import threadpool_info

    from realtime.loop import single_threaded_numerics

    with single_threaded_numerics():
        assert {p["num_threads"] for p in threadpool_info()} == {1}


def test_screen_shows_every_frame_and_quits_on_request(tiny_model, fake_clock, fakes):
    class FakeScreen:
        def __init__(self):
            self.shown: list[int] = []

        def show(self, image):
            self.shown.append(int(image[0, 0, 0]))
            fake_clock.advance(0.002)

        def poll(self):
            return len(self.shown) == 6  # the user presses q on the sixth frame

    class Mark:
        def annotate(self, scene, tick):
            scene[0, 0] = tick.index + 1
            return scene

    screen = FakeScreen()
    ticks: list[Tick] = []
    camera = fakes.Camera(fake_clock, fps=30.0, n_frames=100)
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock, delay_s=0.01))
    summary = run_loop(
        camera, analyzer, annotators=[Mark()], screen=screen, on_tick=lambda f, t: ticks.append(t)
    )
    assert (summary.frames, summary.reason) == (6, "quit")
    assert screen.shown == [1, 2, 3, 4, 5, 6]  # annotated frames, in order
    assert ticks[0].times.display_ms == pytest.approx(2.0)
