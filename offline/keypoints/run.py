"""Pose extraction from video files into arrays, with an on-disk cache.

Training runs PoseLandmarker once per video stream and keeps the full 33-landmark output
(`KeypointTrack`), so the cache stays valid if the shared joint set changes;
`KeypointTrack.joints()` converts to the shared joints exactly as the live app does
(`PoseFrame.joints()`, `pipeline.skeleton.from_mediapipe`).

A *request* (`TrackRequest`) is one stream in one video: every frame, or chosen frame
indices, optionally cropped per frame to a person's box. Pose runs on the crop (one
`PoseEstimator` per request, VIDEO mode, timestamps frame / fps in ms), and the image
landmarks are mapped back to the whole frame, so `KeypointTrack.image` is always
normalised to the full frame whether or not a crop was used.

`extract_tracks` decodes each video once for all its requests, serves cached requests
from `KeypointCache` (one `.npz` per key = sha256 of video bytes, pose model bytes,
settings and frames/boxes), runs videos in parallel with joblib, and returns an
`ExtractionReport` of what was missing or skipped instead of printing anything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline import skeleton
from pipeline.io import atomic_path, file_sha256, user_cache_dir
from pipeline.pose import (
    PersonTrack,
    PoseEstimator,
    PoseFrame,
    PoseSettings,
    check_pose_model,
    default_model_path,
)
from pipeline.validate import check_array
from pipeline.video import (
    VideoError,
    VideoInfo,
    fit_size,
    iter_frames,
    resize_to,
)

log = logging.getLogger(__name__)

FloatArr = npt.NDArray[np.float32]
IntArr = npt.NDArray[np.int64]

# Frames decoded ahead of pose on a thread (decoding overlaps inference).
PREFETCH = 4
# Bump when what is stored, or how it is computed, changes: old cache files are then unused.
KEYPOINTS_VERSION = 1
_ARRAYS = (
    "image", "world", "visibility", "presence", "frames", "t_s", "image_wh",
    "unreadable_frames", "frames_past_end",
)  # fmt: skip


@dataclass(frozen=True)
class TrackRequest:
    """One pose stream to extract from a video.

    Attributes:
        name: unique id of the stream (used in reports and as the result's key).
        frames: (N,) strictly increasing frame indices (0-based), or None for every frame.
        boxes: (N, 4) person boxes (x0, y0, x1, y1) as fractions of the frame's width and
            height, y down, one per frame in `frames`; None to use whole frames.
    """

    name: str
    frames: IntArr | None = None
    boxes: npt.NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        if self.frames is not None:
            check_array("frames", self.frames, (None,), kind="iu")
            if self.frames.size == 0:
                raise ValueError(f"request {self.name!r}: `frames` must not be empty")
            if self.frames[0] < 0 or (np.diff(self.frames) <= 0).any():
                raise ValueError(
                    f"request {self.name!r}: `frames` must be strictly increasing indices >= 0"
                )
        if self.boxes is not None:
            if self.frames is None:
                raise ValueError(f"request {self.name!r}: `boxes` need `frames`")
            check_array("boxes", self.boxes, (self.frames.size, 4))
            b = self.boxes
            if not np.isfinite(b).all() or (b[:, 2] <= b[:, 0]).any() or (b[:, 3] <= b[:, 1]).any():
                raise ValueError(
                    f"request {self.name!r}: `boxes` must be finite (x0, y0, x1, y1) "
                    "with x1 > x0 and y1 > y0"
                )
            if ((b[:, 2] <= 0) | (b[:, 3] <= 0) | (b[:, 0] >= 1) | (b[:, 1] >= 1)).any():
                raise ValueError(f"request {self.name!r}: every box must overlap the frame")

    def spec(self) -> dict[str, Any]:
        """The frames and boxes as JSON-able data for the cache key."""
        return {
            "frames": None if self.frames is None else _digest(self.frames.astype(np.int64)),
            "boxes": None if self.boxes is None else _digest(self.boxes.astype(np.float64)),
        }


@dataclass(frozen=True)
class KeypointTrack:
    """PoseLandmarker output for one stream: 33 landmarks per decoded frame.

    Attributes:
        image: (N, 33, 3) image landmarks normalised to the whole frame (x / width,
            y / height, y down; z in the same scale as x), also when pose ran on a crop.
        world: (N, 33, 3) world landmarks, metres, MediaPipe camera axes (y down, z away).
        visibility: (N, 33) landmark visibility, [0, 1].
        presence: (N, 33) landmark presence, [0, 1].
        frames: (N,) frame indices, increasing.
        t_s: (N,) frame times, seconds (frame index / the video's fps).
        image_wh: (width, height) of the video frames, pixels.
        unreadable_frames: requested frame indices that failed to decode.
        frames_past_end: requested frame indices beyond the video's last frame.
    Landmark arrays are NaN in frames where nobody was found.
    """

    image: FloatArr
    world: FloatArr
    visibility: FloatArr
    presence: FloatArr
    frames: IntArr
    t_s: npt.NDArray[np.float64]
    image_wh: tuple[int, int]
    unreadable_frames: IntArr = field(default_factory=lambda: np.zeros(0, np.int64))
    frames_past_end: IntArr = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        n, m = self.frames.shape[0], skeleton.N_LANDMARKS
        check_array("image", self.image, (n, m, 3))
        check_array("world", self.world, (n, m, 3))
        check_array("visibility", self.visibility, (n, m))
        check_array("presence", self.presence, (n, m))
        check_array("frames", self.frames, (n,), kind="iu")
        check_array("t_s", self.t_s, (n,))
        check_array("unreadable_frames", self.unreadable_frames, (None,), kind="iu")
        check_array("frames_past_end", self.frames_past_end, (None,), kind="iu")

    @property
    def found(self) -> npt.NDArray[np.bool_]:
        """(N,) True where a person was found."""
        return np.isfinite(self.visibility).any(axis=1)

    def joints(self) -> tuple[FloatArr, FloatArr, FloatArr]:
        """Shared joints as `PoseFrame.joints()` gives them live.

        Returns:
            world (N, J, 3) metres y-up, image (N, J, 2) in image heights y-up (whole
            frame), visibility (N, J) (0 where nobody was found).
        """
        vis = np.nan_to_num(self.visibility, nan=0.0)
        return skeleton.from_mediapipe(self.world, self.image, vis, self.image_wh)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(getattr(self, name)) for name in _ARRAYS}


@dataclass
class ExtractionReport:
    """What extraction and dataset reading could not use, for the caller to print.

    Attributes:
        missing_videos: video path -> reason (not found, cannot be opened, no frames).
        unreadable_frames: stream name -> requested frame indices that failed to decode.
        frames_past_end: stream name -> requested frame indices beyond the video's end.
        discarded_cache: corrupt cache files that were deleted and rebuilt.
        skipped: stream/segment name -> why no sequence was made from it.
        ties: segments whose label was decided by a tie rule (see the reader).
        n_cached, n_extracted: streams served from the cache / run through pose.
        n_frames_extracted: frames run through pose.
    """

    missing_videos: dict[str, str] = field(default_factory=dict)
    unreadable_frames: dict[str, list[int]] = field(default_factory=dict)
    frames_past_end: dict[str, list[int]] = field(default_factory=dict)
    discarded_cache: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    ties: list[str] = field(default_factory=list)
    n_cached: int = 0
    n_extracted: int = 0
    n_frames_extracted: int = 0

    def lines(self) -> list[str]:
        """Human-readable summary, one problem kind per line (long lists shortened)."""
        out = [
            f"keypoints: {self.n_extracted} streams extracted ({self.n_frames_extracted} "
            f"frames), {self.n_cached} from the cache"
        ]
        if self.missing_videos:
            items = [f"{k} ({v})" for k, v in self.missing_videos.items()]
            out.append(f"{len(items)} videos missing or unreadable: {_shorten(items)}")
        for title, frames in (("unreadable", self.unreadable_frames),
                              ("past the end of the video", self.frames_past_end)):  # fmt: skip
            if frames:
                total = sum(len(v) for v in frames.values())
                items = [f"{k} {_shorten([str(i) for i in v], 5)}" for k, v in frames.items()]
                out.append(f"{total} frames {title}, in {len(frames)} streams: {_shorten(items)}")
        if self.discarded_cache:
            out.append(
                f"{len(self.discarded_cache)} corrupt cache files rebuilt: "
                f"{_shorten(self.discarded_cache)}"
            )
        if self.skipped:
            items = [f"{k} ({v})" for k, v in self.skipped.items()]
            out.append(f"{len(items)} streams skipped: {_shorten(items)}")
        if self.ties:
            out.append(f"{len(self.ties)} labels decided by the tie rule: {_shorten(self.ties)}")
        return out


def _shorten(items: list[str], limit: int = 10) -> str:
    more = f", … and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


class CacheError(ValueError):
    """A cache file that cannot be used (corrupt, truncated or for another key)."""


class KeypointCache:
    """One `.npz` per key in `directory`; corrupt files are reported, deleted and rebuilt.

    Each file holds the `KeypointTrack` arrays, a JSON `meta` string (key, version) and a
    sha256 `checksum` over the arrays. Writes are atomic.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = user_cache_dir("keypoints") if directory is None else Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def load(self, key: str, *, discarded: list[str] | None = None) -> KeypointTrack | None:
        """The cached track for `key`, or None if absent or corrupt.

        A corrupt file is logged as a warning, deleted, and appended to `discarded`.
        """
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return read_track(path, key)
        except CacheError as e:
            log.warning("discarding corrupt keypoint cache file %s: %s", path, e)
            path.unlink(missing_ok=True)
            if discarded is not None:
                discarded.append(str(path))
            return None

    def save(self, key: str, track: KeypointTrack) -> Path:
        """Write `track` under `key` atomically; returns the file's path."""
        path = self.path(key)
        arrays = track.arrays()
        meta = json.dumps({"key": key, "version": KEYPOINTS_VERSION})
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, meta=np.array(meta), checksum=np.array(_checksum(arrays)), **arrays)
        return path


def read_track(path: Path, key: str) -> KeypointTrack:
    """Read and verify one cache file; raises CacheError if it cannot be trusted."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {name: npz[name] for name in npz.files}
    except Exception as e:  # noqa: BLE001 - zip, zlib, format and OS errors all mean "corrupt"
        raise CacheError(f"cannot read it ({type(e).__name__}: {e})") from e
    missing = [n for n in (*_ARRAYS, "meta", "checksum") if n not in data]
    if missing:
        raise CacheError(f"missing arrays {missing}")
    try:
        meta = json.loads(str(data["meta"]))
    except ValueError as e:
        raise CacheError("unreadable meta") from e
    if meta.get("key") != key or meta.get("version") != KEYPOINTS_VERSION:
        raise CacheError(f"written for another key or version ({meta})")
    arrays = {n: data[n] for n in _ARRAYS}
    if str(data["checksum"]) != _checksum(arrays):
        raise CacheError("checksum mismatch")
    try:
        wh = arrays.pop("image_wh")
        return KeypointTrack(**arrays, image_wh=(int(wh[0]), int(wh[1])))
    except (ValueError, TypeError, IndexError) as e:
        raise CacheError(f"bad arrays: {e}") from e


def _checksum(arrays: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def cache_key(video_sha: str, model_sha: str, settings: PoseSettings, request: TrackRequest) -> str:
    """sha256 of everything the track depends on: video, pose model, settings, frames, boxes."""
    payload = {
        "version": KEYPOINTS_VERSION,
        "video": video_sha,
        "model": model_sha,
        "settings": asdict(settings),
        **request.spec(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def resolve_pose_model(pose_model: str | Path | None) -> Path:
    """The PoseLandmarker bundle to use: `pose_model` (checked) or the built-in one."""
    return default_model_path() if pose_model is None else check_pose_model(pose_model)


def crop_pixels(
    box: npt.NDArray[np.float64], image_wh: tuple[int, int], padding: float
) -> tuple[int, int, int, int]:
    """Pixel crop (x0, y0, x1, y1), end-exclusive, for a fractional box plus padding.

    Args:
        box: (4,) x0, y0, x1, y1 as fractions of the frame's width and height.
        image_wh: frame (width, height), pixels.
        padding: margin on each side as a fraction of the box's width / height.

    The crop is clipped to the frame and is at least 1 pixel wide and high.
    """
    w, h = image_wh
    x0, y0, x1, y1 = (float(v) for v in box)
    px, py = padding * (x1 - x0), padding * (y1 - y0)
    left = min(max(math.floor((x0 - px) * w), 0), w - 1)
    top = min(max(math.floor((y0 - py) * h), 0), h - 1)
    right = max(min(math.ceil((x1 + px) * w), w), left + 1)
    bottom = max(min(math.ceil((y1 + py) * h), h), top + 1)
    return left, top, right, bottom


def uncrop(
    frame: PoseFrame, crop: tuple[int, int, int, int], image_wh: tuple[int, int]
) -> FloatArr:
    """(33, 3) image landmarks of a crop, renormalised to the whole frame (z scaled like x)."""
    x0, y0, x1, y1 = crop
    w, h = image_wh
    scale = np.array([(x1 - x0) / w, (y1 - y0) / h, (x1 - x0) / w], np.float32)
    offset = np.array([x0 / w, y0 / h, 0.0], np.float32)
    return frame.image * scale + offset


class _Stream:
    """Per-request state while a video is decoded (estimator opened lazily)."""

    def __init__(self, request: TrackRequest) -> None:
        self.request = request
        self.rows: list[tuple[int, float, PoseFrame, FloatArr]] = []
        self.track: PersonTrack | None = None

    def close(self) -> None:
        if self.track is not None:
            self.track.estimator.close()
            self.track = None


def extract_video(
    video: str | Path,
    requests: list[TrackRequest],
    model_path: str | Path,
    settings: PoseSettings,
    on_frames: Callable[[int], None] | None = None,
) -> list[KeypointTrack]:
    """Decode `video` once and run every request on it (one PoseEstimator per request).

    Args:
        video: the video file.
        requests: streams to extract; see `TrackRequest`.
        model_path: PoseLandmarker .task bundle.
        settings: pose settings.
        on_frames: called with the number of pose calls made after each decoded frame.

    Returns:
        One track per request, in order.

    Raises:
        FileNotFoundError, VideoError: the video is missing or cannot be decoded at all.
    """
    import cv2

    if not requests:
        return []
    info = VideoInfo.from_path(video)
    wh = info.resolution_wh
    streams = [_Stream(r) for r in requests]
    wanted: dict[int, list[tuple[_Stream, int]]] = {}
    every = [s for s in streams if s.request.frames is None]
    for s in streams:
        if s.request.frames is not None:
            for row, index in enumerate(s.request.frames.tolist()):
                wanted.setdefault(index, []).append((s, row))
    last = math.inf if every else max(wanted)
    skipped: list[int] = []
    # Whole frames are scaled while decoding, on the prefetch thread; crops are cut from
    # full-resolution frames and scaled afterwards.
    whole = all(r.boxes is None for r in requests)
    frames = iter_frames(
        video, skipped=skipped, max_side=settings.max_side if whole else 0, prefetch=PREFETCH
    )
    try:
        for vf in frames:
            users = [(s, -1) for s in every] + wanted.get(vf.index, [])
            if users:
                rgb = np.asarray(cv2.cvtColor(vf.image, cv2.COLOR_BGR2RGB), np.uint8)
                for stream, row in users:
                    _detect(stream, row, rgb, vf.index, vf.t_s, model_path, settings, wh)
                if on_frames is not None:
                    on_frames(len(users))
            if vf.index >= last:
                break
    finally:
        frames.close()
        for s in streams:
            s.close()
    return [_track(s, wh, set(skipped)) for s in streams]


def _detect(
    stream: _Stream,
    row: int,
    rgb: npt.NDArray[np.uint8],
    index: int,
    t_s: float,
    model_path: str | Path,
    settings: PoseSettings,
    wh: tuple[int, int],
) -> None:
    request = stream.request
    if stream.track is None:
        stream.track = PersonTrack(
            PoseEstimator(
                model_path,
                mode="video",
                num_poses=settings.num_poses,
                min_detection_confidence=settings.min_detection_confidence,
                min_presence_confidence=settings.min_presence_confidence,
                min_tracking_confidence=settings.min_tracking_confidence,
            )
        )
    if request.boxes is None:
        crop = (0, 0, wh[0], wh[1])
        image = rgb  # the whole frame, maybe already scaled
    else:
        crop = crop_pixels(request.boxes[row], wh, settings.crop_padding)
        x0, y0, x1, y1 = crop
        image = rgb[y0:y1, x0:x1]
    image = resize_to(image, fit_size(image.shape[1], image.shape[0], settings.max_side))
    frame = stream.track(np.ascontiguousarray(image), t_s)
    stream.rows.append((index, t_s, frame, uncrop(frame, crop, wh)))
    if request.frames is not None and row == request.frames.size - 1:
        stream.close()  # free the estimator as soon as its segment ends


def _track(stream: _Stream, wh: tuple[int, int], skipped: set[int]) -> KeypointTrack:
    rows = stream.rows
    m = skeleton.N_LANDMARKS
    decoded = {r[0] for r in rows}
    requested = [] if stream.request.frames is None else stream.request.frames.tolist()
    lost = [i for i in requested if i not in decoded]
    return KeypointTrack(
        image=np.array([r[3] for r in rows], np.float32).reshape(-1, m, 3),
        world=np.array([r[2].world for r in rows], np.float32).reshape(-1, m, 3),
        visibility=np.array([r[2].visibility for r in rows], np.float32).reshape(-1, m),
        presence=np.array([r[2].presence for r in rows], np.float32).reshape(-1, m),
        frames=np.array([r[0] for r in rows], np.int64),
        t_s=np.array([r[1] for r in rows], np.float64),
        image_wh=wh,
        unreadable_frames=np.array([i for i in lost if i in skipped], np.int64),
        frames_past_end=np.array([i for i in lost if i not in skipped], np.int64),
    )


@dataclass(frozen=True)
class VideoJob:
    """One video file and the streams to extract from it."""

    video: Path
    requests: tuple[TrackRequest, ...]


def _job_worker(
    index: int,
    job: VideoJob,
    model_path: str,
    settings: PoseSettings,
    on_frames: Callable[[int], None] | None = None,
) -> tuple[int, list[KeypointTrack] | None, str | None]:
    """Tracks of one job, or None and why its video could not be read (runs in workers)."""
    try:
        return (
            index,
            extract_video(job.video, list(job.requests), model_path, settings, on_frames),
            None,
        )
    except (FileNotFoundError, VideoError) as e:
        return index, None, str(e)


def extract_tracks(
    jobs: Iterable[VideoJob],
    *,
    cache: KeypointCache | None = None,
    pose_model: str | Path | None = None,
    settings: PoseSettings | None = None,
    n_jobs: int = 1,
    progress: bool = False,
    report: ExtractionReport | None = None,
) -> tuple[dict[str, KeypointTrack], ExtractionReport]:
    """Keypoints for every request of every job, from the cache or by running pose.

    Args:
        jobs: videos and their requests; request names must be unique across jobs.
        cache: where tracks are kept between runs; None to always extract.
        pose_model: PoseLandmarker .task bundle; None for the built-in one.
        settings: pose settings (default `PoseSettings()`).
        n_jobs: videos processed in parallel (joblib; -1 = all cores). Each worker makes
            its own PoseEstimators.
        progress: show a tqdm bar (frames) on stderr.
        report: a report to add to (a new one by default).

    Returns:
        request name -> track (requests whose video is missing or unreadable are absent),
        and the report listing missing videos, lost frames and rebuilt cache files.
    """
    if n_jobs == 0:
        raise ValueError("`n_jobs` must be >= 1, or negative for all cores but n-1, got 0")
    settings = settings or PoseSettings()
    report = report or ExtractionReport()
    jobs = list(jobs)
    names = [r.name for j in jobs for r in j.requests]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"request names must be unique, got duplicates {dupes[:5]}")
    model_path = resolve_pose_model(pose_model)
    model_sha = file_sha256(model_path)
    tracks: dict[str, KeypointTrack] = {}
    todo: list[tuple[VideoJob, dict[str, str]]] = []  # job with only uncached requests, keys
    for job in jobs:
        if not Path(job.video).is_file():
            report.missing_videos[str(job.video)] = "not found"
            continue
        video_sha = file_sha256(job.video)
        keys, pending = {}, []
        for r in job.requests:
            key = cache_key(video_sha, model_sha, settings, r)
            hit = cache.load(key, discarded=report.discarded_cache) if cache else None
            if hit is None:
                keys[r.name] = key
                pending.append(r)
            else:
                tracks[r.name] = hit
                report.n_cached += 1
        if pending:
            todo.append((VideoJob(Path(job.video), tuple(pending)), keys))

    counts = [_n_frames(job) for job, _ in todo] if progress else [0] * len(todo)
    bar = _progress_bar(sum(counts)) if progress and todo else None
    serial = n_jobs == 1 or len(todo) < 2  # serial runs tick the bar frame by frame
    try:
        if serial:
            update = None if bar is None else bar.update
            results: Iterable[tuple[int, list[KeypointTrack] | None, str | None]] = (
                _job_worker(i, job, str(model_path), settings, update)
                for i, (job, _) in enumerate(todo)
            )
        else:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(_job_worker)(i, job, str(model_path), settings)
                for i, (job, _) in enumerate(todo)
            )
        for i, found, error in results:
            job, keys = todo[i]
            if bar is not None and not serial:
                bar.update(counts[i])
            if found is None:
                report.missing_videos[str(job.video)] = error or "unreadable"
                continue
            for request, track in zip(job.requests, found, strict=True):
                report.n_extracted += 1
                report.n_frames_extracted += int(track.frames.size)
                tracks[request.name] = track
                if cache is not None:
                    cache.save(keys[request.name], track)
    finally:
        if bar is not None:
            bar.close()
    for name, track in tracks.items():
        if track.unreadable_frames.size:
            report.unreadable_frames[name] = track.unreadable_frames.tolist()
        if track.frames_past_end.size:
            report.frames_past_end[name] = track.frames_past_end.tolist()
    return tracks, report


def _n_frames(job: VideoJob) -> int:
    """Pose calls a job will make (an every-frame request counts the video's length)."""
    total = 0
    for r in job.requests:
        if r.frames is not None:
            total += int(r.frames.size)
        else:
            try:
                total += VideoInfo.from_path(job.video).total_frames
            except (FileNotFoundError, VideoError):
                pass
    return total


def _progress_bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", desc="pose", dynamic_ncols=True)


def extract_keypoints(
    video_path: str | Path,
    *,
    frames: IntArr | None = None,
    crop_boxes: npt.NDArray[np.float64] | None = None,
    pose_model: str | Path | None = None,
    settings: PoseSettings | None = None,
    cache: KeypointCache | None = None,
) -> KeypointTrack:
    """Keypoints of one video stream (all frames, or `frames` cropped to `crop_boxes`).

    Args:
        video_path: the video file.
        frames: (N,) increasing frame indices; None for every frame.
        crop_boxes: (N, 4) person boxes (x0, y0, x1, y1), fractions of width/height.
        pose_model: PoseLandmarker .task bundle; None for the built-in one.
        settings: pose settings (default `PoseSettings()`).
        cache: keypoint cache to read and fill; None to always extract.

    Raises:
        FileNotFoundError, VideoError: the video is missing or unreadable.
    """
    request = TrackRequest(Path(video_path).name, frames, crop_boxes)
    tracks, report = extract_tracks(
        [VideoJob(Path(video_path), (request,))],
        cache=cache, pose_model=pose_model, settings=settings,
    )  # fmt: skip
    if request.name not in tracks:
        reason = report.missing_videos.get(str(video_path), "unreadable")
        if reason == "not found":
            raise FileNotFoundError(f"video not found: {video_path}")
        raise VideoError(reason)
    return tracks[request.name]
