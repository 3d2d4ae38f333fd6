"""The on-disk keypoint cache: one `.npz` per key, checked on every read.

The key (`cache_key`) is the sha256 of everything a `KeypointStream` depends on: the video's
bytes, the pose model's bytes, the pose settings and the request's frames and boxes (not
its name). Bump `KEYPOINTS_VERSION` when what is stored, or how it is computed, changes.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from offline.keypoints.stream import ARRAYS, KeypointStream, StreamRequest
from pipeline.io import OutputError, atomic_path, clean_stale_temporaries, user_cache_dir
from pipeline.pose import PoseSettings

log = logging.getLogger(__name__)

# Bump when what is stored, or how it is computed, changes: old cache files are then unused.
KEYPOINTS_VERSION = 1


class CacheError(ValueError):
    """A cache file that cannot be used (corrupt, truncated or for another key)."""


class KeypointCache:
    """One `.npz` per key in `directory`; corrupt files are reported, deleted and rebuilt.

    Each file holds the `KeypointStream` arrays, a JSON `meta` string (key, version) and a
    sha256 `checksum` over the arrays. Writes are atomic.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = user_cache_dir("keypoints") if directory is None else Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def check_writable(self) -> None:
        """Make the folder if needed and check that it takes new files, before any pose
        runs (a read-only cache, or one that is a file, would lose the extraction); then
        remove the temporaries a killed run left there (`clean_stale_temporaries`).

        Raises:
            OutputError: one line naming the folder, what is wrong and what to do.
        """
        folder = self.directory
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=f".{os.getpid()}.probe.", suffix=".tmp", dir=folder)
        except OSError as e:
            reason = e.strerror or type(e).__name__
            if isinstance(e, (FileExistsError, NotADirectoryError)):
                reason = "it (or a folder above it) is a file, not a folder"
            elif e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                reason = "the folder is read-only or not yours"
            raise OutputError(
                f"cannot write the keypoint cache {folder}: {reason}; give --cache-dir a "
                "writable folder"
            ) from None
        os.close(fd)
        os.unlink(probe)
        clean_stale_temporaries([folder])

    def load(self, key: str, *, discarded: list[str] | None = None) -> KeypointStream | None:
        """The cached stream for `key`, or None if absent or corrupt.

        A corrupt file is logged as a warning, deleted, and appended to `discarded`.

        Raises:
            OutputError: something that is not a file (a folder) holds the entry's name.
        """
        path = self.path(key)
        try:
            mode = os.stat(path).st_mode
        except OSError:  # absent (or the cache folder is a file: `check_writable` says so)
            return None
        if not stat.S_ISREG(mode):
            raise OutputError(
                f"keypoint cache entry {path} is a folder (or another non-file) where a cache "
                "file belongs; remove it, or give --cache-dir another folder"
            )
        try:
            return read_stream(path, key)
        except CacheError as e:
            log.warning("discarding corrupt keypoint cache file %s: %s", path, e)
            path.unlink(missing_ok=True)
            if discarded is not None:
                discarded.append(str(path))
            return None

    def save(self, key: str, stream: KeypointStream) -> Path:
        """Write `stream` under `key` atomically; returns the file's path."""
        path = self.path(key)
        arrays = stream.arrays()
        meta = json.dumps({"key": key, "version": KEYPOINTS_VERSION})
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, meta=np.array(meta), checksum=np.array(checksum(arrays)), **arrays)
        return path


def read_stream(path: Path, key: str) -> KeypointStream:
    """Read and verify one cache file; raises CacheError if it cannot be trusted."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {name: npz[name] for name in npz.files}
    except Exception as e:  # noqa: BLE001 - zip, zlib, format and OS errors all mean "corrupt"
        raise CacheError(f"cannot read it ({type(e).__name__}: {e})") from e
    missing = [n for n in (*ARRAYS, "meta", "checksum") if n not in data]
    if missing:
        raise CacheError(f"missing arrays {missing}")
    try:
        meta = json.loads(str(data["meta"]))
    except ValueError as e:
        raise CacheError("unreadable meta") from e
    if meta.get("key") != key or meta.get("version") != KEYPOINTS_VERSION:
        raise CacheError(f"written for another key or version ({meta})")
    arrays = {n: data[n] for n in ARRAYS}
    if str(data["checksum"]) != checksum(arrays):
        raise CacheError("checksum mismatch")
    try:
        wh = arrays.pop("image_wh")
        return KeypointStream(**arrays, image_wh=(int(wh[0]), int(wh[1])))
    except (ValueError, TypeError, IndexError) as e:
        raise CacheError(f"bad arrays: {e}") from e


def checksum(arrays: Mapping[str, npt.NDArray[Any]]) -> str:
    """sha256 over named arrays (sorted by name; dtype, shape and bytes of each)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def cache_key(
    video_sha: str,
    model_sha: str,
    settings: PoseSettings,
    request: StreamRequest,
    split: tuple[int, int] | None = None,
) -> str:
    """sha256 of everything the stream depends on: video, pose model, settings, frames,
    boxes, and for a long video extracted in time ranges, (range frames, overlap)."""
    payload: dict[str, Any] = {
        "version": KEYPOINTS_VERSION,
        "video": video_sha,
        "model": model_sha,
        "settings": asdict(settings),
        **request.spec(),
    }
    if split is not None:
        payload["split"] = list(split)
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
