"""Demo footage fetch: pip download into a cache, sha256 check, one file kept, clear failures."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pipeline.io import file_sha256
from realtime import demo

CONTENT = b"pretend this is cam02.mp4"


def fake_pip(
    member: str = demo.MEMBER, content: bytes = CONTENT, returncode: int = 0, stderr: str = ""
):
    calls: list[list[str]] = []

    def run(cmd):
        calls.append(list(cmd))
        dest = Path(cmd[cmd.index("--dest") + 1])
        if returncode == 0:
            with zipfile.ZipFile(dest / f"pose2sim-{demo.VERSION}-py3-none-any.whl", "w") as whl:
                whl.writestr(member, content)
                whl.writestr("Pose2Sim/other.txt", b"x")
        return subprocess.CompletedProcess(cmd, returncode, "", stderr)

    run.calls = calls  # type: ignore[attr-defined]
    return run


@pytest.fixture
def fake_sha(monkeypatch):
    monkeypatch.setattr(demo, "SHA256", hashlib.sha256(CONTENT).hexdigest())


def test_fetches_once_keeps_only_the_clip(tmp_path, fake_sha):
    runner = fake_pip()
    notes: list[str] = []
    path = demo.fetch_demo_clip(tmp_path, runner=runner, notify=notes.append)
    assert path == tmp_path / f"pose2sim-{demo.VERSION}" / "cam02.mp4"
    assert path.read_bytes() == CONTENT
    assert [p.name for p in path.parent.iterdir()] == ["cam02.mp4"]  # the wheel is gone
    cmd = runner.calls[0]
    assert cmd[:5] == [sys.executable, "-m", "pip", "download", "--no-deps"]
    assert cmd[-1] == f"pose2sim=={demo.VERSION}"
    assert len(notes) == 1 and "pip download pose2sim==0.10.49" in notes[0]
    # second use: from the cache, no pip
    assert demo.fetch_demo_clip(tmp_path, runner=runner) == path
    assert len(runner.calls) == 1


def test_corrupt_cache_is_fetched_again(tmp_path, fake_sha):
    target = demo.clip_path(tmp_path)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"truncated")
    runner = fake_pip()
    assert demo.fetch_demo_clip(tmp_path, runner=runner).read_bytes() == CONTENT
    assert len(runner.calls) == 1


def test_checksum_mismatch_is_refused(tmp_path):
    with pytest.raises(
        demo.DemoError,
        match=(
            r"could not fetch the demo clip \(.*cam02.mp4 has sha256 .*, "
            r"expected 94ff87cf978b.*\); pass --video PATH"
        ),
    ):
        demo.fetch_demo_clip(tmp_path, runner=fake_pip())
    assert not demo.clip_path(tmp_path).exists()


def test_pip_failure_says_how_to_use_video_instead(tmp_path):
    runner = fake_pip(
        returncode=1,
        stderr="WARNING: x\nERROR: No matching distribution found for pose2sim==0.10.49\n",
    )
    with pytest.raises(
        demo.DemoError,
        match=(
            r"failed: ERROR: No matching distribution found for pose2sim==0.10.49\); "
            r"pass --video PATH to use a video of your own"
        ),
    ):
        demo.fetch_demo_clip(tmp_path, runner=runner)


def test_pip_that_cannot_run(tmp_path):
    def runner(cmd):
        raise subprocess.TimeoutExpired(cmd, 600)

    with pytest.raises(demo.DemoError, match="pip download did not run"):
        demo.fetch_demo_clip(tmp_path, runner=runner)


def test_wheel_without_the_clip(tmp_path, fake_sha):
    with pytest.raises(
        demo.DemoError, match="has no readable Pose2Sim/Demo_SinglePerson/videos/cam02.mp4"
    ):
        demo.fetch_demo_clip(tmp_path, runner=fake_pip(member="Pose2Sim/elsewhere.mp4"))


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("POSEMOTION_CACHE", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "b"))
    assert demo.cache_dir() == tmp_path / "a"
    monkeypatch.delenv("POSEMOTION_CACHE")
    assert demo.cache_dir() == tmp_path / "b" / "posemotion"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert demo.cache_dir() == Path.home() / ".cache" / "posemotion"


@pytest.mark.integration
def test_real_clip_matches_the_issue(demo_clip):
    """The fetched clip: sha256 as published, 1080x1920, 60 fps, 100 frames."""
    from pipeline.video import VideoInfo

    assert file_sha256(demo_clip) == demo.SHA256
    info = VideoInfo.from_path(demo_clip)
    assert (info.width, info.height, info.fps, info.total_frames) == (1080, 1920, 60.0, 100)


def fake_wheel(contents: dict[str, bytes]):
    """A pip runner whose wheel holds `contents` (member -> bytes)."""
    calls: list[list[str]] = []

    def run(cmd):
        calls.append(list(cmd))
        dest = Path(cmd[cmd.index("--dest") + 1])
        with zipfile.ZipFile(dest / f"pose2sim-{demo.VERSION}-py3-none-any.whl", "w") as whl:
            for member, content in contents.items():
                whl.writestr(member, content)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    run.calls = calls  # type: ignore[attr-defined]
    return run


@pytest.fixture
def fake_videos(monkeypatch):
    """Each demo video's content is its member name; DEMO_VIDEOS and SHA256 match it."""
    contents = {m: m.encode() for m in demo.DEMO_VIDEOS}
    shas = {m: hashlib.sha256(c).hexdigest() for m, c in contents.items()}
    monkeypatch.setattr(demo, "DEMO_VIDEOS", shas)
    monkeypatch.setattr(demo, "SHA256", shas[demo.MEMBER])
    return contents


def test_demo_videos_are_the_single_person_cameras():
    assert list(demo.DEMO_VIDEOS) == [
        f"Pose2Sim/Demo_SinglePerson/videos/cam0{i}.mp4" for i in (1, 2, 3, 4)
    ]
    assert demo.DEMO_VIDEOS[demo.MEMBER] == demo.SHA256  # --demo's clip is one of them


def test_fetches_every_demo_video_with_one_download(tmp_path, fake_videos):
    runner = fake_wheel({**fake_videos, "Pose2Sim/Demo_MultiPerson/videos/cam01.mp4": b"2"})
    notes: list[str] = []
    paths = demo.fetch_demo_videos(tmp_path, runner=runner, notify=notes.append)
    assert [p.name for p in paths] == ["cam01.mp4", "cam02.mp4", "cam03.mp4", "cam04.mp4"]
    assert [p.read_bytes() for p in paths] == list(fake_videos.values())
    assert len(runner.calls) == 1
    assert sorted(p.name for p in paths[0].parent.iterdir()) == [p.name for p in paths]
    assert "the demo videos" in notes[0]
    assert "cam01.mp4, cam02.mp4, cam03.mp4, cam04.mp4 are kept" in notes[0]
    # the demo clip is the same file: no second download, for it or for the videos
    assert demo.fetch_demo_clip(tmp_path, runner=runner) == paths[1]
    assert demo.fetch_demo_videos(tmp_path, runner=runner) == paths
    assert len(runner.calls) == 1


def test_videos_reuse_the_cached_demo_clip(tmp_path, fake_videos):
    runner = fake_wheel(fake_videos)
    demo.fetch_demo_clip(tmp_path, runner=runner)
    notes: list[str] = []
    demo.fetch_demo_videos(tmp_path, runner=runner, notify=notes.append)
    assert len(runner.calls) == 2
    assert "only cam01.mp4, cam03.mp4, cam04.mp4 are kept" in notes[0]


def test_a_video_with_the_wrong_checksum_is_not_kept(tmp_path, fake_videos):
    bad = "Pose2Sim/Demo_SinglePerson/videos/cam03.mp4"
    runner = fake_wheel({**fake_videos, bad: b"tampered"})
    with pytest.raises(
        demo.DemoError, match=r"could not fetch the demo videos \(.*cam03.mp4 has sha256"
    ):
        demo.fetch_demo_videos(tmp_path, runner=runner)
    assert not demo.video_path(bad, tmp_path).exists()


def test_a_wheel_missing_a_video(tmp_path, fake_videos):
    gone = "Pose2Sim/Demo_SinglePerson/videos/cam04.mp4"
    runner = fake_wheel({m: c for m, c in fake_videos.items() if m != gone})
    with pytest.raises(demo.DemoError, match=f"has no readable {gone}"):
        demo.fetch_demo_videos(tmp_path, runner=runner)
