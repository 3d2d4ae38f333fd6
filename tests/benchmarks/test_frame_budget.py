"""Tests for benchmarks/frame_budget.py: the input clip it builds and its command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import frame_budget as fb

cv2 = pytest.importorskip("cv2")


def write_clip(path: Path, n: int, fps: float, size: tuple[int, int] = (96, 64)) -> Path:
    """A clip whose frame k is a uniform grey of level 20 * (k + 1)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for k in range(n):
        writer.write(np.full((size[1], size[0], 3), 20 * (k + 1), np.uint8))
    writer.release()
    return path


@pytest.mark.parametrize(("fps", "expected"), [(15.0, [0, 2, 4, 6, 8]), (60.0, None)])
def test_letterboxed_frames_resample_the_clip_in_time(
    tmp_path: Path, fps: float, expected: list[int] | None
) -> None:
    clip = write_clip(tmp_path / "clip.mp4", 10, 30.0)
    frames = list(fb.letterboxed_frames(clip, (64, 64), fps))
    shown = [round(float(f[32].mean()) / 20) - 1 for f in frames]  # source frame index
    assert shown == (expected or [k // 2 for k in range(20)])


def test_letterbox_keeps_the_aspect_with_black_bars() -> None:
    image = np.full((64, 96, 3), 200, np.uint8)  # 3:2
    boxed = fb.letterbox(image, (64, 64))
    assert boxed.shape == (64, 64, 3)
    rows = boxed[:, 32, 0]
    assert (rows[:10] == 0).all() and (rows[-10:] == 0).all() and (rows[22:42] == 200).all()


def test_bad_size_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        fb.build_parser().parse_args(["--size", "640by480"])
    assert e.value.code == 2
    assert "size must be WIDTHxHEIGHT, e.g. 640x480, got '640by480'" in capsys.readouterr().err


@pytest.mark.integration
def test_short_run_on_a_person_writes_figures_the_table_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real loop on the astronaut at 320x240: every stage timed; the 640x480 budget is
    reported but not judged by run_all."""
    pytest.importorskip("mediapipe")
    from skimage import data

    from benchmarks import run_all

    photo = cv2.cvtColor(cv2.resize(data.astronaut(), (256, 256)), cv2.COLOR_RGB2BGR)
    clip = tmp_path / "astronaut.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (256, 256))
    for _ in range(30):
        writer.write(photo)
    writer.release()
    out = tmp_path / "frame_budget.json"
    argv = ["--video", str(clip), "--size", "320x240", "--duration", "1.5", "--warmup", "0.5"]
    assert fb.main([*argv, "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert set(r["stages_ms"]) == {*fb.STAGES, "non_pose"} and r["frames_processed"] >= 10
    assert r["input"]["size"] == "320x240" and not r["budget"]["applies"]
    rows = run_all.rows_frame_budget(r)
    assert len(rows) == 4 and all(row[4] == row[5] == "" for row in rows)
    assert "budget for 640x480 at 30 fps (not this input)" in capsys.readouterr().out
