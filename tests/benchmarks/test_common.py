"""Tests for benchmarks/common.py: summary statistics and the machine description."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import common


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
