"""Tests for benchmarks/cluster_speed.py: arguments, the report and run_all's rows, and
(integration) one tiny run on a real local cluster."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks import cluster_speed as cs
from benchmarks import run_all

RESULT = {
    "workload": "2 copies of clip.mp4, 8 frames",
    "pose_model": "m.task",
    "repeats": 3,
    "methods": {
        "jobs1": {"fps": {"median": 30.0, "min": 29.0, "max": 31.0, "n": 3}},
        "cluster_workers2": {"fps": {"median": 50.0, "min": 48.0, "max": 52.0, "n": 3}},
    },
    "startup_s": {"cluster_workers2": 1.5},
    "projection": {
        "frames": cs.PROJECTED_FRAMES,
        "assumes": "linear",
        "hours": {"1 machines x 2 workers": 16.67},
    },
}


def test_bad_arguments_give_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cs.main(["--repeats", "2"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: need --repeats >= 3 and --videos >= 2, got 2, 4"
    )


def test_report_and_run_all_rows() -> None:
    text = cs.report(RESULT)
    assert "--cluster local, 2 workers" in text and "start-up" in text and "16.67 h" in text
    rows = run_all.ROWS["cluster_speed"](RESULT)
    assert [r[2] for r in rows] == ["30.00 frames/s", "50.00 frames/s", "1.50 s", "16.67 h"]
    assert "cluster_speed" in [b.key for b in run_all.BENCHES]


@pytest.mark.integration
def test_a_tiny_run_on_a_local_cluster(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from tests.offline.keypoints.test_run import _astronaut_video

    clip = _astronaut_video(tmp_path / "a.mp4", 4)
    args = SimpleNamespace(video=clip, videos=2, jobs=[1], workers=[2], repeats=3, pose_model=None)
    r = cs.run(args)  # type: ignore[arg-type]
    assert set(r["methods"]) == {"jobs1", "cluster_workers2"} and r["frames"] == 8
    assert r["startup_s"]["cluster_workers2"] > 0
    assert r["projection"]["hours"]["1 machines x 2 workers"] > 0
