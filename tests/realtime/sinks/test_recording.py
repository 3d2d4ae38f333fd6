"""VideoRecorder: lazy open, codec by extension, writer thread, always finalised."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from realtime.capture import Frame, SourceFailed
from realtime.sinks.recording import RecordSink, VideoRecorder, codec_for
from tests.full_disk import run_with_file_size_limit


def read_back(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return frames, fps


def image(level: int, wh=(96, 64)) -> np.ndarray:
    return np.full((wh[1], wh[0], 3), level, np.uint8)


@pytest.mark.parametrize(
    ("name", "fourcc"), [("a.mp4", "mp4v"), ("a.AVI", "MJPG"), ("a.mov", "mp4v")]
)
def test_codec_from_extension(name, fourcc):
    assert codec_for(name) == fourcc


def test_unknown_extension():
    with pytest.raises(
        ValueError, match=r"`record` must end in one of .avi, .m4v, .mov, .mp4, got 'out.webm'"
    ):
        codec_for("out.webm")


@pytest.mark.parametrize("name", ["out.mp4", "out.avi"])
def test_writes_a_playable_file_with_size_count_and_rate(tmp_path, name):
    path = tmp_path / name
    with VideoRecorder(path, fps=25.0) as rec:
        for i in range(10):
            rec.write(image(20 * i))
        rec.write(image(250), count=3)
        assert not path.exists()  # written under a temporary name until closed
    frames, fps = read_back(path)
    assert len(frames) == 13 and fps == pytest.approx(25.0)
    assert frames[0].shape == (64, 96, 3)
    assert abs(float(frames[5].mean()) - 100) < 8 and abs(float(frames[-1].mean()) - 250) < 8
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize(
    ("error", "kept"),
    [
        (SourceFailed("camera unplugged"), True),  # the run ends early: what it saw is kept
        (KeyboardInterrupt(), True),  # a second Ctrl-C
        (RuntimeError("the model failed"), False),  # #19 item 8: a failed run replaces nothing
        (OSError(28, "No space left on device"), False),
    ],
)
def test_finalised_when_the_source_fails_or_on_ctrl_c_not_when_the_run_fails(tmp_path, error, kept):
    path = tmp_path / "crash.mp4"
    path.write_bytes(b"previous recording")
    with pytest.raises(type(error)), VideoRecorder(path, fps=30.0) as rec:
        for i in range(5):
            rec.write(image(i))
        raise error
    if kept:
        assert len(read_back(path)[0]) == 5
    else:
        assert path.read_bytes() == b"previous recording"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crash.mp4"]


def test_previous_file_kept_until_the_new_one_is_complete(tmp_path):
    path = tmp_path / "keep.avi"
    path.write_bytes(b"old recording")
    rec = VideoRecorder(path, fps=30.0)
    rec.write(image(10))
    assert path.read_bytes() == b"old recording"
    rec.close()
    assert len(read_back(path)[0]) == 1


def test_no_frames_no_file(tmp_path):
    path = tmp_path / "empty.mp4"
    assert VideoRecorder(path, fps=30.0).close() is None
    assert not path.exists() and not list(tmp_path.iterdir())


def test_frame_size_must_not_change(tmp_path):
    with VideoRecorder(tmp_path / "x.mp4", fps=30.0) as rec:
        rec.write(image(0))
        with pytest.raises(ValueError, match=r"frame size must stay \(96, 64\), got \(64, 64\)"):
            rec.write(image(0, (64, 64)))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"fps": 0}, ValueError, "`fps` must be > 0 frames per second, got 0"),
        ({"fps": 30, "queue_size": 0}, ValueError, "`queue_size` must be >= 1 frames, got 0"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        VideoRecorder(tmp_path / "x.mp4", **kwargs)


def test_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="directory .*nope does not exist"):
        VideoRecorder(tmp_path / "nope" / "x.mp4", fps=30)


def test_closed_recorder_refuses_frames(tmp_path):
    rec = VideoRecorder(tmp_path / "x.mp4", fps=30)
    rec.close()
    with pytest.raises(RuntimeError, match="is closed"):
        rec.write(image(0))


def test_record_sink_fills_dropped_frames_with_the_previous_one():
    written: list[tuple[int, int]] = []

    class Recorder:
        def write(self, image, count=1):
            written.append((int(image[0, 0, 0]), count))

    sink = RecordSink(Recorder())  # type: ignore[arg-type]
    for index in (3, 4, 7, 8):
        sink.write(Frame(np.full((2, 2, 3), index, np.uint8), index, index / 30, 0.0), None)  # type: ignore[arg-type]
    # 5 and 6 were dropped: the screen still showed frame 4 then
    assert written == [(3, 1), (4, 1), (4, 2), (7, 1), (8, 1)]
    assert sum(c for _, c in written) == 8 - 3 + 1


# --- issue #11: say what is wrong (not "try another extension"); stale temporaries --------


def test_frames_too_small_for_the_codec_say_so(tmp_path):
    recorder = VideoRecorder(tmp_path / "out.mp4", fps=30)
    with pytest.raises(RuntimeError) as e:
        recorder.write(image(0, wh=(1, 1)))
    assert "the frames are 1x1 pixels, too small for the mp4v encoder" in str(e.value)
    assert "another extension" not in str(e.value)
    recorder.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("problem", ["folder gone", "read-only"])
def test_a_folder_that_cannot_take_the_recording_says_so(tmp_path, monkeypatch, problem):
    import errno
    import tempfile

    folder = tmp_path / "rec"
    folder.mkdir()
    recorder = VideoRecorder(folder / "out.avi", fps=30)
    if problem == "folder gone":  # removed after the run started
        folder.rmdir()
        pattern = r"cannot write --record .*out\.avi: directory .*rec does not exist"
    else:  # root ignores permission bits: the file system refuses instead

        class Closed:
            def __init__(self, *args):
                pass

            def isOpened(self):
                return False

            def release(self):
                pass

        def refuse(*args, **kwargs):
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr(cv2, "VideoWriter", Closed)
        Closed.fourcc = staticmethod(cv2.VideoWriter_fourcc)
        monkeypatch.setattr(tempfile, "mkstemp", refuse)
        pattern = r"cannot write --record .*out\.avi: the folder is read-only or not yours"
    with pytest.raises(RuntimeError, match=pattern) as e:
        recorder.write(image(0))
    assert "another extension" not in str(e.value)


def test_stale_partial_recordings_of_ours_are_removed_on_the_next_run(tmp_path):
    import os

    gone = tmp_path / f".out.avi.~posemotion-{2**22 + 3}.abcdefgh.partial.avi"  # writer gone
    alive = tmp_path / f".other.mp4.~posemotion-{os.getppid()}.abcdefgh.partial.mp4"  # running
    mine = tmp_path / ".notes.partial.txt"  # not our naming: never touched
    lookalike = tmp_path / f".out.{2**22 + 3}.partial.avi"  # a user's, only looks like ours
    for path in (gone, alive, mine, lookalike):
        path.write_bytes(b"half a video")
    with VideoRecorder(tmp_path / "out.avi", fps=30) as recorder:
        recorder.write(image(1))
    assert not gone.exists() and alive.exists() and mine.exists() and lookalike.exists()
    assert (tmp_path / "out.avi").is_file()


def test_a_symlink_planted_at_the_temporary_name_is_not_followed(tmp_path, monkeypatch):
    """#19 item 3: the recorder's temporary was `.NAME.PID.partial.EXT`, opened through any
    link planted there; now it is a new file under a random name (O_EXCL)."""
    import os
    import tempfile

    victim = tmp_path / "victim.avi"
    victim.write_bytes(b"precious")
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: iter(["plantedx", "fresh123"]))
    for name in (
        f".out.{os.getpid()}.partial.avi",  # the old predictable name
        f".out.avi.~posemotion-{os.getpid()}.plantedx.partial.avi",  # the first new one tried
    ):
        (tmp_path / name).symlink_to(victim)
    with VideoRecorder(tmp_path / "out.avi", fps=30) as recorder:
        recorder.write(image(1))
    assert victim.read_bytes() == b"precious"
    assert (tmp_path / "out.avi").is_file() and not (tmp_path / "out.avi").is_symlink()
    assert (tmp_path / "out.avi").stat().st_size > 100


@pytest.mark.parametrize("name", ["full.mp4", "full.avi"])
def test_a_full_disk_keeps_the_previous_recording_and_names_the_file(tmp_path, name):
    """#19 item 7: OpenCV's writer reports no failed write; the recording was renamed into
    place cut short and the run said "wrote"."""
    path = tmp_path / name
    path.write_bytes(b"previous recording")
    result = run_with_file_size_limit(
        f"""
        import numpy as np
        from realtime.sinks.recording import VideoRecorder
        noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
        try:
            with VideoRecorder({str(path)!r}, fps=30.0) as rec:
                rec.write(noise, count=60)
        except OSError as e:
            print(e.filename, e.strerror)
        """,
        limit_bytes=200_000,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path} recording failed: "), result.stdout
    assert "previous file was kept" in result.stdout
    assert path.read_bytes() == b"previous recording"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
