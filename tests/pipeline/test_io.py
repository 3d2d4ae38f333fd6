"""Tests for pipeline/io.py: atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipeline.io import atomic_path, write_bytes_atomic, write_text_atomic


def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_write_text_creates_parents_and_content(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "card.json"
    write_text_atomic(target, "héllo\n")
    assert target.read_bytes() == "héllo\n".encode()
    assert _leftovers(target.parent, {"card.json"}) == []


def test_write_bytes_replaces_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "model.joblib"
    target.write_bytes(b"old")
    write_bytes_atomic(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert _leftovers(tmp_path, {"model.joblib"}) == []


def test_failed_block_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "model.joblib"
    target.write_bytes(b"old good model")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as tmp:
            assert tmp.parent == target.parent and tmp != target
            tmp.write_bytes(b"half a mod")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old good model"
    assert _leftovers(tmp_path, {"model.joblib"}) == []  # the temporary file is gone


def test_failed_block_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new.bin"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_file_is_complete_only_after_the_block(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("done")
        assert not target.exists()  # nothing under the final name while writing
    assert target.read_text() == "done"


def test_permissions_are_not_private(tmp_path: Path) -> None:
    target = tmp_path / "shared.json"
    old_umask = os.umask(0o022)
    try:
        write_text_atomic(target, "{}")
    finally:
        os.umask(old_umask)
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode & 0o044 == 0o044, oct(mode)  # group and others may read (mkstemp gives 0600)
    assert mode & 0o200  # the owner may write


def test_keep_suffix_ends_the_temporary_name_like_the_target(tmp_path) -> None:
    """Writers that pick a format by extension (OpenCV) see `.mp4` on the temporary file."""
    target = tmp_path / "clip.mp4"
    with atomic_path(target, keep_suffix=True) as tmp:
        assert tmp.name.endswith(".tmp.mp4") and tmp.parent == tmp_path
        tmp.write_bytes(b"video")
    assert target.read_bytes() == b"video" and not tmp.exists()
    with atomic_path(target) as tmp:
        assert tmp.name.endswith(".tmp")
        tmp.write_bytes(b"x")
