"""Files: atomic writes (a file is either the old good one or the complete new one), hashes,
and the user cache folder where generated files (pose bundle, keypoints, renders, demo
footage) are kept."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def user_cache_dir(*parts: str) -> Path:
    """$POSEMOTION_CACHE, else $XDG_CACHE_HOME/posemotion, else ~/.cache/posemotion; joined
    with `parts`. Read when called, so a changed environment applies at once."""
    if env := os.environ.get("POSEMOTION_CACHE"):
        root = Path(env).expanduser()
    elif xdg := os.environ.get("XDG_CACHE_HOME"):
        root = Path(xdg).expanduser() / "posemotion"
    else:
        root = Path.home() / ".cache" / "posemotion"
    return root.joinpath(*parts)


@contextmanager
def atomic_path(path: str | Path, *, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed onto `path`.

    If the block raises (or the process dies), `path` keeps its previous content and the
    temporary file is removed (or left as `*.tmp`, never under the final name). With
    `keep_suffix` the temporary name ends like `path` (`*.tmp.mp4`), for writers such as
    OpenCV's that choose the format from the extension.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".tmp" + (path.suffix if keep_suffix else "")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the final file should not be
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """sha256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_bytes):
            h.update(block)
    return h.hexdigest()
