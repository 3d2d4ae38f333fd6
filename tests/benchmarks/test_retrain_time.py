"""Tests for benchmarks/retrain_time.py: command lines, parsing train.py's summary."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks import retrain_time
from offline.keypoints.report import ExtractionReport


def test_train_command_writes_only_into_the_given_folder(tmp_path: Path) -> None:
    cmd = retrain_time.train_command([Path("/a"), Path("/b")], tmp_path, quick=True)
    assert cmd[0] == sys.executable and cmd[1].endswith("train.py") and cmd[2] == "train"
    assert cmd[cmd.index("--out") + 1].startswith(str(tmp_path))
    assert cmd[cmd.index("--report-dir") + 1].startswith(str(tmp_path))
    assert [cmd[i + 1] for i, a in enumerate(cmd) if a == "--data"] == ["/a", "/b"]
    assert "--quick" in cmd and "--quick" not in retrain_time.train_command([], tmp_path, False)


def test_train_command_parses_with_train_py(tmp_path: Path) -> None:
    import train

    cmd = retrain_time.train_command([Path("/a")], tmp_path, quick=True)
    args = train.build_parser().parse_args(cmd[2:])
    assert args.quick and args.no_progress and args.data == ["/a"]
    assert args.out == str(tmp_path / "model.joblib")


def test_extraction_line_of_train_py_is_parsed() -> None:
    """The pattern matches what `ExtractionReport.lines()` really prints."""
    report = ExtractionReport(n_cached=170, n_extracted=10, n_frames_extracted=900)
    match = retrain_time._EXTRACTED.search("  " + report.lines()[0])
    assert match is not None and match.groups() == ("10", "900", "170")


def test_rendered_case_needs_a_cache_file_per_video(tmp_path: Path, monkeypatch) -> None:
    rendered, cache = tmp_path / "rendered", tmp_path / "keypoints"
    monkeypatch.setattr(retrain_time, "RENDERED_DIR", rendered)
    monkeypatch.setattr(retrain_time, "KEYPOINT_CACHE", cache)
    assert retrain_time.rendered_cached() == (False, f"no rendered videos in {rendered}")
    (rendered / "videos" / "Sad").mkdir(parents=True)
    for k in range(3):
        (rendered / "videos" / "Sad" / f"{k}.mp4").write_bytes(b"")
    cache.mkdir()
    (cache / "a.npz").write_bytes(b"")
    ok, why = retrain_time.rendered_cached()
    assert not ok and why.startswith("1 keypoint cache files for 3 rendered videos")
    for k in range(2):
        (cache / f"b{k}.npz").write_bytes(b"")
    assert retrain_time.rendered_cached()[0]


def test_missing_data_gives_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert retrain_time.main(["--data", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no motion capture at")
