"""Tests for benchmarks/run_all.py: commands, a failing benchmark, and the Markdown table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import common, run_all, soak


def bench(key: str) -> run_all.Bench:
    return next(b for b in run_all.BENCHES if b.key == key)


def test_commands_pass_quick_flags_and_the_model_only_where_taken(tmp_path: Path) -> None:
    model = tmp_path / "m.joblib"
    cmd = run_all.command(bench("frame_budget_1280x720"), tmp_path / "x.json", True, model)
    assert cmd[1:3] == ["-m", "benchmarks.frame_budget"]
    assert cmd[3:] == [
        "--size",
        "1280x720",
        "--duration",
        "10",
        "--model",
        str(model),
        "--out",
        str(tmp_path / "x.json"),
    ]
    cmd = run_all.command(bench("feature_speed"), tmp_path / "f.json", False, model)
    assert "--model" not in cmd and "--quick" not in cmd


def test_every_benchmark_module_accepts_its_flags() -> None:
    """`--help` parses for each module, and each one documents the flags run_all passes."""
    for b in run_all.BENCHES:
        done = subprocess.run(
            [sys.executable, "-m", f"benchmarks.{b.module}", "--help"],
            cwd=run_all.REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        flags = [a for a in (*b.args, *b.quick_args, "--out") if a.startswith("--")]
        if b.takes_model:
            flags.append("--model")
        for flag in flags:
            assert flag in done.stdout, f"{b.module} --help lacks {flag}"


def test_a_benchmark_that_fails_is_listed_with_its_error(tmp_path: Path) -> None:
    fake = run_all.Bench("retrain_time", "retrain_time", "x", ("--data", str(tmp_path / "no")))
    entry = run_all.run_bench(fake, tmp_path, quick=False, model=None)
    assert entry["exit_code"] == 2 and "result" not in entry
    assert entry["error"].startswith("error: no motion capture at")
    results = {
        "quick": False,
        "benchmarks": {"retrain_time": entry},
        "wall_s": 1.0,
        "finished": "now",
        "machine": common.machine(),
        "machine_before": common.machine(),
    }
    table = run_all.markdown(results)
    assert "- retrain_time: did not run: error: no motion capture at" in table
    assert table.startswith("| Benchmark | Figure | Median | Spread | Target | Result |")


def test_soak_rows_carry_the_checks() -> None:
    samples = [soak.Sample(0.5 * k, 250 * k, 100.0, 20) for k in range(40)]
    samples[-1] = soak.Sample(20.0, 9990, 120.0, 20)  # 20 MB more at the end
    r = soak.analyse(samples, np.full(10000, 30.0), 10000)
    rows = run_all.rows_soak({**r, "frames_processed": 10000})
    assert [row[5] for row in rows] == ["**FAIL**", "pass", "pass"]
    assert rows[0][2] == "+20.00 / +20.00 MB"


def test_main_rejects_a_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_all.main(["--model", str(tmp_path / "absent.joblib")]) == 2
    assert (
        capsys.readouterr().err.strip() == f"error: model not found: {tmp_path / 'absent.joblib'}"
    )
