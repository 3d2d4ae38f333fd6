"""A labelled mocap library rendered as a folder of labelled videos.

Input: a motion-capture folder in either layout `offline.datasets.mocap.list_clips` reads
(Bandai-Namco's `data/*.bvh` + `cfg/`, or `data/*.bvh` + `labels.csv` + `joint_map.json`).
Output: `<out>/videos/<Label>/<clip>_view<deg>.mp4`, Label the clip's canonical emotion,
each with a JSON sidecar (clip, content, style, person, view, distance, renderer version).
A rerun renders only what is missing or was rendered with other settings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Final

from offline import cluster
from offline.datasets.mocap import DEFAULT_STYLES, list_clips
from offline.labels import STYLE_LABELS
from offline.mocap.body import BANDAI, BodyMap
from offline.mocap.bvh import BVHNotFinite, frame_count, frame_time_s
from offline.mocap.virtual_camera import VirtualCamera
from offline.progress import Progress, no_progress
from offline.render.body import Look
from offline.render.clip import render_bvh
from pipeline.io import clean_stale_temporaries, read_json, user_cache_dir, write_text_atomic
from pipeline.validate import check_distinct_names

RENDERER_VERSION: Final[str] = "posemotion-mannequin/1"
# Camera yaws a labelled library is rendered at by default (front, three-quarters, side).
DEFAULT_VIEWS: Final[tuple[float, ...]] = (0.0, 35.0, -35.0, 90.0)
# Where train.py keeps rendered libraries, one folder per dataset (git-ignored).
DEFAULT_RENDER_DIR: Final[Path] = user_cache_dir("rendered")


@dataclass(frozen=True, slots=True)
class RenderJob:
    """One clip at one view of a rendered dataset.

    Attributes:
        bvh: the source clip.
        video: the .mp4 to write; `sidecar` is written beside it as `<stem>.json`.
        camera: the camera (yaw = the view).
        sidecar: the metadata written beside the video; a rerun skips the job when the
            existing sidecar equals it and the video exists.
        max_frames: render only the first frames (None: all).
    """

    bvh: Path
    video: Path
    camera: VirtualCamera
    sidecar: dict[str, Any]
    max_frames: int | None = None

    @property
    def sidecar_path(self) -> Path:
        return self.video.with_suffix(".json")

    @property
    def n_frames(self) -> int:
        return int(self.sidecar["frames"])

    def is_done(self) -> bool:
        """True when the video and an identical sidecar already exist."""
        if not (self.video.is_file() and self.sidecar_path.is_file()):
            return False
        try:
            return bool(read_json(self.sidecar_path, "sidecar") == self.sidecar)
        except (OSError, ValueError):  # unreadable, not UTF-8 or not JSON: render again
            return False


def view_name(view_deg: float) -> str:
    """File-name tag of a camera yaw: 35 -> 'view35', -35 -> 'view-35', 22.5 -> 'view22.5'."""
    return f"view{view_deg:g}"


def plan_dataset(
    dataset: str | Path,
    out: str | Path,
    views: Sequence[float],
    styles: Sequence[str] = DEFAULT_STYLES,
    *,
    camera: VirtualCamera | None = None,
    max_frames: int | None = None,
    max_s: float | None = None,
) -> list[RenderJob]:
    """Every (clip, view) job for the chosen styles, in a stable order.

    Clips are those of `list_clips(dataset)` (styles the dataset lacks are skipped).
    Videos go to `<out>/videos/<Label>/<clip>_view<deg>.mp4`, Label the canonical emotion
    (STYLE_LABELS). `camera` gives the distance and other settings; its yaw is replaced by
    each view. `max_frames` / `max_s` (seconds) render only the start of longer clips.
    """
    bad = [s for s in styles if s not in STYLE_LABELS]
    if bad:
        raise ValueError(f"`styles` must be among {sorted(STYLE_LABELS)}, got {bad}")
    for v in views:
        check_view(v)
    check_distinct_names("views", views, view_name, "output name")  # 35 and 35.0000001
    base = camera or VirtualCamera()
    jobs = []
    wanted = {STYLE_LABELS[s] for s in styles}
    for clip in list_clips(dataset):
        if clip.label not in wanted:
            continue
        n = frame_count(clip.path)  # the header's count, without reading the motion
        if max_frames is not None:
            n = min(n, max_frames)
        if max_s is not None:
            n = min(n, max(1, round(max_s / frame_time_s(clip.path))))
        label = clip.label
        for view in views:
            cam = replace(base, yaw_deg=float(view))
            stem = f"{clip.path.stem}_{view_name(view)}"
            sidecar = {
                "clip": clip.path.stem,
                "content": clip.content,
                "style": clip.style,
                "person": clip.person,
                "label": label,
                "view_deg": float(view),
                "distance_m": cam.distance_m,
                "frames": n,
                "renderer": RENDERER_VERSION,
                "camera": asdict(cam),
            }
            video = Path(out) / "videos" / label / f"{stem}.mp4"
            jobs.append(RenderJob(clip.path, video, cam, sidecar, n))
    if not jobs:
        raise ValueError(f"no clips of styles {list(styles)} in {dataset}")
    return jobs


def run_job(
    job: RenderJob,
    body: BodyMap = BANDAI,
    look: Look | None = None,
    progress: Progress = no_progress,
) -> int:
    """Render one job: the video, then its sidecar (written last, atomically)."""
    n = render_bvh(
        job.bvh,
        job.video,
        job.camera,
        body=body,
        look=look,
        max_frames=job.max_frames,
        progress=progress,
    )
    if n != job.n_frames:
        raise RuntimeError(f"{job.bvh}: rendered {n} frames, its header says {job.n_frames}")
    write_text_atomic(job.sidecar_path, json.dumps(job.sidecar, indent=1) + "\n")
    return n


def render_jobs(
    jobs: Sequence[RenderJob],
    body: BodyMap = BANDAI,
    *,
    n_jobs: int = 1,
    progress: Progress = no_progress,
    skipped: dict[str, str] | None = None,
) -> int:
    """Render the jobs not done yet (`RenderJob.is_done`); returns the frames to render.

    `n_jobs` > 1 renders clips in parallel processes (joblib); in an open cluster session
    (`offline.cluster.session`) each clip is a task on that engine (the output folder must
    then be shared with its workers). `progress("render", done, total)` is told the frames
    rendered (per frame in one process, per clip in several).

    A clip whose motion holds NaN or infinite values (`BVHNotFinite`) renders nothing: its
    video name goes into `skipped` (-> why) and the others go on; without `skipped` it
    is an error. Temporaries a killed run left in the jobs' folders are removed first.
    """
    clean_stale_temporaries({j.video.parent for j in jobs})  # what a killed run left
    todo = [j for j in jobs if not j.is_done()]
    total = sum(j.n_frames for j in todo)
    if not todo:
        return total
    progress("render", 0, total)
    ex = cluster.current(n_jobs)
    if isinstance(ex, cluster.LocalExecutor) and (ex.workers == 1 or len(todo) <= 1):
        before = 0
        for job in todo:

            def report(task: str, done: int, n: int, before: int = before) -> None:
                progress("render", before + done, total)

            _skip_if_not_finite(job, body, report, skipped)
            before += job.n_frames
    else:
        done = 0
        for i, (n, why) in ex.map_unordered(_render_unit, todo, body):
            if why is not None:
                _skip(todo[i], why, skipped)
            done += n
            progress("render", done, total)
    return total


def _render_unit(body: BodyMap, job: RenderJob) -> tuple[int, str | None]:
    """One clip rendered (a unit of `offline.cluster.Executor`): its frames, or 0 and why
    its motion is not finite."""
    try:
        return run_job(job, body), None
    except BVHNotFinite as e:
        return job.n_frames, str(e)


def _skip_if_not_finite(
    job: RenderJob, body: BodyMap, progress: Progress, skipped: dict[str, str] | None
) -> None:
    try:
        run_job(job, body, progress=progress)
    except BVHNotFinite as e:
        _skip(job, str(e), skipped)


def _skip(job: RenderJob, why: str, skipped: dict[str, str] | None) -> None:
    if skipped is None:
        raise BVHNotFinite(why)
    skipped[job.video.name] = why.removeprefix(f"{job.bvh}: ")


def check_view(view: float) -> float:
    """`view` (a camera yaw, degrees) if it is in [-180, 180]; raises ValueError otherwise."""
    if not -180.0 <= view <= 180.0:
        raise ValueError(f"`view` must be in [-180, 180] degrees, got {view:g}")
    return view
