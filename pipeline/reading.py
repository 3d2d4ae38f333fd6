"""Reading the user's files: only regular files are opened (a folder, FIFO or device is
named as such, and a FIFO never blocks the reader), text is UTF-8, JSON is one reader."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO


class NotAFileError(ValueError):
    """A path that exists but is a folder, FIFO, device or socket where a file is read."""


def kind_of(mode: int) -> str:
    """What a `st_mode` is, for a message: "a directory", "a FIFO (named pipe)", ..."""
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _not_a_file(what: str, path: str | Path, mode: int) -> NotAFileError:
    return NotAFileError(f"{what} {path} is {kind_of(mode)}, not a file; give a regular file")


def check_regular_file(path: str | Path, what: str = "file") -> Path:
    """`path` if it is a regular file (links followed), checked without opening it (a FIFO
    would block), for readers that take a path (OpenCV, mediapipe).

    Raises:
        FileNotFoundError: nothing there ("WHAT not found: PATH").
        NotAFileError: a directory, FIFO, device or socket, named as such.
    """
    try:
        st = os.stat(Path(path).expanduser())
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(f"{what} not found: {path}") from None
    if not stat.S_ISREG(st.st_mode):
        raise _not_a_file(what, path, st.st_mode)
    return Path(path)


def open_regular(path: str | Path, what: str = "file") -> BinaryIO:
    """Open a regular file for reading (binary); anything else is refused before a byte is
    read: the file is opened non-blocking, so a FIFO cannot hang the caller.

    Raises:
        FileNotFoundError: nothing there ("WHAT not found: PATH").
        NotAFileError: a directory, FIFO, device or socket, named as such.
        OSError: as `open` does otherwise (permissions).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(Path(path).expanduser(), flags)
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise _not_a_file(what, path, stat.S_IFDIR) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _not_a_file(what, path, mode)
    os.set_blocking(fd, True)
    return open(fd, "rb")


def read_bytes(path: str | Path, what: str = "file") -> bytes:
    """The bytes of a regular file (`open_regular`: never a FIFO or device)."""
    with open_regular(path, what) as f:
        return f.read()


def read_text(path: str | Path, what: str = "file", *, encoding: str = "utf-8") -> str:
    """The text of a UTF-8 regular file (`encoding` "utf-8-sig" also takes a leading BOM).

    Raises:
        FileNotFoundError, NotAFileError, OSError: as `open_regular`.
        ValueError: not UTF-8 (UTF-16 and the like): one line naming `what`, the path and
            what to do.
    """
    data = read_bytes(path, what)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(data) > 1 and 0 in data[:2])
        found = "UTF-16" if utf16 else f"not UTF-8 (byte {e.start})"
        raise ValueError(f"{what} {path} is {found} text; save it as UTF-8 and run again") from None


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """A UTF-8 JSON file parsed (a leading BOM taken): the one JSON reader of user files
    (label files, joint maps, sidecars, model cards).

    Raises:
        FileNotFoundError, NotAFileError, OSError: as `open_regular`.
        ValueError: not UTF-8, not JSON, or nested too deeply to parse: one line naming
            `what` and the path.
    """
    text = read_text(path, what, encoding="utf-8-sig")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{what} {path} is not valid JSON: {e}") from None
    except RecursionError:
        raise ValueError(
            f"{what} {path} is nested too deeply to be a {what} (thousands of levels); "
            "check that it is the right file"
        ) from None


def npz_member_shape(npz: Any, key: str) -> tuple[int, ...]:
    """The shape an array of an open `np.load(...)` .npz archive declares in its header,
    read without loading (or allocating) the array."""
    import numpy as np

    with npz.zip.open(f"{key}.npy") as f:
        version = np.lib.format.read_magic(f)  # type: ignore[no-untyped-call]
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(f)  # type: ignore[no-untyped-call]
        else:
            header = np.lib.format.read_array_header_2_0(f)  # type: ignore[no-untyped-call]
    return tuple(int(n) for n in header[0])
