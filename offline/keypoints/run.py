"""Keypoints of many videos: cached streams served, the rest extracted in parallel.

`extract_streams` plans one `VideoJob` per video with only its uncached requests, serves
cached requests from `KeypointCache`, runs the jobs on an `offline.cluster.Executor` (each
video opened and decoded once, see `extract.extract_video`; a long video as time ranges,
`plan_segments`), fills the cache as each video is done, and returns an
`ExtractionReport` of what was missing or skipped instead of printing anything.
Progress goes to an `offline.progress.Progress` callback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from offline import cluster
from offline.cluster import Executor
from offline.keypoints.cache import KeypointCache, cache_key
from offline.keypoints.extract import extract_video
from offline.keypoints.report import ExtractionReport
from offline.keypoints.stream import KeypointStream, StreamRequest
from offline.progress import Progress
from pipeline.io import file_sha256
from pipeline.pose import PoseSettings, check_pose_model, default_model_path
from pipeline.types import IntArr
from pipeline.video import VideoError, VideoInfo

# The `Progress` task of extraction; its units are pose calls (frames of a stream).
PROGRESS_TASK = "pose frames"

# A whole-video request on a video longer than 1.5 x SEGMENT_FRAMES frames runs as time
# ranges of SEGMENT_FRAMES (2 min at 30 fps), each a unit of work of its own, decoded from
# SEGMENT_OVERLAP frames earlier so the tracker has found the person by its first frame.
SEGMENT_FRAMES = 3600
SEGMENT_OVERLAP = 30


@dataclass(frozen=True)
class VideoJob:
    """One video file and the streams to extract from it."""

    video: Path
    requests: tuple[StreamRequest, ...]


# (streams or None, why not, the header's frame count or 0)
_Result = tuple[list[KeypointStream] | None, str | None, int]


@dataclass(frozen=True)
class _Shared:
    """What every extraction unit needs besides its video (sent to each worker once)."""

    model_path: str
    settings: PoseSettings
    count: _FrameCount | None = None  # serial runs only: frames counted as they run


def resolve_pose_model(pose_model: str | Path | None) -> Path:
    """The PoseLandmarker bundle to use: `pose_model` (checked) or the built-in one."""
    return default_model_path() if pose_model is None else check_pose_model(pose_model)


def extract_streams(
    jobs: Iterable[VideoJob],
    *,
    cache: KeypointCache | None = None,
    pose_model: str | Path | None = None,
    settings: PoseSettings | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
    report: ExtractionReport | None = None,
    executor: Executor | None = None,
) -> tuple[dict[str, KeypointStream], ExtractionReport]:
    """Keypoints for every request of every job, from the cache or by running pose.

    Args:
        jobs: videos and their requests; request names must be unique across jobs.
        cache: where streams are kept between runs; None to always extract.
        pose_model: PoseLandmarker .task bundle; None for the built-in one.
        settings: pose settings (default `PoseSettings()`).
        n_jobs: videos processed in parallel (joblib; -1 = all cores). Each worker makes
            its own PoseEstimators.
        executor: where the videos are extracted (`offline.cluster`); default the open
            cluster session's engine, else `n_jobs` local processes. Each video is one
            unit; its streams come back here and are cached here, as each video ends.
        progress: told the frames run through pose (task `PROGRESS_TASK`) when there are
            any to run. Frames of chosen-frame requests count from the start; a
            whole-video request's frames join the total when its video is opened (serial
            runs) or finished (parallel runs), from the header of the capture that decodes.
        report: a report to add to (a new one by default).

    Returns:
        request name -> stream (requests whose video is missing or unreadable are absent),
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
    streams: dict[str, KeypointStream] = {}
    todo: list[tuple[VideoJob, dict[str, str]]] = []  # job with only uncached requests, keys
    units: list[tuple[int, Segment]] = []  # (index in todo, a unit of work)
    for job in jobs:
        if not Path(job.video).is_file():
            report.missing_videos[str(job.video)] = "not found"
            continue
        video_sha = file_sha256(job.video)
        shas = (video_sha, model_sha)
        keys, pending = _serve(job.requests, shas, settings, None, cache, streams, report)
        if not pending:
            continue
        pending_job = VideoJob(Path(job.video), tuple(pending))
        segments = plan_segments(pending_job)
        if len(segments) > 1:  # split streams are stored apart from whole-video ones
            split = (SEGMENT_FRAMES, SEGMENT_OVERLAP)
            keys, pending = _serve(pending, shas, settings, split, cache, streams, report)
            if not pending:
                continue
            pending_job = VideoJob(Path(job.video), tuple(pending))
            segments = [replace(g, job=pending_job) for g in segments]
        todo.append((pending_job, keys))
        units += [(len(todo) - 1, g) for g in segments]

    if todo and cache is not None:  # before any pose runs: its results must be kept
        cache.check_writable()
    count = _FrameCount(progress, sum(_chosen_frames(job) for job, _ in todo))
    ex = executor if executor is not None else cluster.current(n_jobs)
    # serial runs (in this process) count frame by frame; the others as each video ends
    serial = isinstance(ex, cluster.LocalExecutor) and (ex.workers == 1 or len(units) < 2)
    if todo:
        count.start()
    shared = _Shared(str(model_path), settings, count if serial else None)
    results = ex.map_unordered(_unit, [g for _, g in units], shared)
    parts: dict[int, dict[int, list[KeypointStream]]] = {}  # todo index -> segment -> streams
    n_parts = [0] * len(todo)
    for i, _ in units:
        n_parts[i] += 1
    failed: set[int] = set()
    for u, (found, error, header_frames) in results:
        i, segment = units[u]
        job, keys = todo[i]
        if not serial:
            count.add_total(_whole_videos(job) * header_frames)
            count.add_done(sum(int(s.frames.size) for s in found or ()))
        if i in failed:
            continue
        if found is None:
            report.missing_videos[str(job.video)] = error or "unreadable"
            failed.add(i)
            continue
        done = parts.setdefault(i, {})
        done[u] = [s.since(segment.begin) for s in found] if segment.begin else found
        if len(done) < n_parts[i]:
            continue
        pieces = [done[k] for k in sorted(done)]
        for k, request in enumerate(job.requests):
            stream = KeypointStream.concat([p[k] for p in pieces])
            report.n_extracted += 1
            report.n_frames_extracted += int(stream.frames.size)
            streams[request.name] = stream
            if cache is not None:
                cache.save(keys[request.name], stream)
        del parts[i]
    if todo:
        count.finish()
    for name, stream in streams.items():
        if stream.unreadable_frames.size:
            report.unreadable_frames[name] = stream.unreadable_frames.tolist()
        if stream.frames_past_end.size:
            report.frames_past_end[name] = stream.frames_past_end.tolist()
    return streams, report


def _serve(
    requests: Iterable[StreamRequest],
    shas: tuple[str, str],
    settings: PoseSettings,
    split: tuple[int, int] | None,
    cache: KeypointCache | None,
    streams: dict[str, KeypointStream],
    report: ExtractionReport,
) -> tuple[dict[str, str], list[StreamRequest]]:
    """Put the cached requests' streams in `streams`; the others' keys, and the others.
    `shas`: the video's and the pose model's sha256."""
    keys, pending = {}, []
    for r in requests:
        key = cache_key(*shas, settings, r, split=split)
        hit = cache.load(key, discarded=report.discarded_cache) if cache else None
        if hit is None:
            keys[r.name] = key
            pending.append(r)
        else:
            streams[r.name] = hit
            report.n_cached += 1
    return keys, pending


def _unit(shared: _Shared, segment: Segment) -> _Result:
    """One extraction unit (a video, or a time range of a long one), run by an `Executor`."""
    return _job_worker(
        segment.job, shared.model_path, shared.settings, shared.count, segment.span()
    )


def _job_worker(
    job: VideoJob,
    model_path: str,
    settings: PoseSettings,
    count: _FrameCount | None = None,
    span: tuple[int, int | None] = (0, None),
) -> _Result:
    """Streams of one job, or None and why its video could not be read (runs in workers);
    and the frames its whole-video requests expect from the header (of `span` only).

    With `count` (serial runs), the video's frames are counted as they run through pose.
    """
    expected: list[int] = []

    def on_open(info: VideoInfo) -> None:
        first, end = span
        n = info.total_frames if end is None else min(end, info.total_frames)
        expected.append(max(n - first, 0))
        if count is not None:
            count.add_total(_whole_videos(job) * expected[0])

    try:
        found = extract_video(
            job.video,
            list(job.requests),
            model_path,
            settings,
            on_open=on_open,
            on_frames=None if count is None else count.add_done,
            span=span,
        )
    except (FileNotFoundError, VideoError) as e:
        return None, str(e), expected[0] if expected else 0
    return found, None, expected[0] if expected else 0


@dataclass(frozen=True)
class Segment:
    """A unit of extraction: a job's video whole, or the frames [begin, end) of a long one,
    decoded from `begin - overlap` so the tracker has settled by `begin` (the overlap's
    rows are dropped)."""

    job: VideoJob
    begin: int = 0
    end: int | None = None  # None: to the video's end
    overlap: int = 0

    def span(self) -> tuple[int, int | None]:
        """(first frame decoded, end), for `extract.extract_video`."""
        return max(self.begin - self.overlap, 0), self.end


def plan_segments(job: VideoJob) -> list[Segment]:
    """The units of one job: the video whole, or, when every request takes every frame
    and the header counts more than 1.5 x `SEGMENT_FRAMES` frames, consecutive time
    ranges of `SEGMENT_FRAMES` (the last to the video's end) with `SEGMENT_OVERLAP`
    frames of warm-up each, so that one long video can use several workers.

    Where units run does not change the plan (it depends on the video's header only), so
    a cluster run gives what a local run gives; a split video's streams differ from an
    unsplit run's only in the tracking just after each boundary, and are cached under
    their own key (`cache_key(..., split=...)`)."""
    if any(r.frames is not None for r in job.requests):
        return [Segment(job)]
    try:
        total = VideoInfo.from_path(job.video).total_frames
    except (FileNotFoundError, VideoError):
        return [Segment(job)]  # the unit reports why
    if total <= 1.5 * SEGMENT_FRAMES:
        return [Segment(job)]
    starts = range(0, total - SEGMENT_FRAMES // 2, SEGMENT_FRAMES)
    bounds = [*starts[1:], None]
    return [Segment(job, a, b, SEGMENT_OVERLAP) for a, b in zip(starts, bounds, strict=True)]


def _chosen_frames(job: VideoJob) -> int:
    """Pose calls of a job's chosen-frame requests (known before its video is opened)."""
    return sum(int(r.frames.size) for r in job.requests if r.frames is not None)


def _whole_videos(job: VideoJob) -> int:
    """A job's requests for every frame (each runs pose on the whole video once)."""
    return sum(r.frames is None for r in job.requests)


class _FrameCount:
    """Frames run through pose and expected so far, told to a `Progress` (if any).

    Until the end the total is kept above what is done (a whole-video request's length is
    only known once its video is open, and headers can be short), so a bar never
    completes early; `finish` reports done == total.
    """

    def __init__(self, progress: Progress | None, expected: int) -> None:
        self.progress = progress
        self.done, self.total = 0, expected

    def start(self) -> None:
        self._tell()

    def add_total(self, frames: int) -> None:
        self.total += frames
        self._tell()

    def add_done(self, frames: int) -> None:
        self.done += frames
        self._tell()

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(PROGRESS_TASK, self.done, self.done)

    def _tell(self) -> None:
        if self.progress is not None:
            self.progress(PROGRESS_TASK, self.done, max(self.total, self.done + 1))


def extract_keypoints(
    video_path: str | Path,
    *,
    frames: IntArr | None = None,
    crop_boxes: npt.NDArray[np.float64] | None = None,
    pose_model: str | Path | None = None,
    settings: PoseSettings | None = None,
    cache: KeypointCache | None = None,
    progress: Progress | None = None,
) -> KeypointStream:
    """Keypoints of one video stream (all frames, or `frames` cropped to `crop_boxes`).

    Args:
        video_path: the video file.
        frames: (N,) increasing frame indices; None for every frame.
        crop_boxes: (N, 4) person boxes (x0, y0, x1, y1), fractions of width/height.
        pose_model: PoseLandmarker .task bundle; None for the built-in one.
        settings: pose settings (default `PoseSettings()`).
        cache: keypoint cache to read and fill; None to always extract.
        progress: told the frames run through pose (see `extract_streams`).

    Raises:
        FileNotFoundError, VideoError: the video is missing or unreadable.
    """
    request = StreamRequest(Path(video_path).name, frames, crop_boxes)
    streams, report = extract_streams(
        [VideoJob(Path(video_path), (request,))],
        cache=cache, pose_model=pose_model, settings=settings, progress=progress,
    )  # fmt: skip
    if request.name not in streams:
        reason = report.missing_videos.get(str(video_path), "unreadable")
        if reason == "not found":
            raise FileNotFoundError(f"video not found: {video_path}")
        raise VideoError(reason)
    return streams[request.name]
