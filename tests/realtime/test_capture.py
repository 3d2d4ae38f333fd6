"""Frame sources: newest-frame mailbox, video files (paced, offline, looped, corrupt), cameras."""

from __future__ import annotations

import logging
import os
import threading
import time

import numpy as np
import pytest

from pipeline.video import VideoError
from realtime.capture import (
    CameraSource,
    FileSource,
    Frame,
    LatestFrame,
    SourceFailed,
    open_camera,
    open_source,
)


def frame(i: int) -> Frame:
    return Frame(np.zeros((2, 2, 3), np.uint8), i, i / 30, 0.0)


def drain(source, timeout_s: float = 10.0) -> list[Frame]:
    """Every frame a started source delivers until it ends (fails the test if it never does)."""
    frames, deadline = [], time.monotonic() + timeout_s
    while not source.ended:
        assert time.monotonic() < deadline, "source did not end"
        f = source.get(0.05)
        if f is not None:
            frames.append(f)
    return frames


def test_mailbox_keeps_only_the_newest_frame():
    box = LatestFrame()
    for i in range(3):
        assert box.put(frame(i))
    assert box.get(0).index == 2
    assert box.dropped == 2
    assert box.get(0) is None


def test_mailbox_close_keeps_the_last_frame_and_refuses_more():
    box = LatestFrame()
    box.put(frame(0))
    box.close()
    assert not box.ended
    assert box.get(0).index == 0
    assert box.ended
    assert box.put(frame(1)) is False


def test_mailbox_blocking_put_drops_nothing():
    box = LatestFrame()
    producer = threading.Thread(target=lambda: [box.put(frame(i), block=True) for i in range(20)])
    producer.start()
    got = []
    while len(got) < 20:
        f = box.get(1.0)
        if f is not None:
            got.append(f.index)
    producer.join(5)
    assert got == list(range(20)) and box.dropped == 0


def test_mailbox_close_releases_a_blocked_producer():
    box = LatestFrame()
    box.put(frame(0))
    result = []
    producer = threading.Thread(target=lambda: result.append(box.put(frame(1), block=True)))
    producer.start()
    box.close()
    producer.join(5)
    assert result == [False]


def test_file_offline_delivers_every_frame_in_order(make_video):
    path = make_video("clip.avi", 25, fps=25.0)
    with FileSource(path, realtime=False) as source:
        frames = drain(source)
        assert source.dropped == 0 and source.skipped == 0
    assert [f.index for f in frames] == list(range(25))
    assert [f.t_s for f in frames] == pytest.approx([i / 25 for i in range(25)])
    assert source.info.total_frames == 25 and source.info.nominal_fps == pytest.approx(25.0)


def test_file_loop_keeps_indices_and_timestamps_increasing(make_video):
    path = make_video("clip.avi", 10, fps=20.0)
    with FileSource(path, realtime=False, loop=True) as source:
        frames = []
        while len(frames) < 25:
            f = source.get(1.0)
            if f is not None:
                frames.append(f)
    assert [f.index for f in frames] == list(range(25))
    assert np.all(np.diff([f.t_s for f in frames]) > 0)
    assert frames[10].t_s == pytest.approx(10 / 20.0)  # second pass starts after the first
    assert frames[10].image.mean() == pytest.approx(frames[0].image.mean(), abs=2)


def test_file_realtime_drops_stale_frames_for_a_slow_consumer(make_video):
    """Paced at 30 fps; the consumer takes a frame every 100 ms: it always gets the newest."""
    path = make_video("clip.avi", 30, fps=30.0)
    with FileSource(path, realtime=True) as source:
        taken = []
        while not source.ended:
            f = source.get(0.5)
            if f is not None:
                taken.append(f.index)
                time.sleep(0.1)  # a slow pose stage
        dropped = source.dropped
    assert dropped > 0
    assert len(taken) + dropped == 30  # every frame was either processed or dropped
    assert taken == sorted(taken) and len(set(np.diff(taken))) >= 1 and max(np.diff(taken)) > 1


def test_file_max_side_scales_frames(make_video):
    path = make_video("clip.avi", 3, size_wh=(320, 240))
    with FileSource(path, realtime=False, max_side=160) as source:
        frames = drain(source)
    assert source.info.resolution_wh == (160, 120) and source.info.native_wh == (320, 240)
    assert {f.image.shape for f in frames} == {(120, 160, 3)}


def splice_garbage(path, fourcc: str) -> None:
    """Overwrite bytes in the middle of a video with random garbage.

    MJPEG (.avi): 600 bytes over the start of frame 30's JPEG data (that frame cannot be
    decoded). MPEG-4 (.mp4): 4000 bytes at the middle of the file (a few frames cannot).
    """
    data = bytearray(path.read_bytes())
    if fourcc == "MJPG":
        at, n = [i for i in range(len(data) - 1) if data[i : i + 2] == b"\xff\xd8"][30], 600
    else:
        at, n = len(data) // 2, 4000
    data[at : at + n] = np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("name", "fourcc"), [("spliced.avi", "MJPG"), ("spliced.mp4", "mp4v")])
def test_corrupt_frames_mid_video_are_skipped_and_counted(make_video, name, fourcc):
    path = make_video(name, 60, fourcc=fourcc)
    splice_garbage(path, fourcc)
    with FileSource(path, realtime=False) as source:
        frames = drain(source)
        skipped = source.skipped
    indices = [f.index for f in frames]
    assert skipped > 0
    assert len(frames) + skipped == 60
    assert indices[-1] == 59  # the run continued to the end
    assert len(set(range(60)) - set(indices)) == skipped
    if fourcc == "MJPG":
        assert 30 not in indices and skipped == 1


def test_a_video_cut_short_reports_the_frames_missing_at_its_end(make_video, caplog):
    """Issue #11: cut in half, a video said "0 undecodable frames skipped" after 53 of 100."""
    path = make_video("cut.avi", 100)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING), FileSource(path, realtime=False) as source:
        assert source.info.total_frames == 100 and source.missing_at_end == 0  # not yet known
        frames = drain(source)
        missing, skipped = source.missing_at_end, source.skipped
    assert 20 < len(frames) < 80 and skipped == 0
    assert missing == 100 - len(frames)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"cut.avi: {missing} of the 100 frames its header lists are "
                                  f"missing at the end (decoding stopped after frame "
                                  f"{len(frames) - 1}")  # fmt: skip


def test_a_whole_video_reports_nothing_missing(make_video, caplog):
    clip = make_video("whole.avi", 12)
    with caplog.at_level(logging.WARNING), FileSource(clip, realtime=False) as source:
        assert len(drain(source)) == 12
        assert source.missing_at_end == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_missing_video(tmp_path):
    with pytest.raises(FileNotFoundError, match="video not found"):
        FileSource(tmp_path / "nope.mp4")


def test_not_a_video(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("not a video")
    with pytest.raises(VideoError, match="cannot open video"):
        FileSource(path)


@pytest.mark.parametrize("name", ["empty.avi", "empty.mp4"])
def test_video_without_frames(tmp_path, make_video, name):
    path = make_video(name, 0)
    with pytest.raises(VideoError, match="no decodable frames|cannot open video"):
        FileSource(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a file without read permission")
def test_unreadable_video(make_video):
    path = make_video("locked.avi", 3)
    path.chmod(0)
    with pytest.raises(VideoError, match="cannot open video"):
        FileSource(path)


class FakeCapture:
    """A camera that delivers `good` frames, then `bad` failed reads, then frames again."""

    def __init__(self, good: int, bad: int | None = None, size=(64, 48)) -> None:
        self.good, self.bad, self.size = good, bad, size
        self.reads = 0
        self.released = False

    def get(self, prop: int) -> float:
        import cv2

        return {
            cv2.CAP_PROP_FRAME_WIDTH: self.size[0],
            cv2.CAP_PROP_FRAME_HEIGHT: self.size[1],
            cv2.CAP_PROP_FPS: 30.0,
        }.get(prop, 0.0)

    def read(self):
        self.reads += 1
        time.sleep(0.002)
        failing = self.reads > self.good and (
            self.bad is None or self.reads <= self.good + self.bad
        )
        if failing:
            return False, None
        return True, np.zeros((self.size[1], self.size[0], 3), np.uint8)

    def release(self) -> None:
        self.released = True


def test_camera_that_stops_delivering_gives_up_after_retrying(caplog):
    capture = FakeCapture(good=5)
    opened = []

    def opener(index: int) -> FakeCapture:
        opened.append(index)
        return capture

    with caplog.at_level(logging.WARNING, logger="realtime.capture"):
        with CameraSource(0, retry_s=0.3, opener=opener) as source:
            frames = drain(source)
            with pytest.raises(
                SourceFailed, match=r"camera 0 stopped delivering frames; gave up after 0.3 s"
            ):
                source.raise_if_failed()
    assert len(frames) + source.dropped == 5
    assert "camera 0 stopped delivering frames; retrying for up to 0.3 s" in caplog.text
    assert capture.released


def test_camera_that_recovers_keeps_going(caplog):
    capture = FakeCapture(good=3, bad=5)
    with caplog.at_level(logging.WARNING, logger="realtime.capture"):
        with CameraSource(1, retry_s=5.0, opener=lambda i: capture) as source:
            got = []
            while len(got) < 10:
                f = source.get(1.0)
                if f is not None:
                    got.append(f)
            source.raise_if_failed()
    assert "camera 1 is delivering frames again" in caplog.text
    assert np.all(np.diff([f.index for f in got]) > 0)
    assert np.all(np.diff([f.t_s for f in got]) > 0)


def test_camera_info_and_scaling():
    capture = FakeCapture(good=100, size=(1280, 720))
    with CameraSource(0, max_side=640, opener=lambda i: capture) as source:
        f = None
        while f is None:
            f = source.get(1.0)
    assert source.info.name == "camera 0" and source.info.total_frames is None
    assert source.info.resolution_wh == (640, 360) and f.image.shape == (360, 640, 3)
    assert capture.released


def test_camera_that_cannot_be_opened():
    with pytest.raises(RuntimeError, match="cannot open camera 99: no such device"):
        open_camera(99)


def test_open_source_refuses_other_types():
    with pytest.raises(TypeError, match="`spec` must be a camera index or a path, got float"):
        open_source(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`camera` must be an index >= 0, got -1"):
        open_source(-1)


def take(source, n: int, draw: bool = False) -> list[Frame]:
    """The next n frames; with `draw`, each image is blanked as soon as it is taken."""
    frames = []
    while len(frames) < n:
        f = source.get(1.0)
        assert f is not None or not source.ended
        if f is not None:
            if draw:
                f.image[:] = 0  # drawing on a delivered frame must not leak into later passes
            frames.append(f)
    return frames


@pytest.mark.parametrize("cache_bytes", [0, 256 * 1024 * 1024])
def test_looped_clip_replays_the_same_frames_with_or_without_the_cache(
    make_video, monkeypatch, cache_bytes
):
    import realtime.capture.file as capture

    monkeypatch.setattr(capture, "MAX_CACHE_BYTES", cache_bytes)
    path = make_video("clip.avi", 8, fps=20.0)
    with FileSource(path, realtime=False, loop=True) as source:
        frames = take(source, 24, draw=True)
    assert [f.index for f in frames] == list(range(24))
    with FileSource(path, realtime=False) as source:
        reference = drain(source)
    for f in frames:
        np.testing.assert_array_equal(f.rgb, reference[f.index % 8].rgb)
        assert f.t_s == pytest.approx(f.index / 20.0)


def test_looped_corrupt_clip_counts_skipped_frames_every_pass(make_video):
    path = make_video("spliced.avi", 60, fourcc="MJPG")
    splice_garbage(path, "MJPG")
    with FileSource(path, realtime=False, loop=True) as source:
        frames = take(source, 59 * 3 + 1)
        skipped = source.skipped
    assert skipped == 3  # frame 30 of each of the three finished passes
    assert [f.index for f in frames[:59]] == [i for i in range(60) if i != 30]
    assert frames[-1].index == 180


def test_offline_latency_counts_from_when_the_frame_is_taken(make_video, fake_clock):
    path = make_video("clip.avi", 5)
    with FileSource(path, realtime=False, clock=fake_clock) as source:
        got = []
        for k in range(5):
            fake_clock.now = 1000.0 + k  # the frame was read ahead long before
            f = None
            while f is None:
                f = source.get(1.0)
            got.append(f.grabbed_s)
    assert got == [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]
