"""Tests for benchmarks/pipeline_speed.py (figures are printed, never asserted on)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import pipeline_speed, run_all
from pipeline.features import DEFAULT_FEATURE_SET, FEATURE_SETS


def test_run_without_pose_writes_every_figure_and_the_table_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pipeline_speed.json"
    assert pipeline_speed.main(["--no-pose", "--ticks", "100", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert set(r["vectorize"]) == set(FEATURE_SETS) and r["windows"]["n"] == 1000
    assert all(v["ms"]["n"] == 1000 for v in r["vectorize"].values())
    assert r["tick_push_window"]["ms"]["n"] == 100 and "pose_video_mode" not in r
    assert r["machine"]["cpu_count"] >= 1 and "load_average_before" in r["machine"]
    rows = run_all.rows_pipeline_speed(r)
    assert len(rows) == len(FEATURE_SETS) + 1 and all(len(row) == 6 for row in rows)
    checked = [row for row in rows if row[4]]
    assert [row[1] for row in checked] == [f"vectorize '{DEFAULT_FEATURE_SET}' per window"]
    assert "push + window per tick" in capsys.readouterr().out


def test_bad_arguments_give_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert pipeline_speed.main(["--windows", "10"]) == 2
    assert pipeline_speed.main(["--video", str(tmp_path / "absent.mp4")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: need --pose-frames >= 100, --windows >= 1000, --ticks >= 100 and --warmup >= 1, "
        "got 150, 10, 2000, 20",
        f"error: video not found: {tmp_path / 'absent.mp4'}",
    ]
