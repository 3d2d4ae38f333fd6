"""Tests for pipeline/keypoints.py: extraction, crops, the cache and the report.

Unit tests replace PoseLandmarker by a fake that puts every landmark at the centre of the
bright pixels it is shown; the `integration` tests run the real model on a real photo.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from offline.keypoints.run import (
    CacheError,
    ExtractionReport,
    KeypointCache,
    KeypointTrack,
    PoseSettings,
    TrackRequest,
    VideoJob,
    cache_key,
    crop_pixels,
    extract_keypoints,
    extract_tracks,
    read_track,
    uncrop,
)
from pipeline import skeleton
from pipeline.pose import BUNDLE_MEMBERS, PoseFrame
from pipeline.video import VideoError
from pipeline.video import write_video as write_bgr_video
from tests.offline.conftest import FakePose

FPS = 10.0
WH = (160, 120)


def square_frames(n: int, size: int = 20) -> list[np.ndarray]:
    """Black (H, W, 3) frames with a white square moving right 4 px per frame."""
    frames = []
    for i in range(n):
        f = np.zeros((WH[1], WH[0], 3), np.uint8)
        f[40 : 40 + size, 10 + 4 * i : 10 + 4 * i + size] = 255
        frames.append(f)
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float = FPS) -> Path:
    """Write BGR frames as an mp4 with the renderer's writer."""
    write_bgr_video(frames, path, fps)
    return path


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.mp4", square_frames(10))


# --- pure helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("box", "padding", "expected"),
    [
        ((0.25, 0.25, 0.75, 0.75), 0.0, (40, 30, 120, 90)),
        ((0.25, 0.25, 0.75, 0.75), 0.1, (32, 24, 128, 96)),
        ((-0.5, 0.9, 0.5, 1.5), 0.0, (0, 108, 80, 120)),  # clipped to the frame
        ((0.999, 0.5, 1.0, 0.5001), 0.0, (159, 60, 160, 61)),  # at least 1 px
    ],
)
def test_crop_pixels(box: tuple, padding: float, expected: tuple) -> None:
    assert crop_pixels(np.array(box), WH, padding) == expected


def test_uncrop_maps_crop_coordinates_to_the_whole_frame() -> None:
    image = np.tile(np.array([0.5, 0.25, 0.1], np.float32), (33, 1))
    frame = PoseFrame(image, image, np.ones(33, np.float32), np.ones(33, np.float32), (80, 40))
    out = uncrop(frame, (40, 20, 120, 60), WH)
    np.testing.assert_allclose(out[0], [(40 + 40) / 160, (20 + 10) / 120, 0.1 * 80 / 160])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"frames": np.array([3, 2])}, "strictly increasing"),
        ({"frames": np.array([-1, 2])}, "strictly increasing"),
        ({"frames": np.array([], np.int64)}, "must not be empty"),
        ({"frames": np.array([1.0])}, "dtype kind"),
        ({"boxes": np.zeros((1, 4))}, "need `frames`"),
        ({"frames": np.array([1]), "boxes": np.zeros((2, 4))}, "shape"),
        ({"frames": np.array([1]), "boxes": np.array([[0.5, 0.5, 0.4, 0.6]])}, "x1 > x0"),
        ({"frames": np.array([1]), "boxes": np.array([[1.1, 0.5, 1.4, 0.6]])}, "overlap"),
    ],
)
def test_track_request_rejects_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        TrackRequest("r", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_detection_confidence": 1.5}, r"`min_detection_confidence` must be in \[0, 1\]"),
        ({"num_poses": 0}, "`num_poses` must be >= 1"),
        ({"crop_padding": -0.1}, "`crop_padding` must be in"),
    ],
)
def test_pose_settings_rejects_bad_values(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PoseSettings(**kwargs)


def _frame(seed: int, wh: tuple[int, int] = WH) -> PoseFrame:
    rng = np.random.default_rng(seed)
    return PoseFrame(
        rng.random((33, 3), dtype=np.float32),
        rng.normal(size=(33, 3)).astype(np.float32),
        rng.random(33, dtype=np.float32),
        rng.random(33, dtype=np.float32),
        wh,
    )


def test_track_joints_match_the_live_conversion() -> None:
    frames = [_frame(0), PoseFrame.empty(WH), _frame(1)]
    track = KeypointTrack(
        image=np.stack([f.image for f in frames]),
        world=np.stack([f.world for f in frames]),
        visibility=np.stack([f.visibility for f in frames]),
        presence=np.stack([f.presence for f in frames]),
        frames=np.array([0, 1, 2]),
        t_s=np.array([0.0, 0.1, 0.2]),
        image_wh=WH,
    )
    world, image, vis = track.joints()
    assert world.shape == (3, skeleton.N_JOINTS, 3) and image.shape == (3, skeleton.N_JOINTS, 2)
    for i, f in enumerate(frames):
        live = f.joints()
        np.testing.assert_array_equal(world[i], live[0])
        np.testing.assert_array_equal(image[i], live[1])
        np.testing.assert_array_equal(vis[i], live[2])
    assert track.found.tolist() == [True, False, True]


# --- extraction with a fake pose model ----------------------------------------------------


def test_whole_video_one_estimator_increasing_ms(
    video: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    track = extract_keypoints(video, pose_model=fake_model)
    assert fake_pose.constructed == 1
    assert track.frames.tolist() == list(range(10))
    np.testing.assert_allclose(track.t_s, np.arange(10) / FPS)
    assert fake_pose.timestamps == [[round(i * 1000 / FPS) for i in range(10)]]
    assert track.image_wh == WH
    # the white square's centre, normalised to the frame: x = (10 + 4i + 10) / 160
    np.testing.assert_allclose(track.image[:, 0, 0], (20 + 4 * np.arange(10)) / 160, atol=1 / 160)
    np.testing.assert_allclose(track.image[:, 0, 1], 50 / 120, atol=1 / 120)


def test_crop_runs_pose_on_the_box_and_maps_back(
    video: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    frames = np.array([2, 4, 6])
    # a box around the right half: the square (x 18..46 px) is outside it
    right = np.tile([0.5, 0.0, 1.0, 1.0], (3, 1))
    track = extract_keypoints(video, frames=frames, crop_boxes=right, pose_model=fake_model,
                              settings=PoseSettings(crop_padding=0.0))  # fmt: skip
    assert fake_pose.sizes == [(80, 120)] * 3
    assert not track.found.any()
    # a box around the square itself: landmarks come back in whole-frame coordinates
    xs = 10 + 4 * frames
    boxes = np.stack(
        [(xs - 2) / 160, np.full(3, 38 / 120), (xs + 22) / 160, np.full(3, 62 / 120)], 1
    )
    track = extract_keypoints(video, frames=frames, crop_boxes=boxes, pose_model=fake_model)
    np.testing.assert_allclose(track.image[:, 0, 0], (xs + 10) / 160, atol=1 / 160)
    np.testing.assert_allclose(track.image[:, 0, 1], 50 / 120, atol=1 / 120)
    assert track.frames.tolist() == [2, 4, 6]


def test_frames_past_the_end_are_reported(
    video: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    request = TrackRequest("seg", np.array([0, 5, 9, 10, 25]))
    tracks, report = extract_tracks([VideoJob(video, (request,))], pose_model=fake_model)
    assert tracks["seg"].frames.tolist() == [0, 5, 9]
    assert tracks["seg"].frames_past_end.tolist() == [10, 25]
    assert report.frames_past_end == {"seg": [10, 25]}
    assert any("2 frames past the end" in line and "seg" in line for line in report.lines())


def test_missing_and_unreadable_videos_are_reported_and_the_rest_processed(
    video: Path, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00not a video" * 100)
    jobs = [
        VideoJob(tmp_path / "absent.mp4", (TrackRequest("absent"),)),
        VideoJob(garbage, (TrackRequest("garbage"),)),
        VideoJob(video, (TrackRequest("good"),)),
    ]
    tracks, report = extract_tracks(jobs, pose_model=fake_model)
    assert set(tracks) == {"good"}
    assert report.missing_videos[str(tmp_path / "absent.mp4")] == "not found"
    assert "cannot open video" in report.missing_videos[str(garbage)]
    assert any("2 videos missing or unreadable" in line for line in report.lines())
    with pytest.raises(FileNotFoundError, match="absent.mp4"):
        extract_keypoints(tmp_path / "absent.mp4", pose_model=fake_model)
    with pytest.raises(VideoError, match="garbage.mp4"):
        extract_keypoints(garbage, pose_model=fake_model)


def test_one_estimator_per_request_and_one_decode(
    video: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    requests = (TrackRequest("a", np.array([1, 2, 3])), TrackRequest("b", np.array([2, 8])))
    tracks, report = extract_tracks([VideoJob(video, requests)], pose_model=fake_model)
    assert fake_pose.constructed == 2
    assert fake_pose.detect_calls == 5
    assert tracks["a"].frames.tolist() == [1, 2, 3] and tracks["b"].frames.tolist() == [2, 8]
    assert report.n_extracted == 2 and report.n_frames_extracted == 5


def test_duplicate_request_names_are_refused(video: Path, fake_model: Path) -> None:
    jobs = [VideoJob(video, (TrackRequest("x"),)), VideoJob(video, (TrackRequest("x"),))]
    with pytest.raises(ValueError, match="request names must be unique.*'x'"):
        extract_tracks(jobs, pose_model=fake_model)


def test_progress_bar_goes_to_stderr(
    video: Path, fake_pose: FakePose, fake_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extract_tracks([VideoJob(video, (TrackRequest("a"),))], pose_model=fake_model, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "10/10" in captured.err and "frame" in captured.err


# --- the cache ------------------------------------------------------------------------------


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
    job = [VideoJob(video, (TrackRequest("clip"),))]
    first, _ = extract_tracks(job, cache=cache, pose_model=fake_model)
    (path,) = cache.directory.glob("*.npz")
    CORRUPTIONS[corruption](path)
    with caplog.at_level(logging.WARNING, logger="offline.keypoints.run"):
        tracks, report = extract_tracks(job, cache=cache, pose_model=fake_model)
    assert report.discarded_cache == [str(path)]
    assert str(path) in caplog.text and "corrupt" in caplog.text
    assert fake_pose.detect_calls == 20  # extracted again, not read from the bad file
    np.testing.assert_array_equal(tracks["clip"].t_s, first["clip"].t_s)
    assert any("1 corrupt cache files rebuilt" in line for line in report.lines())
    _, report = extract_tracks(job, cache=cache, pose_model=fake_model)  # rebuilt file is good
    assert report.n_cached == 1 and report.discarded_cache == []


def test_read_track_names_the_problem(
    video: Path, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    cache = KeypointCache(tmp_path)
    track = extract_keypoints(video, pose_model=fake_model)
    path = cache.save("k", track)
    assert read_track(path, "k").frames.tolist() == list(range(10))
    with pytest.raises(CacheError, match="another key"):
        read_track(path, "other")
    _rewrite(path, world=np.zeros((10, 33, 3), np.float32))
    with pytest.raises(CacheError, match="checksum mismatch"):
        read_track(path, "k")


def test_anything_that_changes_the_keypoints_changes_the_key(tmp_path: Path) -> None:
    request = TrackRequest("a", np.array([1, 2]), np.array([[0.1, 0.1, 0.5, 0.5]] * 2))
    base = cache_key("video", "model", PoseSettings(), request)
    variants = [
        cache_key("video2", "model", PoseSettings(), request),
        cache_key("video", "model2", PoseSettings(), request),
        cache_key("video", "model", PoseSettings(min_tracking_confidence=0.6), request),
        cache_key("video", "model", PoseSettings(crop_padding=0.2), request),
        cache_key("video", "model", PoseSettings(), replace(request, frames=np.array([1, 3]))),
        cache_key("video", "model", PoseSettings(), replace(request, boxes=request.boxes + 0.01)),
        cache_key("video", "model", PoseSettings(), TrackRequest("a")),
    ]
    assert len({base, *variants}) == len(variants) + 1
    # the stream's name is not part of what is computed
    assert cache_key("video", "model", PoseSettings(), replace(request, name="b")) == base


def test_changed_settings_video_or_model_extract_again(
    video: Path, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    cache = KeypointCache(tmp_path / "cache")
    job = [VideoJob(video, (TrackRequest("clip"),))]
    extract_tracks(job, cache=cache, pose_model=fake_model)
    _, report = extract_tracks(job, cache=cache, pose_model=fake_model,
                               settings=PoseSettings(min_detection_confidence=0.7))  # fmt: skip
    assert (report.n_cached, report.n_extracted) == (0, 1)
    with zipfile.ZipFile(fake_model, "w") as zf:
        for name in BUNDLE_MEMBERS:
            zf.writestr(name, b"weights v2")
    _, report = extract_tracks(job, cache=cache, pose_model=fake_model)
    assert (report.n_cached, report.n_extracted) == (0, 1)
    write_video(video, square_frames(9))
    _, report = extract_tracks(job, cache=cache, pose_model=fake_model)
    assert (report.n_cached, report.n_extracted) == (0, 1)
    assert len(list(cache.directory.glob("*.npz"))) == 4
    assert fake_pose.constructed == 4


def test_cached_tracks_still_report_lost_frames(
    video: Path, tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    cache = KeypointCache(tmp_path / "cache")
    job = [VideoJob(video, (TrackRequest("seg", np.array([8, 9, 10, 11])),))]
    extract_tracks(job, cache=cache, pose_model=fake_model)
    _, report = extract_tracks(job, cache=cache, pose_model=fake_model)
    assert report.n_cached == 1 and report.frames_past_end == {"seg": [10, 11]}


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
        VideoJob(_astronaut_video(tmp_path / f"v{k}.mp4", 6), (TrackRequest(f"v{k}"),))
        for k in range(2)
    ]
    serial, report = extract_tracks(jobs, n_jobs=1)
    assert report.n_frames_extracted == 12 and not report.missing_videos
    for track in serial.values():
        assert track.found.all()
        world, image, vis = track.joints()
        assert np.isfinite(world).all()
        # shoulders (image heights, y up) lie inside the pasted photo, which moves right
        x = image[:, skeleton.L_SHOULDER, 0] * 160  # pixels
        assert ((x > 8 + 6 * np.arange(6)) & (x < 136 + 6 * np.arange(6))).all()
    parallel, _ = extract_tracks(jobs, n_jobs=2)
    for name, track in serial.items():
        np.testing.assert_allclose(parallel[name].world, track.world, atol=1e-5)
        np.testing.assert_allclose(parallel[name].image, track.image, atol=1e-5)


@pytest.mark.parametrize("max_side", [-1, 1, 63])
def test_pose_settings_refuse_images_too_small_for_pose(max_side: int) -> None:
    """The same rule as the live app's --max-side: 0 (native size) or >= 64 pixels."""
    with pytest.raises(ValueError, match=r"`max_side` must be 0 \(native size\) or >= 64 pixels"):
        PoseSettings(max_side=max_side)
    assert PoseSettings(max_side=0).max_side == 0 and PoseSettings(max_side=64).max_side == 64
