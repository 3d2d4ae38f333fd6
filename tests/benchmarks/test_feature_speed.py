"""Tests for benchmarks/feature_speed.py (figures are printed, never asserted on)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks import common, feature_speed, run_all
from pipeline.features import DEFAULT_FEATURE_SET

pytest.importorskip("pandas", reason="pandas is a dev requirement (requirements-dev.txt)")


def test_small_run_writes_every_figure_and_the_table_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "feature_speed.json"
    argv = ["--windows", "10", "--repeats", "3", "--warmup", "1", "--out", str(out)]
    assert feature_speed.main(argv) == 0
    r = json.loads(out.read_text())
    assert set(r["per_window_ms"]) == {"study", "study+dataframe", "seed", DEFAULT_FEATURE_SET}
    assert r["windows"]["n"] == 10 and r["check"]["n_features_seed"] == 10 * 21
    assert r["per_window_ms"]["study"]["all_calls"]["n"] == 30
    for pair in ("seed vs study", f"{DEFAULT_FEATURE_SET} vs study", "seed vs study+dataframe"):
        s = r["speedup"][pair]
        assert s["n"] == 3 and s["min"] <= s["median"] <= s["max"]
        assert s["met"] == (s["median"] >= feature_speed.TARGET_SPEEDUP)
    rows = run_all.rows_feature_speed(r)
    assert len(rows) == 4 + 4 and all(len(row) == 6 for row in rows)
    assert "speed-up seed vs study" in capsys.readouterr().out


def test_study_and_seed_must_agree_on_every_window() -> None:
    from benchmarks.study_reference import window_frame

    windows, _ = common.sample_windows(4, feature_speed.SPEC, 0.2, shared=False)
    frames = [window_frame(w) for w in windows[:4]]
    assert feature_speed.check_same_vectors(windows[:4], frames) < 1e-6
    with pytest.raises(RuntimeError, match="disagree"):
        feature_speed.check_same_vectors(windows[:4], frames[::-1])


@pytest.mark.parametrize("argv", [["--repeats", "2"], ["--windows", "5"], ["--warmup", "0"]])
def test_bad_arguments_give_one_line_and_exit_2(argv, capsys: pytest.CaptureFixture[str]) -> None:
    assert feature_speed.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: need --windows >= 10")


def test_missing_pandas_gives_one_line(monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    assert feature_speed.main(["--quick"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install -r requirements-dev.txt" in err[0]
