"""Offline keypoint extraction throughput: ours (`--jobs 1`, `--jobs 2`) against the study's way.

Workloads (built in a temporary folder from the demo clip, real footage of one person,
1080x1920 at 60 fps, 100 frames; or from --video):
- "demo": two byte-identical copies of the clip (two videos, so that --jobs 2 has two to
  share out);
- "long": the clip looped to --long-frames frames (600 by default), re-encoded (MPEG-4
  Part 2, OpenCV's mp4v) at its own size and frame rate, cut into two halves.

For each workload and repeat, in the same run, interleaved:
- ours: `offline.keypoints.run.extract_streams` exactly as train.py calls it (one VIDEO-mode
  PoseLandmarker per video, a fresh empty keypoint cache, so every frame runs through
  pose and the cache files are written), with n_jobs 1 and 2; a jobs > 1 run starts its
  worker processes afresh, as a train.py run does;
- study: for each frame, a new IMAGE-mode PoseLandmarker created, run once and closed, as
  the study's detector did (`benchmarks.study_reference.study_pose`); the time counted
  per frame is its decoding plus the landmarker's life. Frames are independent that way,
  so at most --study-frames evenly spaced frames of the workload are timed per repeat.

Throughput is frames per second of wall time; speed-up = ours / study per repeat (target
>= 5x). Writes JSON with --out:

    python -m benchmarks.extraction_speed --out benchmarks/results/extraction_speed.json
"""

from __future__ import annotations

import argparse
import itertools
import math
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    Row,
    benchmark_parser,
    clip_or_demo,
    fmt_speedup,
    fmt_spread,
    looped_frames,
    run_benchmark,
    speedup,
    speedup_row,
    spread_range,
    summarise,
)

TARGET_SPEEDUP = 5.0
WORKLOADS = ("demo", "long")


@dataclass(frozen=True)
class Workload:
    """Videos timed together; `frames` is their total frame count."""

    name: str
    videos: tuple[Path, ...]
    frames: int
    description: str


def count_frames(video: Path) -> int:
    """Decodable frames of a video (decoded once; container counts can be off)."""
    from pipeline.video import iter_frames

    return sum(1 for _ in iter_frames(video))


def copies(clip: Path, folder: Path, n: int) -> list[Path]:
    """n byte-identical copies of `clip` in `folder`."""
    out = []
    for k in range(n):
        target = folder / f"{clip.stem}_copy{k}{clip.suffix}"
        shutil.copyfile(clip, target)
        out.append(target)
    return out


def looped_parts(clip: Path, folder: Path, total: int, parts: int, name: str) -> list[Path]:
    """`clip` played on repeat for `total` frames, written (mp4v, at the clip's frame rate)
    as `parts` consecutive videos `<name>_part<k>.mp4` in `folder`."""
    from pipeline.video import VideoInfo, write_video

    fps = VideoInfo.from_path(clip).fps
    frames = looped_frames(clip, total)
    paths = [folder / f"{name}_part{k}.mp4" for k in range(parts)]
    for path in paths:
        write_video(itertools.islice(frames, math.ceil(total / parts)), path, fps)
    return paths


def build_workloads(
    clip: Path, folder: Path, names: list[str], long_frames: int
) -> tuple[dict[str, Workload], Workload]:
    """The workloads asked for, plus a tiny warm-up one (two 6-frame videos)."""
    n_clip = count_frames(clip)
    out: dict[str, Workload] = {}
    if "demo" in names:
        videos = tuple(copies(clip, folder, 2))
        out["demo"] = Workload(
            "demo", videos, 2 * n_clip, f"{clip.name} x2 (identical copies), {2 * n_clip} frames"
        )
    if "long" in names:
        videos = tuple(looped_parts(clip, folder, long_frames, 2, "long"))
        frames = sum(count_frames(v) for v in videos)
        out["long"] = Workload(
            "long",
            videos,
            frames,
            f"{clip.name} looped to {frames} frames, re-encoded (mp4v), in 2 halves",
        )
    warm = tuple(looped_parts(clip, folder, 12, 2, "warmup"))
    return out, Workload("warmup", warm, 12, "12 frames")


def run_ours(workload: Workload, n_jobs: int, model_path: Path) -> dict[str, Any]:
    """One extraction of every frame of the workload with a fresh cache; wall time."""
    from offline.keypoints.cache import KeypointCache
    from offline.keypoints.run import VideoJob, extract_streams
    from offline.keypoints.stream import StreamRequest

    if n_jobs > 1:
        shutdown_workers()  # each run starts its worker processes, as train.py does
    jobs = [VideoJob(v, (StreamRequest(v.name),)) for v in workload.videos]
    with tempfile.TemporaryDirectory(prefix="kpcache-") as cache_dir:
        start = time.perf_counter()
        streams, report = extract_streams(
            jobs, cache=KeypointCache(cache_dir), pose_model=model_path, n_jobs=n_jobs
        )
        seconds = time.perf_counter() - start
    frames = sum(int(s.frames.size) for s in streams.values())
    if report.missing_videos or frames != workload.frames:
        raise RuntimeError(
            f"extraction of {workload.name} gave {frames} of {workload.frames} frames "
            f"({report.missing_videos or 'no missing videos'})"
        )
    found = float(np.mean(np.concatenate([s.found for s in streams.values()])))
    return {"seconds": seconds, "frames": frames, "fps": frames / seconds, "found": found}


def run_study(workload: Workload, max_frames: int, model_path: Path) -> dict[str, Any]:
    """The study's way on evenly spaced frames: per frame decode + new landmarker + detect."""
    import cv2

    from benchmarks.study_reference import study_pose
    from pipeline.video import iter_frames

    step = max(1, math.ceil(workload.frames / max_frames)) if max_frames > 0 else 1
    seconds, frames, found, k = 0.0, 0, 0, 0
    for video in workload.videos:
        stream = iter_frames(video)
        while True:
            start = time.perf_counter()
            vf = next(stream, None)
            decode_s = time.perf_counter() - start
            if vf is None:
                break
            if k % step == 0:
                start = time.perf_counter()
                rgb = cv2.cvtColor(vf.image, cv2.COLOR_BGR2RGB)
                found += study_pose(rgb, str(model_path)).found
                seconds += decode_s + time.perf_counter() - start
                frames += 1
            k += 1
    return {
        "seconds": seconds,
        "frames": frames,
        "fps": frames / seconds,
        "found": found / frames,
        "every_nth_frame": step,
    }


def shutdown_workers() -> None:
    """Stop joblib's reusable worker processes (started by extract_streams with n_jobs > 1)."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from offline.keypoints.run import resolve_pose_model
    from pipeline.pose import quiet_stderr

    if args.repeats < 3 or args.study_frames < 0 or args.long_frames < 20:
        raise ValueError(
            "need --repeats >= 3, --study-frames >= 0 and --long-frames >= 20, "
            f"got {args.repeats}, {args.study_frames}, {args.long_frames}"
        )
    if any(j < 1 for j in args.jobs):
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    clip, clip_name = clip_or_demo(args.video)
    from pipeline.video import VideoInfo

    info = VideoInfo.from_path(clip)
    model_path = resolve_pose_model(args.pose_model)
    results: dict[str, Any] = {
        "benchmark": "extraction_speed",
        "clip": {"source": clip_name, "width": info.width, "height": info.height, "fps": info.fps},
        "pose_model": model_path.name,
        "repeats": args.repeats,
        "target_speedup": TARGET_SPEEDUP,
        "workloads": {},
    }
    with tempfile.TemporaryDirectory(prefix="extraction-speed-") as tmp:
        workloads, warm = build_workloads(clip, Path(tmp), args.workloads, args.long_frames)
        # quiet_stderr: mediapipe's native log lines on fd 2 (worker processes inherit it)
        with quiet_stderr():
            try:
                for n_jobs in args.jobs:  # warm-up: imports, model file in the page cache
                    run_ours(warm, n_jobs, model_path)
                run_study(warm, 2, model_path)
                for name, workload in workloads.items():
                    results["workloads"][name] = measure(workload, args, model_path)
                    print(f"{name}: measured", file=sys.stderr, flush=True)
            finally:
                shutdown_workers()
    return results


def measure(workload: Workload, args: argparse.Namespace, model_path: Path) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {f"ours_jobs{j}": [] for j in args.jobs}
    runs["study"] = []
    for _ in range(args.repeats):
        for j in args.jobs:
            runs[f"ours_jobs{j}"].append(run_ours(workload, j, model_path))
        runs["study"].append(run_study(workload, args.study_frames, model_path))
    out: dict[str, Any] = {
        "description": workload.description,
        "frames": workload.frames,
        "methods": {},
        "speedup": {},
    }
    for name, rs in runs.items():
        out["methods"][name] = {
            "fps": summarise([r["fps"] for r in rs], 2),
            "frames_per_run": rs[0]["frames"],
            "person_found_fraction": round(float(np.mean([r["found"] for r in rs])), 3),
            "runs": [
                {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rs
            ],
        }
    study_spf = [1.0 / r["fps"] for r in runs["study"]]
    for j in args.jobs:
        ours_spf = [1.0 / r["fps"] for r in runs[f"ours_jobs{j}"]]
        out["speedup"][f"jobs{j}"] = speedup(study_spf, ours_spf, TARGET_SPEEDUP)
    return out


def method_label(method: str) -> str:
    """How a method key of the JSON ("study", "ours_jobs2") reads in a report."""
    if method == "study":
        return "study's way (new IMAGE-mode landmarker per frame)"
    return f"ours --jobs {method.removeprefix('ours_jobs')}"


def report(results: dict[str, Any]) -> str:
    c = results["clip"]
    lines = [
        f"clip: {c['source']}, {c['width']}x{c['height']} at {c['fps']:g} fps; "
        f"pose model {results['pose_model']}; {results['repeats']} repeats"
    ]
    for name, w in results["workloads"].items():
        lines.append(f"{name}: {w['description']}")
        for method, m in w["methods"].items():
            lines.append(
                f"  {method_label(method):<52}{fmt_spread(m['fps'], 'frames/s', 2)}"
                f"  ({m['frames_per_run']} frames per run, person found in "
                f"{m['person_found_fraction']:.0%})"
            )
        for jobs, s in w["speedup"].items():
            lines.append(
                f"  speed-up ours --jobs {jobs.removeprefix('jobs')} / study: {fmt_speedup(s, 2)}"
            )
    return "\n".join(lines)


def rows(r: dict[str, Any]) -> list[Row]:
    """benchmarks.run_all's table rows."""
    name = "offline keypoint extraction"
    out: list[Row] = []
    for wname, w in r["workloads"].items():
        for method, m in w["methods"].items():
            out.append(
                (
                    name,
                    f"{wname} ({w['description']}): {method_label(method)}",
                    f"{m['fps']['median']:.2f} frames/s",
                    spread_range(m["fps"], 2, "frames/s"),
                    "",
                    "",
                )
            )
        for jobs, s in w["speedup"].items():
            figure = f"{wname}: speed-up ours --jobs {jobs.removeprefix('jobs')} / study"
            out.append(speedup_row(name, figure, s, 2))
    return out


def build_parser() -> argparse.ArgumentParser:
    p = benchmark_parser("extraction_speed", __doc__)
    p.add_argument("--video", type=Path, help="build the workloads from this clip, not the demo")
    p.add_argument(
        "--workloads",
        nargs="+",
        choices=WORKLOADS,
        default=list(WORKLOADS),
        help="which workloads to time",
    )
    p.add_argument("--long-frames", type=int, default=600, help="frames of the 'long' workload")
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="n_jobs values for ours")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per method (>= 3)")
    p.add_argument(
        "--study-frames",
        type=int,
        default=60,
        help="frames timed per study run, evenly spaced (0: all)",
    )
    p.add_argument("--pose-model", type=Path, help="PoseLandmarker .task; default the built-in one")
    p.add_argument(
        "--quick", action="store_true", help="the demo workload only, 30 study frames per run"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.workloads = ["demo"]
        args.study_frames = min(args.study_frames, 30) if args.study_frames else 30
    return run_benchmark(args, run, report)


if __name__ == "__main__":
    raise SystemExit(main())
