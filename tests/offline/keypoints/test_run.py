"""Tests for offline/keypoints/run.py and report.py: many videos, progress, the report.

Unit tests replace PoseLandmarker by a fake (tests/offline/conftest.py); the `integration`
test runs the real model on a real photo.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from offline.keypoints.cache import KeypointCache
from offline.keypoints.report import ExtractionReport
from offline.keypoints.run import PROGRESS_TASK, VideoJob, extract_keypoints, extract_streams
from offline.keypoints.stream import StreamRequest
from pipeline import skeleton
from pipeline.video import VideoError
from tests.offline.conftest import FakePose
from tests.offline.keypoints.conftest import write_video


def test_missing_and_unreadable_videos_are_reported_and_the_rest_processed(
    video: Path, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00not a video" * 100)
    jobs = [
        VideoJob(tmp_path / "absent.mp4", (StreamRequest("absent"),)),
        VideoJob(garbage, (StreamRequest("garbage"),)),
        VideoJob(video, (StreamRequest("good"),)),
    ]
    tracks, report = extract_streams(jobs, pose_model=fake_model)
    assert set(tracks) == {"good"}
    assert report.missing_videos[str(tmp_path / "absent.mp4")] == "not found"
    assert "cannot open video" in report.missing_videos[str(garbage)]
    assert any("2 videos missing or unreadable" in line for line in report.lines())
    with pytest.raises(FileNotFoundError, match="absent.mp4"):
        extract_keypoints(tmp_path / "absent.mp4", pose_model=fake_model)
    with pytest.raises(VideoError, match="garbage.mp4"):
        extract_keypoints(garbage, pose_model=fake_model)


def test_duplicate_request_names_are_refused(video: Path, fake_model: Path) -> None:
    jobs = [VideoJob(video, (StreamRequest("x"),)), VideoJob(video, (StreamRequest("x"),))]
    with pytest.raises(ValueError, match="request names must be unique.*'x'"):
        extract_streams(jobs, pose_model=fake_model)


def test_progress_goes_to_the_callback_not_stderr(
    video: Path, fake_pose: FakePose, fake_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: the tqdm bar on stderr ends at 10/10 frames. Bars are the CLI's now
    (`offline.console.progress_bars`); the library reports the same numbers to a callback."""
    calls: list[tuple[str, int, int]] = []
    job = [VideoJob(video, (StreamRequest("a"),))]
    extract_streams(job, pose_model=fake_model, progress=lambda *a: calls.append(a))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    task, done, total = calls[-1]
    assert f"{done}/{total}" == "10/10" and "frame" in task


def test_progress_is_a_callback_and_library_code_prints_nothing(
    video: Path, fake_pose: FakePose, fake_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[str, int, int]] = []
    jobs = [
        VideoJob(video, (StreamRequest("whole"), StreamRequest("seg", np.array([2, 3, 20])))),
    ]
    extract_streams(jobs, pose_model=fake_model, progress=lambda *a: calls.append(a))
    assert capsys.readouterr() == ("", "")
    assert {task for task, _, _ in calls} == {PROGRESS_TASK}
    # starts at 0 of the chosen frames; the whole video's 10 join once it is open
    assert calls[0] == (PROGRESS_TASK, 0, 3) and calls[1] == (PROGRESS_TASK, 0, 13)
    assert all(done < total for _, done, total in calls[:-1])  # no bar completes early
    assert calls[-1] == (PROGRESS_TASK, 12, 12)  # frame 20 is past the end: never ran
    dones = [done for _, done, _ in calls]
    assert dones == sorted(dones)


def test_no_progress_calls_when_everything_is_cached(
    video: Path, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    cache = KeypointCache(tmp_path / "cache")
    job = [VideoJob(video, (StreamRequest("a"),))]
    extract_streams(job, cache=cache, pose_model=fake_model)
    calls: list[tuple[str, int, int]] = []
    extract_streams(job, cache=cache, pose_model=fake_model, progress=lambda *a: calls.append(a))
    assert calls == []


def test_parallel_progress_ends_at_the_frames_run(
    video: Path, tmp_path: Path, fake_model: Path
) -> None:
    """Workers cannot call back: finished videos are counted (the real model is not needed
    to count, so two unreadable videos and the fake's absence are fine)."""
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00not a video" * 100)
    calls: list[tuple[str, int, int]] = []
    jobs = [VideoJob(garbage, (StreamRequest("g"),)), VideoJob(garbage, (StreamRequest("h"),))]
    _, report = extract_streams(
        jobs, pose_model=fake_model, n_jobs=2, progress=lambda *a: calls.append(a)
    )
    assert len(report.missing_videos) == 1  # the same file twice
    assert calls[0] == (PROGRESS_TASK, 0, 1) and calls[-1] == (PROGRESS_TASK, 0, 0)


def test_empty_report_has_one_summary_line() -> None:
    assert ExtractionReport().lines() == [
        "keypoints: 0 streams extracted (0 frames), 0 from the cache"
    ]


# --- the real pose model --------------------------------------------------------------------


def _astronaut_video(path: Path, n: int) -> Path:
    import cv2
    from skimage import data

    person = cv2.cvtColor(cv2.resize(data.astronaut(), (128, 128)), cv2.COLOR_RGB2BGR)
    frames = []
    for i in range(n):
        f = np.full((160, 240, 3), 60, np.uint8)
        f[16:144, 8 + 6 * i : 136 + 6 * i] = person
        frames.append(f)
    return write_video(path, frames)


@pytest.mark.integration
def test_real_pose_model_finds_the_person_and_parallel_matches_serial(tmp_path: Path) -> None:
    jobs = [
        VideoJob(_astronaut_video(tmp_path / f"v{k}.mp4", 6), (StreamRequest(f"v{k}"),))
        for k in range(2)
    ]
    serial, report = extract_streams(jobs, n_jobs=1)
    assert report.n_frames_extracted == 12 and not report.missing_videos
    for track in serial.values():
        assert track.found.all()
        world, image, vis = track.joints()
        assert np.isfinite(world).all()
        # shoulders (image heights, y up) lie inside the pasted photo, which moves right
        x = image[:, skeleton.L_SHOULDER, 0] * 160  # pixels
        assert ((x > 8 + 6 * np.arange(6)) & (x < 136 + 6 * np.arange(6))).all()
    parallel, _ = extract_streams(jobs, n_jobs=2)
    for name, track in serial.items():
        np.testing.assert_allclose(parallel[name].world, track.world, atol=1e-5)
        np.testing.assert_allclose(parallel[name].image, track.image, atol=1e-5)


def test_a_long_video_runs_as_time_ranges_that_join_up_exactly(
    tmp_path: Path, fake_pose: FakePose, fake_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stateless pose stand-in sees the same frames split or not, so the joined ranges
    equal the whole-video stream; each range is its own estimator, warmed up beforehand."""
    from offline.keypoints import run
    from tests.offline.keypoints.conftest import square_frames

    video = write_video(tmp_path / "long.mp4", square_frames(30))
    whole, _ = extract_streams([VideoJob(video, (StreamRequest("w"),))], pose_model=fake_model)
    assert fake_pose.constructed == 1
    monkeypatch.setattr(run, "SEGMENT_FRAMES", 8)
    monkeypatch.setattr(run, "SEGMENT_OVERLAP", 3)
    job = VideoJob(video, (StreamRequest("w"),))
    assert [(g.begin, g.end) for g in run.plan_segments(job)] == [
        (0, 8), (8, 16), (16, 24), (24, None),
    ]  # fmt: skip
    cache = KeypointCache(tmp_path / "cache")
    calls: list[tuple[str, int, int]] = []
    split, report = extract_streams(
        [job], pose_model=fake_model, cache=cache, progress=lambda *a: calls.append(a)
    )
    assert fake_pose.constructed == 1 + 4
    assert fake_pose.detect_calls == 30 + 30 + 3 * 3  # the overlaps run twice
    assert report.n_extracted == 1 and report.n_frames_extracted == 30
    assert calls[-1] == (PROGRESS_TASK, 39, 39)
    for name, a in whole["w"].arrays().items():
        assert a.tobytes() == split["w"].arrays()[name].tobytes(), name
    # stored under its own key (split streams are not whole-video ones), then served
    assert len(list(cache.directory.glob("*.npz"))) == 1
    again, report = extract_streams([job], pose_model=fake_model, cache=cache)
    assert report.n_cached == 1 and fake_pose.constructed == 5
    # chosen-frame requests are never split
    some = VideoJob(video, (StreamRequest("s", frames=np.arange(0, 30, 2)),))
    assert len(run.plan_segments(some)) == 1
