"""Tests for benchmarks/common.py (summary statistics, the machine description) and
benchmarks/runner.py (child processes)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import common, runner


def test_summarise_median_spread_and_count() -> None:
    s = common.summarise([4.0, 1.0, 3.0, 2.0, 100.0])
    assert s["median"] == 3.0 and s["min"] == 1.0 and s["max"] == 100.0 and s["n"] == 5
    assert s["q1"] == 2.0 and s["q3"] == 4.0 and s["iqr"] == 2.0
    assert s["p95"] == pytest.approx(np.percentile([1, 2, 3, 4, 100], 95), abs=1e-4)


@pytest.mark.parametrize(
    ("values", "match"),
    [([], "at least one measurement"), ([1.0, float("nan")], "must be finite")],
)
def test_summarise_rejects_empty_or_non_finite(values: list[float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        common.summarise(values)


def test_ratio_summary_pairs_repeats() -> None:
    # baseline 10, 20, 30 s against ours 1, 4, 3 s: speed-ups 10, 5, 10
    s = common.ratio_summary([10.0, 20.0, 30.0], [1.0, 4.0, 3.0])
    assert s["median"] == 10.0 and s["min"] == 5.0 and s["max"] == 10.0 and s["n"] == 3


@pytest.mark.parametrize(
    ("baseline", "ours", "match"),
    [
        ([1.0, 2.0], [1.0], "one baseline and one own time per repeat"),
        ([1.0], [0.0], "must be > 0"),
    ],
)
def test_ratio_summary_rejects_bad_input(baseline, ours, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        common.ratio_summary(baseline, ours)


def test_cpu_model_and_ram_from_proc_files(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Test CPU @ 2.00GHz\nflags\t: x\n")
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16384000 kB\nMemFree: 1 kB\n")
    assert common.cpu_model(cpuinfo) == "Test CPU @ 2.00GHz"
    assert common.ram_gb(meminfo) == pytest.approx(16.8, abs=0.05)
    assert common.ram_gb(tmp_path / "absent") is None


def test_machine_names_cpu_python_and_packages() -> None:
    m = common.machine()
    assert m["cpu_count"] >= 1 and m["python"].count(".") == 2
    assert m["packages"]["numpy"] == np.__version__
    assert "CPUs usable" in common.machine_line(m)


def test_machine_line_gives_the_load_before_and_after() -> None:
    m = {**common.machine(), "load_average": [1.0, 0.5, 0.25], "load_average_before": [2, 1, 0]}
    line = common.machine_line(m)
    assert line.endswith(
        "; load average (2.00, 1.00, 0.00) at the start, (1.00, 0.50, 0.25) at the end"
    )


def test_speedup_says_whether_the_median_meets_the_target() -> None:
    s = common.speedup([10.0, 20.0, 30.0], [1.0, 4.0, 3.0], target=10.0)
    assert s["median"] == 10.0 and s["target"] == 10.0 and s["met"]
    assert not common.speedup([10.0, 20.0, 30.0], [1.0, 4.0, 3.0], target=10.5)["met"]
    assert common.fmt_speedup(s, 0) == "10 x [5-10] (target >= 10x: met)"


def test_time_each_times_every_item_in_order() -> None:
    seen: list[int] = []
    times = common.time_each(seen.append, range(5))
    assert seen == [0, 1, 2, 3, 4] and len(times) == 5 and all(t >= 0 for t in times)


def test_sample_windows_picks_n_windows_across_the_clips() -> None:
    from benchmarks.feature_speed import SPEC

    windows, source = common.sample_windows(60, SPEC, 0.2, shared=False)
    assert len(windows) == 60 and source.startswith("synthetic movement (2 clips)")
    assert all(w.world.shape == (SPEC.n_frames, 13, 3) for w in windows)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("loading\nerror: no model at x\nstopped\n", "error: no model at x"),
        ("Traceback ...\n  File x\nKeyError: 'a'\n\n", "KeyError: 'a'"),
        ("", "nothing"),
    ],
)
def test_last_error_line(output: str, expected: str) -> None:
    assert runner.last_error_line(output, "nothing") == expected


def test_shown_command_reads_as_typed_in_the_repository() -> None:
    cmd = [sys.executable, str(common.REPO_ROOT / "train.py"), "--out", "/tmp/xyz/m.joblib"]
    assert runner.shown_command(cmd, "/tmp/xyz") == "python train.py --out <tmp>/m.joblib"


def test_run_logged_keeps_the_output_and_the_exit_code(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    code, seconds = runner.run_logged(
        [sys.executable, "-c", "import sys; print('hello'); sys.exit('error: bad')"], log
    )
    assert code == 1 and seconds > 0
    assert log.read_text().splitlines() == ["hello", "error: bad"]
    with pytest.raises(RuntimeError, match=r"took longer than 0\.2 s"):
        runner.run_logged([sys.executable, "-c", "import time; time.sleep(30)"], log, 0.2)
