"""Tests for benchmarks/soak.py: sampling helpers, the checks, and the app's command line."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pytest

from benchmarks import soak


def test_jsonl_tail_counts_only_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / ".ticks.jsonl.~posemotion-12345.abcdefgh.partial"  # the app's temporary
    tail = soak.JsonlTail(tmp_path / "ticks.jsonl", 12345)
    assert tail.update() == 0  # not created yet
    path.write_bytes(b'{"frame": 0}\n{"fra')
    assert tail.update() == 1
    with open(path, "ab") as f:
        f.write(b'me": 1}\n{"frame": 2}\n')
    assert tail.update() == 3
    assert tail.update() == 3


def test_rss_and_fds_of_this_process() -> None:
    if not soak.can_sample():
        pytest.skip("no /proc and no psutil on this platform")
    before = soak.open_fds(os.getpid())
    with open(__file__, "rb"):
        assert soak.open_fds(os.getpid()) == before + 1
    assert 1.0 < soak.rss_mb(os.getpid()) < 1e6


def samples(rss_end: float, fds_end: int, n: int = 40) -> list[soak.Sample]:
    """A steady run: 100 MB and 20 fds from frame 500 on, then the given end values."""
    out = [soak.Sample(0.5 * k, 250 * k, 100.0, 20) for k in range(n)]
    out[-1] = soak.Sample(0.5 * n, 250 * (n - 1), rss_end, fds_end)
    return out


def test_analyse_passes_a_steady_run() -> None:
    latency = np.full(10000, 30.0) + np.random.default_rng(0).normal(0, 1, 10000)
    r = soak.analyse(samples(104.0, 20), latency, 10000)
    assert r["checks"] == {"rss_within_10mb": True, "no_fd_leak": True, "no_latency_growth": True}
    assert r["rss_mb"]["growth"] == pytest.approx(4.0)
    assert r["rss_mb"]["baseline_at_frame"] == 500
    assert abs(r["latency"]["slope_ms_per_1000_frames"]) < 0.1


@pytest.mark.parametrize(
    ("rss_end", "fds_end", "growth", "failed"),
    [
        (111.0, 20, 0.0, "rss_within_10mb"),
        (100.0, 23, 0.0, "no_fd_leak"),
        (100.0, 20, 15.0, "no_latency_growth"),
    ],
)
def test_analyse_flags_each_kind_of_leak(rss_end, fds_end, growth, failed) -> None:
    latency = 30.0 + np.linspace(0.0, growth, 10000)  # latency creeping up by `growth` ms
    checks = soak.analyse(samples(rss_end, fds_end), latency, 10000)["checks"]
    assert [k for k, ok in checks.items() if not ok] == [failed]


def test_rss_trend_is_measured_once_settled() -> None:
    """A start-up bump (frames < 1000) is left out; a creep of 0.5 MB/1000 frames is seen."""
    run = [soak.Sample(0.5 * k, 250 * k, 100.0 + 0.5 * 0.25 * k, 20) for k in range(40)]
    run[3] = soak.Sample(1.5, 750, 180.0, 20)
    r = soak.analyse(run, np.full(10000, 30.0), 10000)
    assert r["rss_mb"]["slope_mb_per_1000_frames_from_frame_1000"] == pytest.approx(0.5)


def test_a_drop_after_the_baseline_does_not_hide_growth() -> None:
    run = samples(95.0, 20)  # 5 MB below the baseline at the end ...
    run[20] = soak.Sample(10.0, 5000, 80.0, 20)  # ... but 15 MB above its low point
    r = soak.analyse(run, np.full(10000, 30.0), 10000)
    assert r["rss_mb"]["growth"] == pytest.approx(-5.0)
    assert r["rss_mb"]["growth_from_min"] == pytest.approx(15.0)
    assert not r["checks"]["rss_within_10mb"]


def test_shutdown_sample_is_not_the_end() -> None:
    """After the last frame the app exits, freeing memory and closing files: not counted."""
    run = [*samples(101.0, 20), soak.Sample(30.0, 10000, 40.0, 3)]
    r = soak.analyse(run, np.full(10000, 30.0), 10000)
    assert r["rss_mb"]["end"] == 101.0 and r["rss_mb"]["at_exit"] == 40.0
    assert r["fds"]["end"] == 20 and r["fds"]["at_exit"] == 3
    assert r["checks"]["rss_within_10mb"] and r["checks"]["no_fd_leak"]


def test_analyse_needs_enough_frames() -> None:
    with pytest.raises(RuntimeError, match="only 900 frames processed"):
        soak.analyse(samples(100.0, 20), np.full(900, 30.0), 10000)


def test_app_command_is_accepted_by_the_realtime_cli(tmp_path: Path) -> None:
    """The flags soak passes exist in `python -m realtime` and mean what soak wants."""
    pytest.importorskip("realtime.cli")
    from realtime.cli import build_parser
    from realtime.config import RealtimeConfig

    for video in (None, tmp_path / "clip.mp4"):
        args = argparse.Namespace(video=video, frames=10000, model=tmp_path / "m.joblib")
        cmd = soak.app_command(args, tmp_path / "ticks.jsonl")
        assert cmd[1:3] == ["-m", "realtime"]
        config = RealtimeConfig.from_args(build_parser().parse_args(cmd[3:]))
        assert config.loop and config.headless and not config.realtime
        assert config.max_frames == 10000 and config.jsonl == str(tmp_path / "ticks.jsonl")
        assert config.model == tmp_path / "m.joblib"
        assert config.demo == (video is None) and config.video == video


def test_main_rejects_too_few_frames(capsys: pytest.CaptureFixture[str]) -> None:
    assert soak.main(["--frames", "100"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: need --frames >= 1500")


def test_the_tail_follows_the_file_the_app_writes_while_it_runs(tmp_path: Path) -> None:
    """The app writes its JSONL under a temporary name until it finishes: the soak must
    count lines there, or it sees no frames at all while the app runs."""
    from realtime.sinks.jsonl import JsonlWriter

    target = tmp_path / "ticks.jsonl"
    with JsonlWriter(target) as writer:
        writer.write({"frame": 0})
        writer.write({"frame": 1})
        tail = soak.JsonlTail(target, os.getpid())
        assert tail.update() == 2
    assert target.read_text().count("\n") == 2
