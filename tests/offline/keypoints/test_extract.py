"""Tests for offline/keypoints/extract.py and decode.py: crops, one video -> its streams.

Unit tests replace PoseLandmarker by a fake that puts every landmark at the centre of the
bright pixels it is shown.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from offline.keypoints.extract import crop_pixels, uncrop
from offline.keypoints.run import VideoJob, extract_keypoints, extract_streams
from offline.keypoints.stream import StreamRequest
from pipeline.pose import PoseFrame, PoseSettings
from tests.offline.conftest import FakePose
from tests.offline.keypoints.conftest import FPS, WH, square_frames, write_video

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
        ({"min_detection_confidence": 1.5}, r"`min_detection_confidence` must be in \[0, 1\]"),
        ({"num_poses": 0}, "`num_poses` must be >= 1"),
        ({"crop_padding": -0.1}, "`crop_padding` must be in"),
    ],
)
def test_pose_settings_rejects_bad_values(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PoseSettings(**kwargs)


@pytest.mark.parametrize("max_side", [-1, 1, 63])
def test_pose_settings_refuse_images_too_small_for_pose(max_side: int) -> None:
    """The same rule as the live app's --max-side: 0 (native size) or >= 64 pixels."""
    with pytest.raises(ValueError, match=r"`max_side` must be 0 \(native size\) or >= 64 pixels"):
        PoseSettings(max_side=max_side)
    assert PoseSettings(max_side=0).max_side == 0 and PoseSettings(max_side=64).max_side == 64


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
    request = StreamRequest("seg", np.array([0, 5, 9, 10, 25]))
    tracks, report = extract_streams([VideoJob(video, (request,))], pose_model=fake_model)
    assert tracks["seg"].frames.tolist() == [0, 5, 9]
    assert tracks["seg"].frames_past_end.tolist() == [10, 25]
    assert report.frames_past_end == {"seg": [10, 25]}
    assert any("2 frames missing at the end" in line and "seg" in line for line in report.lines())


def test_one_estimator_per_request_and_one_decode(
    video: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    requests = (StreamRequest("a", np.array([1, 2, 3])), StreamRequest("b", np.array([2, 8])))
    tracks, report = extract_streams([VideoJob(video, requests)], pose_model=fake_model)
    assert fake_pose.constructed == 2
    assert fake_pose.detect_calls == 5
    assert tracks["a"].frames.tolist() == [1, 2, 3] and tracks["b"].frames.tolist() == [2, 8]
    assert report.n_extracted == 2 and report.n_frames_extracted == 5


def test_each_video_is_opened_once_and_decoded_once(
    video: Path, fake_pose: FakePose, fake_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One capture per video, whatever the requests and with progress on: the frame count
    and size come from the capture that decodes (the bytes are read once more, to hash)."""
    import cv2

    opened: list[str] = []
    real = cv2.VideoCapture

    def counting(path: str, *args: object) -> object:
        opened.append(path)
        return real(path, *args)

    monkeypatch.setattr(cv2, "VideoCapture", counting)
    requests = (
        StreamRequest("whole"),
        StreamRequest("seg", np.array([1, 2]), np.tile([0.0, 0.0, 1.0, 1.0], (2, 1))),
    )
    streams, _ = extract_streams(
        [VideoJob(video, requests)], pose_model=fake_model, progress=lambda *a: None
    )
    assert opened == [str(video)]
    assert streams["whole"].image_wh == streams["seg"].image_wh == WH


def test_open_video_decodes_like_iter_frames(tmp_path: Path) -> None:
    """`OpenVideo` follows `pipeline.video.iter_frames`' rules (indices, times, scaling)."""
    from offline.keypoints.decode import OpenVideo
    from pipeline.video import iter_frames

    path = write_video(tmp_path / "v.mp4", square_frames(7))
    for max_side, prefetch in ((0, 0), (64, 0), (64, 3)):
        ours = OpenVideo(path)
        assert ours.info.total_frames == 7 and ours.info.fps == FPS
        got = list(ours.frames(max_side=max_side, prefetch=prefetch))
        want = list(iter_frames(path, max_side=max_side))
        assert [(f.index, f.t_s) for f in got] == [(f.index, f.t_s) for f in want]
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a.image, b.image)
        assert ours.frame_wh == WH and ours.skipped == []


def test_open_video_refuses_missing_and_undecodable_files(tmp_path: Path) -> None:
    from offline.keypoints.decode import OpenVideo
    from pipeline.video import VideoError

    with pytest.raises(FileNotFoundError, match="absent.mp4"):
        OpenVideo(tmp_path / "absent.mp4")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(VideoError, match="garbage.mp4"):
        with OpenVideo(garbage) as opened:
            list(opened.frames())


def test_a_video_cut_short_reports_the_frames_missing_at_its_end(
    tmp_path: Path, fake_pose: FakePose, fake_model: Path
) -> None:
    """Issue #11: a video cut in half said "0 undecodable frames" after 53 of 100 frames."""
    from tests.offline.keypoints.conftest import cut_short

    video = cut_short(tmp_path / "cut.avi")
    request = StreamRequest("whole")
    tracks, report = extract_streams([VideoJob(video, (request,))], pose_model=fake_model)
    decoded = tracks["whole"].frames.tolist()
    assert 20 < len(decoded) < 80 and decoded == list(range(len(decoded)))
    assert tracks["whole"].frames_past_end.tolist() == list(range(len(decoded), 100))
    assert report.frames_past_end == {"whole": list(range(len(decoded), 100))}
    assert not report.unreadable_frames
    line = next(ln for ln in report.lines() if "missing at the end" in ln)
    assert f"{100 - len(decoded)} frames missing at the end" in line
    assert f"whole (frames {len(decoded)}-99)" in line


def test_a_whole_video_stream_reports_frames_skipped_inside(
    tmp_path: Path, fake_pose: FakePose, fake_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import video as video_module

    real = video_module.decode_frames

    def failing_frame_3(cap, *args, **kwargs):  # frame 3 does not decode
        read = cap.read

        class Cap:
            calls = 0

            def read(self):
                Cap.calls += 1
                ok, image = read()
                return (False, None) if Cap.calls == 4 else (ok, image)

        return real(Cap(), *args, **kwargs)

    monkeypatch.setattr("offline.keypoints.decode.decode_frames", failing_frame_3)
    clip = write_video(tmp_path / "clip.mp4", square_frames(10))
    tracks, report = extract_streams([VideoJob(clip, (StreamRequest("w"),))], pose_model=fake_model)
    assert tracks["w"].unreadable_frames.tolist() == [3]
    assert tracks["w"].frames_past_end.size == 0
    assert report.unreadable_frames == {"w": [3]} and not report.frames_past_end
