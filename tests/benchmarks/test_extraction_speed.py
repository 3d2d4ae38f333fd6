"""Tests for benchmarks/extraction_speed.py: the workloads, and (integration) one tiny run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import extraction_speed as es

cv2 = pytest.importorskip("cv2")


def write_clip(path: Path, n: int, size: tuple[int, int] = (96, 64)) -> Path:
    """A small mp4v clip whose frame k is a uniform grey of level 20 * k."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    for k in range(n):
        writer.write(np.full((size[1], size[0], 3), 20 * k, np.uint8))
    writer.release()
    return path


def test_looped_parts_cover_the_asked_frames_in_order(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", 10)
    parts = es.looped_parts(clip, tmp_path, 25, 2, "long")
    assert [es.count_frames(p) for p in parts] == [13, 12]
    from pipeline.video import iter_frames

    source = [float(f.image.mean()) for f in iter_frames(clip)]
    levels = np.array([float(f.image.mean()) for p in parts for f in iter_frames(p)])
    expected = np.array([source[k % 10] for k in range(25)])
    assert np.abs(levels - expected).max() < 8  # re-encoded, lossy; levels are 20 apart


def test_workloads_are_copies_and_loops(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", 8)
    out = tmp_path / "work"
    out.mkdir()
    workloads, warm = es.build_workloads(clip, out, ["demo", "long"], 30)
    demo = workloads["demo"]
    assert demo.frames == 16 and len(demo.videos) == 2
    assert all(v.read_bytes() == clip.read_bytes() for v in demo.videos)
    assert workloads["long"].frames == 30 and len(workloads["long"].videos) == 2
    assert warm.frames == 12


def test_bad_arguments_give_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert es.main(["--repeats", "2"]) == 2
    assert es.main(["--video", str(tmp_path / "absent.mp4")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: need --repeats >= 3, --study-frames >= 0 and --long-frames >= 20, got 2, 60, 600",
        f"error: video not found: {tmp_path / 'absent.mp4'}",
    ]


@pytest.mark.integration
def test_ours_and_the_study_way_on_a_real_person(tmp_path: Path) -> None:
    """Both ways see the astronaut in every frame; ours counts every frame of both copies."""
    pytest.importorskip("mediapipe")
    from skimage import data

    from offline.keypoints.run import resolve_pose_model

    photo = cv2.cvtColor(cv2.resize(data.astronaut(), (256, 256)), cv2.COLOR_RGB2BGR)
    path = tmp_path / "astronaut.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (256, 256))
    for _ in range(4):
        writer.write(photo)
    writer.release()
    workload = es.Workload("t", tuple(es.copies(path, tmp_path, 2)), 8, "test")
    model = resolve_pose_model(None)
    ours = es.run_ours(workload, 1, model)
    assert ours["frames"] == 8 and ours["found"] == 1.0 and ours["fps"] > 0
    study = es.run_study(workload, 3, model)
    assert study["every_nth_frame"] == 3 and study["frames"] == 3 and study["found"] == 1.0
