"""The processing loop's logic, on a fake clock with a fake pose stage (no wall-clock asserts)."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from realtime.capture import SourceFailed
from realtime.loop import run_loop, stop_on_signals
from realtime.tick import STATES, Tick
from tests.realtime.conftest import make_analyzer


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


class _Counting:
    """An annotator that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def annotate(self, scene, tick):
        self.calls += 1
        return scene


class _Sink:
    def __init__(self, wants_image: bool | None) -> None:
        if wants_image is not None:
            self.wants_image = wants_image
        self.frames = 0

    def write(self, frame, tick):
        self.frames += 1


@pytest.mark.parametrize(
    ("sinks", "draw", "drawn"),
    [
        ([], None, False),  # headless, nothing keeps the image: no drawing
        ([False], None, False),  # JSONL only
        ([False, True], None, True),  # a recording (or a browser watching)
        ([None], None, True),  # a sink that does not say: assumed to want it
        ([False], True, True),  # forced (benchmarks)
        ([True], False, False),
    ],
)
def test_overlay_is_drawn_only_when_something_uses_the_image(
    tiny_model, fake_clock, fakes, sinks, draw, drawn
):
    camera = fakes.Camera(fake_clock, fps=30.0, n_frames=12)
    analyzer = make_analyzer(tiny_model, fake_clock, fakes.Pose(fake_clock, delay_s=0.01))
    annotator = _Counting()
    outs = [_Sink(w) for w in sinks]
    summary = run_loop(camera, analyzer, annotators=[annotator], sinks=outs, draw=draw)
    assert annotator.calls == (summary.frames if drawn else 0)
    assert all(s.frames == summary.frames for s in outs)


def test_stop_on_signals_turns_sighup_into_stop():
    """A closed terminal or SSH session (SIGHUP) finalises the outputs like SIGTERM."""
    stop = threading.Event()
    before = signal.getsignal(signal.SIGHUP)
    with stop_on_signals(stop):
        os.kill(os.getpid(), signal.SIGHUP)
        assert stop.wait(1.0)
    assert signal.getsignal(signal.SIGHUP) is before
