"""Tests for offline/render/dataset.py: a labelled library planned and rendered as jobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline.render import DEFAULT_RENDER_DIR, DEFAULT_VIEWS, plan_dataset, render_jobs
from offline.render.dataset import check_view, view_name
from tests.offline.render.conftest import tiny_dataset


def test_plan_reads_the_clips_through_list_clips(tmp_path: Path) -> None:
    data = tiny_dataset(tmp_path / "bandai")
    jobs = plan_dataset(data, tmp_path / "out", [0.0, 90.0], ["happy", "normal", "angry"])
    assert [j.video.relative_to(tmp_path / "out").as_posix() for j in jobs] == [
        "videos/Neutral/d_bow_normal_001_view0.mp4",
        "videos/Neutral/d_bow_normal_001_view90.mp4",
        "videos/Happy/d_walk_happy_001_view0.mp4",
        "videos/Happy/d_walk_happy_001_view90.mp4",
    ]  # "angry" is not in this dataset: skipped, not an error
    assert {j.n_frames for j in jobs} == {3}
    assert DEFAULT_VIEWS == (0.0, 35.0, -35.0, 90.0) and DEFAULT_RENDER_DIR.name == "rendered"
    assert view_name(-35.0) == "view-35" and view_name(22.5) == "view22.5"
    with pytest.raises(ValueError, match=r"`view` must be in \[-180, 180\]"):
        check_view(181.0)


def test_render_jobs_reports_progress_through_the_callback(tmp_path: Path) -> None:
    data = tiny_dataset(tmp_path / "bandai")
    jobs = plan_dataset(data, tmp_path / "out", [0.0], max_frames=2)
    calls: list[tuple[str, int, int]] = []
    assert render_jobs(jobs, progress=lambda *a: calls.append(a)) == 4  # 2 clips x 2 frames
    assert calls[0] == ("render", 0, 4) and calls[-1] == ("render", 4, 4)
    assert [done for _, done, _ in calls] == sorted(done for _, done, _ in calls)
    assert all(j.is_done() for j in jobs)
    calls.clear()
    assert render_jobs(jobs, progress=lambda *a: calls.append(a)) == 0  # nothing left to do
    assert calls == []
