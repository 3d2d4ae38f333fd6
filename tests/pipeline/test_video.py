"""Tests for pipeline/video.py: reading frames, errors, releasing the capture."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.video import VideoError, VideoInfo, fit_size, iter_frames, open_capture

FPS, N_FRAMES, W, H = 25.0, 12, 64, 48


@pytest.fixture(scope="module")
def small_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-frame 64x48 mp4 at 25 fps whose frame k has grey level 20 * k."""
    path = tmp_path_factory.mktemp("video") / "small.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for k in range(N_FRAMES):
        writer.write(np.full((H, W, 3), 20 * k, np.uint8))
    writer.release()
    return path


def test_video_info(small_mp4: Path) -> None:
    info = VideoInfo.from_path(small_mp4)
    assert (info.width, info.height) == (W, H) == info.resolution_wh
    assert info.fps == pytest.approx(FPS)
    assert info.total_frames == N_FRAMES


def test_iter_frames_yields_every_frame_with_its_time(small_mp4: Path) -> None:
    skipped: list[int] = []
    frames = list(iter_frames(small_mp4, skipped=skipped))
    assert [f.index for f in frames] == list(range(N_FRAMES))
    np.testing.assert_allclose([f.t_s for f in frames], np.arange(N_FRAMES) / FPS)
    assert skipped == []
    for k, f in enumerate(frames):
        assert f.image.shape == (H, W, 3) and f.image.dtype == np.uint8
        assert abs(float(f.image.mean()) - 20 * k) < 8  # in order (lossy codec)


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(FileNotFoundError, match="video not found: .*nope.mp4"):
        list(iter_frames(missing))
    with pytest.raises(FileNotFoundError):
        VideoInfo.from_path(missing)


@pytest.mark.parametrize("content", [b"this is not a video\n" * 50, b"", bytes(range(256)) * 64])
def test_not_a_video(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoError, match=r"clip.mp4.*(re-encod|not a video)") as info:
        list(iter_frames(path))
    assert isinstance(info.value, ValueError)


class _SpyCapture:
    """Wraps cv2.VideoCapture and records whether it was released."""

    instances: list[_SpyCapture] = []

    def __init__(self, *args: object) -> None:
        self._cap = _REAL_CAPTURE(*args)
        self.released = False
        _SpyCapture.instances.append(self)

    def __getattr__(self, name: str) -> object:
        return getattr(self._cap, name)

    def release(self) -> None:
        self.released = True
        self._cap.release()


_REAL_CAPTURE = cv2.VideoCapture


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> type[_SpyCapture]:
    _SpyCapture.instances = []
    monkeypatch.setattr(cv2, "VideoCapture", _SpyCapture)
    return _SpyCapture


def test_capture_is_released_when_the_consumer_breaks(small_mp4: Path, spy) -> None:
    for frame in iter_frames(small_mp4):
        if frame.index == 2:
            break
    assert len(spy.instances) == 1 and spy.instances[0].released


def test_capture_is_released_on_close_and_at_the_end(small_mp4: Path, spy) -> None:
    frames = iter_frames(small_mp4)
    next(frames)
    assert not spy.instances[0].released  # still reading
    frames.close()
    assert spy.instances[0].released
    list(iter_frames(small_mp4))
    assert spy.instances[1].released


def test_capture_is_released_when_opening_fails(tmp_path: Path, spy) -> None:
    path = tmp_path / "bad.avi"
    path.write_bytes(b"nonsense")
    with pytest.raises(VideoError):
        list(iter_frames(path))
    assert spy.instances and all(c.released for c in spy.instances)


def test_open_capture_returns_an_open_capture(small_mp4: Path) -> None:
    cap = open_capture(small_mp4)
    try:
        assert cap.isOpened()
    finally:
        cap.release()


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [
        ((1080, 1920), 640, (360, 640)),
        ((640, 480), 640, (640, 480)),
        ((1280, 720), 640, (640, 360)),
        ((1280, 720), 0, (1280, 720)),
        ((101, 51), 50, (50, 26)),  # even sizes for the video codecs
    ],
)
def test_fit_size_keeps_aspect(size, max_side, expected):
    assert fit_size(*size, max_side) == expected


def test_fit_size_refuses_negative():
    with pytest.raises(ValueError, match="`max_side` must be >= 0 pixels, got -1"):
        fit_size(10, 10, -1)


def test_prefetch_gives_the_same_frames(small_mp4: Path) -> None:
    plain = list(iter_frames(small_mp4))
    ahead = list(iter_frames(small_mp4, prefetch=3))
    assert [f.index for f in ahead] == [f.index for f in plain]
    for a, b in zip(ahead, plain, strict=True):
        assert a.t_s == b.t_s
        np.testing.assert_array_equal(a.image, b.image)


def test_prefetch_releases_the_capture_when_the_consumer_breaks(small_mp4: Path, spy) -> None:
    frames = iter_frames(small_mp4, prefetch=2)
    for frame in frames:
        if frame.index == 1:
            break
    frames.close()
    assert len(spy.instances) == 1 and spy.instances[0].released


def test_prefetch_reraises_errors_in_the_consumer(tmp_path: Path) -> None:
    path = tmp_path / "bad.avi"
    path.write_bytes(b"nonsense")
    with pytest.raises(VideoError, match="cannot open video"):
        list(iter_frames(path, prefetch=2))


def test_max_side_scales_frames_keeping_aspect(small_mp4: Path) -> None:
    frames = list(iter_frames(small_mp4, max_side=32))
    assert frames[0].image.shape == (24, 32, 3)  # 64x48 -> 32x24
    assert len(frames) == N_FRAMES
    assert list(iter_frames(small_mp4, max_side=640))[0].image.shape == (H, W, 3)  # fits already


def test_write_video_on_a_full_disk_keeps_the_previous_file_and_names_it(tmp_path: Path) -> None:
    """#19 item 7: OpenCV reports no failed write; a render on a full disk replaced the
    previous video with a cut-short one and said "wrote"."""
    from tests.full_disk import run_with_file_size_limit

    path = tmp_path / "render.mp4"
    path.write_bytes(b"previous render")
    result = run_with_file_size_limit(
        f"""
        import numpy as np
        from pipeline.video import write_video
        rng = np.random.default_rng(0)
        frames = (rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(60))
        try:
            write_video(frames, {str(path)!r}, 30.0)
        except OSError as e:
            print(e.filename, "|", e.strerror)
        """,
        limit_bytes=200_000,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path} | writing the video failed: "), result.stdout
    assert path.read_bytes() == b"previous render"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["render.mp4"]


def test_write_video_checks_what_it_wrote(tmp_path: Path) -> None:
    from pipeline.video import write_video, written_video_problem

    path = tmp_path / "ok.mp4"
    frames = [np.full((32, 48, 3), i * 20, np.uint8) for i in range(7)]
    assert write_video(iter(frames), path, 10.0) == 7
    assert written_video_problem(path, 7) is None
    assert "holds 7 of the 8 frames" in (written_video_problem(path, 8) or "")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert "cannot be read back" in (written_video_problem(cut, 7) or "")
