"""Tests for offline/keypoints/cache.py: hits, corrupt files, and what the key covers."""

from __future__ import annotations

import logging
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from offline.keypoints.cache import CacheError, KeypointCache, cache_key, read_stream
from offline.keypoints.run import VideoJob, extract_keypoints, extract_streams
from offline.keypoints.stream import StreamRequest
from pipeline.pose import BUNDLE_MEMBERS, PoseSettings
from tests.offline.conftest import FakePose
from tests.offline.keypoints.conftest import square_frames, write_video


def test_second_extraction_comes_from_the_cache(
    video: Path, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    cache = KeypointCache(tmp_path / "cache")
    first = extract_keypoints(video, pose_model=fake_model, cache=cache)
    assert (fake_pose.constructed, fake_pose.detect_calls) == (1, 10)
    assert len(list(cache.directory.glob("*.npz"))) == 1
    again = extract_keypoints(video, pose_model=fake_model, cache=cache)
    assert (fake_pose.constructed, fake_pose.detect_calls) == (1, 10)
    for name, value in first.arrays().items():
        np.testing.assert_array_equal(getattr(again, name), value, err_msg=name)
    assert again.image_wh == first.image_wh


def _rewrite(path: Path, **changes: object) -> None:
    with np.load(path) as npz:
        data = {k: npz[k] for k in npz.files}
    for k, v in changes.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
    with open(path, "wb") as f:
        np.savez(f, **data)


CORRUPTIONS = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "garbage": lambda p: p.write_bytes(b"\x00" * 300),
    "empty": lambda p: p.write_bytes(b""),
    "changed values": lambda p: _rewrite(p, t_s=np.arange(10) / 5.0),
    "missing array": lambda p: _rewrite(p, presence=None),
    "other key": lambda p: _rewrite(p, meta=np.array('{"key": "x", "version": 1}')),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupt_cache_file_is_reported_deleted_and_rebuilt(
    corruption: str,
    video: Path,
    tmp_path: Path,
    fake_pose: FakePose,
    fake_model: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = KeypointCache(tmp_path / "cache")
    job = [VideoJob(video, (StreamRequest("clip"),))]
    first, _ = extract_streams(job, cache=cache, pose_model=fake_model)
    (path,) = cache.directory.glob("*.npz")
    CORRUPTIONS[corruption](path)
    with caplog.at_level(logging.WARNING, logger="offline.keypoints.cache"):
        tracks, report = extract_streams(job, cache=cache, pose_model=fake_model)
    assert report.discarded_cache == [str(path)]
    assert str(path) in caplog.text and "corrupt" in caplog.text
    assert fake_pose.detect_calls == 20  # extracted again, not read from the bad file
    np.testing.assert_array_equal(tracks["clip"].t_s, first["clip"].t_s)
    assert any("1 corrupt cache files rebuilt" in line for line in report.lines())
    _, report = extract_streams(job, cache=cache, pose_model=fake_model)  # rebuilt file is good
    assert report.n_cached == 1 and report.discarded_cache == []


def test_read_stream_names_the_problem(
    video: Path, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    cache = KeypointCache(tmp_path)
    track = extract_keypoints(video, pose_model=fake_model)
    path = cache.save("k", track)
    assert read_stream(path, "k").frames.tolist() == list(range(10))
    with pytest.raises(CacheError, match="another key"):
        read_stream(path, "other")
    _rewrite(path, world=np.zeros((10, 33, 3), np.float32))
    with pytest.raises(CacheError, match="checksum mismatch"):
        read_stream(path, "k")


def test_anything_that_changes_the_keypoints_changes_the_key(tmp_path: Path) -> None:
    request = StreamRequest("a", np.array([1, 2]), np.array([[0.1, 0.1, 0.5, 0.5]] * 2))
    base = cache_key("video", "model", PoseSettings(), request)
    variants = [
        cache_key("video2", "model", PoseSettings(), request),
        cache_key("video", "model2", PoseSettings(), request),
        cache_key("video", "model", PoseSettings(min_tracking_confidence=0.6), request),
        cache_key("video", "model", PoseSettings(crop_padding=0.2), request),
        cache_key("video", "model", PoseSettings(), replace(request, frames=np.array([1, 3]))),
        cache_key("video", "model", PoseSettings(), replace(request, boxes=request.boxes + 0.01)),
        cache_key("video", "model", PoseSettings(), StreamRequest("a")),
    ]
    assert len({base, *variants}) == len(variants) + 1
    # the stream's name is not part of what is computed
    assert cache_key("video", "model", PoseSettings(), replace(request, name="b")) == base


def test_changed_settings_video_or_model_extract_again(
    video: Path, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    cache = KeypointCache(tmp_path / "cache")
    job = [VideoJob(video, (StreamRequest("clip"),))]
    extract_streams(job, cache=cache, pose_model=fake_model)
    _, report = extract_streams(job, cache=cache, pose_model=fake_model,
                               settings=PoseSettings(min_detection_confidence=0.7))  # fmt: skip
    assert (report.n_cached, report.n_extracted) == (0, 1)
    with zipfile.ZipFile(fake_model, "w") as zf:
        for name in BUNDLE_MEMBERS:
            zf.writestr(name, b"weights v2")
    _, report = extract_streams(job, cache=cache, pose_model=fake_model)
    assert (report.n_cached, report.n_extracted) == (0, 1)
    write_video(video, square_frames(9))
    _, report = extract_streams(job, cache=cache, pose_model=fake_model)
    assert (report.n_cached, report.n_extracted) == (0, 1)
    assert len(list(cache.directory.glob("*.npz"))) == 4
    assert fake_pose.constructed == 4


def test_cached_tracks_still_report_lost_frames(
    video: Path, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    cache = KeypointCache(tmp_path / "cache")
    job = [VideoJob(video, (StreamRequest("seg", np.array([8, 9, 10, 11])),))]
    extract_streams(job, cache=cache, pose_model=fake_model)
    _, report = extract_streams(job, cache=cache, pose_model=fake_model)
    assert report.n_cached == 1 and report.frames_past_end == {"seg": [10, 11]}


def test_a_folder_where_a_cache_file_belongs_is_refused_before_pose(
    tmp_path, fake_pose, fake_model
) -> None:
    """Issue #11: a folder blocking a cache file's name lost the extraction at the end."""
    from offline.keypoints.cache import KeypointCache, cache_key
    from offline.keypoints.run import VideoJob, extract_streams
    from offline.keypoints.stream import StreamRequest
    from pipeline.io import OutputError, file_sha256
    from pipeline.pose import PoseSettings
    from tests.offline.keypoints.conftest import square_frames, write_video

    video = write_video(tmp_path / "Happy.mp4", square_frames(3))
    cache = KeypointCache(tmp_path / "cache")
    request = StreamRequest("Happy")
    key = cache_key(file_sha256(video), file_sha256(fake_model), PoseSettings(), request)
    cache.path(key).mkdir(parents=True)
    with pytest.raises(OutputError, match=r"keypoint cache entry .*\.npz is a folder .*remove it"):
        extract_streams([VideoJob(video, (request,))], cache=cache, pose_model=fake_model)
    assert fake_pose.detect_calls == 0


def test_temporaries_a_killed_run_left_are_removed_before_extracting(
    tmp_path, fake_pose, fake_model
) -> None:
    from offline.keypoints.cache import KeypointCache
    from offline.keypoints.run import VideoJob, extract_streams
    from offline.keypoints.stream import StreamRequest
    from tests.offline.keypoints.conftest import square_frames, write_video

    cache = KeypointCache(tmp_path / "cache")
    cache.directory.mkdir()
    stale = cache.directory / f".{'0' * 64}.npz.~posemotion-{2**22 + 3}.k2j4abcd.tmp"  # gone
    stale.write_bytes(b"half a cache file")
    video = write_video(tmp_path / "a.mp4", square_frames(3))
    extract_streams([VideoJob(video, (StreamRequest("a"),))], cache=cache, pose_model=fake_model)
    assert not stale.exists() and len(list(cache.directory.glob("*.npz"))) == 1
