"""Files: atomic writes (a file is either the old good one or the complete new one), hashes,
and the user cache folder where generated files (pose bundle, keypoints, renders, demo
footage) are kept."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TypeVar

from pipeline.reading import NotAFileError as NotAFileError
from pipeline.reading import check_regular_file as check_regular_file
from pipeline.reading import open_regular as open_regular
from pipeline.reading import read_bytes as read_bytes
from pipeline.reading import read_json as read_json
from pipeline.reading import read_text as read_text

# Temporary files of ours: `.NAME.~posemotion-PID.RANDOM.KIND[.ext]` (`new_temporary`), KIND
# "tmp" (atomic_path) or "partial" (the JSONL writer, the recorder); PID is the writer's
# process id. The marker is what `clean_stale_temporaries` goes by: a user's own
# `.thesis.2024.final.tmp` never carries it. NAME is cut so the whole fits NAME_MAX.
TEMPORARY_MARKER: Final[str] = "~posemotion-"
_TEMPORARY: Final = re.compile(
    r"^\.(?P<name>.*)\.~posemotion-(?P<pid>\d+)\.[a-z0-9_]{8}\.(?:tmp|partial)(?:\.[A-Za-z0-9]+)?$"
)
STALE_AFTER_S: Final[float] = 3600.0
NAME_MAX: Final[int] = 255  # bytes in one file name (Linux, macOS)


class OutputError(ValueError):
    """An output path that would destroy an input or another output, or cannot be written."""


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


def temporary_prefix(path: str | Path, suffix: str = "", pid: int | None = None) -> str:
    """The start of our temporary names for `path` (`.NAME.~posemotion-PID.`), NAME cut so
    that the whole name, a random part and `suffix` fit in `NAME_MAX` bytes."""
    tail = f".{TEMPORARY_MARKER}{os.getpid() if pid is None else pid}."
    room = NAME_MAX - 1 - len(tail) - 8 - len(suffix.encode())
    name = Path(path).name.encode()[: max(room, 0)].decode(errors="ignore")
    return f".{name}{tail}"


def new_temporary(
    path: str | Path, kind: str = "tmp", *, keep_suffix: bool = False
) -> tuple[int, Path]:
    """Create a new, empty temporary file beside `path` (mode 0600) and open it: (fd, path).

    Created with `O_EXCL | O_NOFOLLOW` under a random name (`tempfile.mkstemp`), so it is
    never a file or symlink that was there before (one planted at a guessable name cannot
    redirect the output). `kind` ends the name ("tmp" or "partial"), then `path`'s own
    suffix with `keep_suffix` (for writers that choose the format from it)."""
    path = Path(path)
    suffix = f".{kind}" + (path.suffix if keep_suffix else "")
    prefix = temporary_prefix(path, suffix)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    return fd, Path(tmp)


def temporaries_of(path: str | Path, pid: int | None = None) -> list[Path]:
    """Our temporary files for `path` (of process `pid`, or of any), sorted by name."""
    path = Path(path)
    found = []
    for entry in sorted(path.parent.glob(".*")):
        match = _TEMPORARY.match(entry.name)
        if match is None or (pid is not None and int(match["pid"]) != pid):
            continue
        name = match["name"]
        cut = len(name.encode()) >= NAME_MAX - 64  # a long name is cut (temporary_prefix)
        if name == path.name or (cut and path.name.startswith(name)):
            found.append(entry)
    return found


@contextmanager
def atomic_path(path: str | Path, *, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed onto `path`.

    If the block raises (or the process dies), `path` keeps its previous content and the
    temporary file is removed (or left as `.NAME.~posemotion-PID.*.tmp`, never under the
    final name; `clean_stale_temporaries` removes such leftovers on a later run). The
    temporary file is created new (`new_temporary`: never a planted file or link). With
    `keep_suffix` the temporary name ends like `path` (`*.tmp.mp4`), for writers such as
    OpenCV's that choose the format from the extension.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = new_temporary(path, keep_suffix=keep_suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the final file should not be
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if e.filename is None or e.filename == tmp:  # e.g. ENOSPC from a write: name the file
            raise type(e)(e.errno, e.strerror or str(e), str(path)) from e
        raise
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


def resolved(path: str | Path) -> Path:
    """`path` made absolute with `~` expanded and every symlink followed (even when the
    file itself does not exist yet)."""
    return Path(os.path.realpath(Path(path).expanduser()))


def _same(a: Path, b: Path) -> bool:
    if resolved(a) == resolved(b):
        return True
    with contextlib.suppress(OSError):
        return os.path.samefile(a, b)  # hard links
    return False


def check_outputs(
    inputs: Mapping[str, str | Path | None], outputs: Mapping[str, str | Path | None]
) -> None:
    """Refuse an output that is the same file as an input or as another output, or lies
    inside an input folder (a dataset: the output could overwrite one of its files).

    Args:
        inputs, outputs: what each path is called for the user (e.g. "--video") -> the path
            (None: not given; "-", standard output, is never compared). Paths are resolved,
            symlinks and hard links included, before they are compared.

    Raises:
        OutputError: one line naming both options, the file, and what to do.
    """
    # a repeatable option's name may carry its path already ("--data DIR"): not said twice
    named_in = [
        (n.removesuffix(f" {p}"), Path(p))
        for n, p in inputs.items()
        if p is not None and str(p) != "-"
    ]
    named_out = [(n, Path(p)) for n, p in outputs.items() if p is not None and str(p) != "-"]
    for i, (name, out) in enumerate(named_out):
        for other, path in named_in:
            if _same(out, path):
                raise OutputError(
                    f"{name} {out} is the same file as the input {other} {path}: writing it "
                    f"would destroy the input; choose another {name} path"
                )
            if path.is_dir() and resolved(out).is_relative_to(resolved(path)):
                raise OutputError(
                    f"{name} {out} is inside the input {other} {path}: writing it could "
                    f"overwrite the input's files; choose a {name} path outside it"
                )
        for other, path in named_out[:i]:
            if _same(out, path):
                raise OutputError(
                    f"{name} {out} and {other} {path} are the same file: one would overwrite "
                    "the other; give them different paths"
                )


def check_output_location(name: str, path: str | Path, *, create_folders: bool = True) -> None:
    """Refuse an output path that cannot be written as a regular file, before any work.

    The path must be absent or a regular file (never a directory, device, FIFO or socket),
    and its nearest existing folder must be a folder that accepts new files (tried with an
    empty hidden file, removed at once, so read-only mounts are caught too). Without
    `create_folders` (writers that do not create them), its own folder must exist.

    Raises:
        OutputError: one line naming the option, the path, what is wrong and what to do.
    """
    path = Path(path).expanduser()
    if len(path.name.encode()) > NAME_MAX:
        raise OutputError(
            f"{name} {path}: the file name is {len(path.name.encode())} bytes, longer than "
            f"the {NAME_MAX} a folder takes; give a shorter name"
        )
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        st = None  # a parent is a file: reported below
    except OSError as e:
        raise OutputError(f"cannot write {name} {path}: {e.strerror}") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{name} {path} is a directory; give a file path inside it")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise OutputError(
            f"{name} {path} exists and is not a regular file (a device, pipe or socket); "
            "it is never replaced: give another path"
        )
    folder = resolved(path).parent
    if not create_folders and not folder.exists():
        raise OutputError(
            f"cannot write {name} {path}: directory {folder} does not exist; create it first"
        )
    while not folder.exists() and folder != folder.parent:
        if folder.is_symlink():
            break
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(
            f"cannot write {name} {path}: {folder} is a file, not a folder; give another path"
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{os.getpid()}.probe.", suffix=".tmp", dir=folder)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason = "the folder is read-only or not yours"
        raise OutputError(
            f"cannot write {name} {path}: {reason} ({folder}); choose a writable folder"
        ) from None
    os.close(fd)
    os.unlink(probe)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def clean_stale_temporaries(
    folders: Iterable[str | Path], *, max_age_s: float = STALE_AFTER_S
) -> list[Path]:
    """Remove our own leftover temporary files (`.NAME.~posemotion-PID.RANDOM.tmp` or
    `.partial`, see `new_temporary`) from `folders`: those whose writer process is gone, or
    untouched for `max_age_s`.

    Only regular files of this user whose names carry our marker are touched (never a
    user's `.notes.2024.final.tmp`, a symlink or a folder); a missing or unreadable folder
    is skipped. Returns the files removed.
    """
    removed: list[Path] = []
    now = time.time()
    for folder in {resolved(f) for f in folders}:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            match = _TEMPORARY.match(entry.name)
            if match is None:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
                    continue  # a link, folder or someone else's file: never ours
                old = now - st.st_mtime > max_age_s
                pid = int(match["pid"])
                if (pid != os.getpid() and not _pid_alive(pid)) or old:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except OSError:
                continue
    return removed


def prepare_outputs(
    inputs: Mapping[str, str | Path | None],
    outputs: Mapping[str, str | Path | None],
    folders: Mapping[str, str | Path | None] | None = None,
) -> None:
    """Before any work: `check_outputs` (output files and folders), `check_output_location`
    for every output file, output folders absent or folders, then `clean_stale_temporaries`
    in the files' folders. Raises OutputError (one line)."""
    check_outputs(inputs, {**outputs, **(folders or {})})
    for name, folder in (folders or {}).items():
        if folder is not None and Path(folder).exists() and not Path(folder).is_dir():
            raise OutputError(f"{name} {folder} is not a folder; give a folder path")
    given = [(n, Path(p)) for n, p in outputs.items() if p is not None and str(p) != "-"]
    for name, path in given:
        check_output_location(name, path)
    clean_stale_temporaries(resolved(p).parent for _, p in given)


def error_line(e: BaseException) -> str:
    """An error as one line: its message, an OSError as "reason: file; what to do"."""
    text = str(e).strip() or type(e).__name__
    if isinstance(e, OSError) and e.strerror:
        where = f": {e.filename}" if e.filename is not None else ""
        text = f"{e.strerror}{where}; check that path (space, permissions) and run again"
    return " ".join(text.split())


class Closing:
    """`with obj:` for objects that own a resource: entering returns the object, leaving
    calls its `close()` (also when the block raises)."""

    def close(self) -> object:
        raise NotImplementedError

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_C = TypeVar("_C", bound=Closing)
