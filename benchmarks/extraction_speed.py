"""Offline keypoint extraction throughput: ours (`--jobs 1`, `--jobs 2`) against the study's way.

Workloads (built in a temporary folder from the demo clip, real footage of one person,
1080x1920 at 60 fps, 100 frames; or from --video):
- "demo": two byte-identical copies of the clip (two videos, so that --jobs 2 has two to
  share out);
- "long": the clip looped to --long-frames frames (600 by default), re-encoded (MPEG-4
  Part 2, OpenCV's mp4v) at its own size and frame rate, cut into two halves.

For each workload and repeat, in the same run, interleaved:
- ours: `pipeline.keypoints.extract_tracks` exactly as train.py calls it (one VIDEO-mode
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
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    fmt_spread,
    machine,
    machine_line,
    ratio_summary,
    run_benchmark,
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
    """`clip` played on repeat for `total` frames, written as `parts` consecutive videos."""
    import cv2

    from pipeline.video import VideoInfo, iter_frames

    info = VideoInfo.from_path(clip)
    per_part = math.ceil(total / parts)
    paths = [folder / f"{name}_part{k}.mp4" for k in range(parts)]
    writer = None
    written = 0
    try:
        while written < total:
            before = written
            for vf in iter_frames(clip):
                if written % per_part == 0:
                    if writer is not None:
                        writer.release()
                    writer = cv2.VideoWriter(
                        str(paths[written // per_part]),
                        cv2.VideoWriter_fourcc(*"mp4v"),
                        info.fps,
                        (vf.image.shape[1], vf.image.shape[0]),
                    )
                    if not writer.isOpened():
                        raise RuntimeError(f"OpenCV cannot write {paths[written // per_part]}")
                writer.write(vf.image)
                written += 1
                if written >= total:
                    break
            if written == before:
                raise RuntimeError(f"{clip} has no decodable frames")
    finally:
        if writer is not None:
            writer.release()
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
    from pipeline.keypoints import KeypointCache, TrackRequest, VideoJob, extract_tracks

    if n_jobs > 1:
        shutdown_workers()  # each run starts its worker processes, as train.py does
    jobs = [VideoJob(v, (TrackRequest(v.name),)) for v in workload.videos]
    with tempfile.TemporaryDirectory(prefix="kpcache-") as cache_dir:
        start = time.perf_counter()
        tracks, report = extract_tracks(
            jobs, cache=KeypointCache(cache_dir), pose_model=model_path, n_jobs=n_jobs
        )
        seconds = time.perf_counter() - start
    frames = sum(int(t.frames.size) for t in tracks.values())
    if report.missing_videos or frames != workload.frames:
        raise RuntimeError(
            f"extraction of {workload.name} gave {frames} of {workload.frames} frames "
            f"({report.missing_videos or 'no missing videos'})"
        )
    found = float(np.mean(np.concatenate([t.found for t in tracks.values()])))
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
    """Stop joblib's reusable worker processes (started by extract_tracks with n_jobs > 1)."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("GLOG_minloglevel", "2")
    from pipeline.keypoints import resolve_pose_model
    from realtime.loop import quiet_stderr

    if args.repeats < 3 or args.study_frames < 0 or args.long_frames < 20:
        raise ValueError(
            "need --repeats >= 3, --study-frames >= 0 and --long-frames >= 20, "
            f"got {args.repeats}, {args.study_frames}, {args.long_frames}"
        )
    if any(j < 1 for j in args.jobs):
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    if args.video is not None:
        if not args.video.is_file():
            raise FileNotFoundError(f"video not found: {args.video}")
        clip, clip_name = args.video, str(args.video)
    else:
        from realtime.demo import CREDIT, fetch_demo_clip

        clip = fetch_demo_clip(notify=lambda m: print(m, file=sys.stderr))
        clip_name = CREDIT
    from pipeline.video import VideoInfo

    info = VideoInfo.from_path(clip)
    model_path = resolve_pose_model(args.pose_model)
    results: dict[str, Any] = {
        "benchmark": "extraction_speed",
        "clip": {"source": clip_name, "width": info.width, "height": info.height, "fps": info.fps},
        "pose_model": model_path.name,
        "repeats": args.repeats,
        "target_speedup": TARGET_SPEEDUP,
        "machine_before": machine(),
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
    results["machine"] = machine()
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
        r = ratio_summary(study_spf, ours_spf)
        out["speedup"][f"jobs{j}"] = {
            **r,
            "target": TARGET_SPEEDUP,
            "met": bool(r["median"] >= TARGET_SPEEDUP),
        }
    return out


def report(results: dict[str, Any]) -> str:
    c = results["clip"]
    lines = [
        f"clip: {c['source']}, {c['width']}x{c['height']} at {c['fps']:g} fps; "
        f"pose model {results['pose_model']}; {results['repeats']} repeats"
    ]
    for name, w in results["workloads"].items():
        lines.append(f"{name}: {w['description']}")
        for method, m in w["methods"].items():
            label = (
                "study's way (new IMAGE-mode landmarker per frame)"
                if method == "study"
                else f"ours, --jobs {method.removeprefix('ours_jobs')}"
            )
            lines.append(
                f"  {label:<52}{fmt_spread(m['fps'], 'frames/s', 2)}"
                f"  ({m['frames_per_run']} frames per run, person found in "
                f"{m['person_found_fraction']:.0%})"
            )
        for jobs, s in w["speedup"].items():
            verdict = "met" if s["met"] else "NOT met"
            lines.append(
                f"  speed-up ours --jobs {jobs.removeprefix('jobs')} / study: "
                f"{fmt_spread(s, 'x', 2)} (target >= {s['target']:g}x: {verdict})"
            )
    lines.append(machine_line(results["machine"]))
    before = results["machine_before"]["load_average"]
    if before:
        lines.append(f"load average at the start: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.extraction_speed",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
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
    p.add_argument("--out", type=Path, help="write the figures as JSON to this file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.workloads = ["demo"]
        args.study_frames = min(args.study_frames, 30) if args.study_frames else 30
    return run_benchmark(
        args, run, report, (ValueError, FileNotFoundError, RuntimeError, ImportError)
    )


if __name__ == "__main__":
    raise SystemExit(main())
