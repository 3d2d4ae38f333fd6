"""Keypoint extraction on a local Dask cluster (`--cluster local`) against `--jobs` processes.

Workload (built in a temporary folder): --videos copies of the demo clip (real footage of
one person, 1080x1920 at 60 fps, 100 frames; or --video), each a unit of work as in a
dataset of many clips. For each repeat, in the same run, interleaved:
- `--jobs 1` / `--jobs 2`: `offline.keypoints.run.extract_streams` with n_jobs 1 / 2, as
  train.py runs without --cluster (a jobs 2 run starts its worker processes afresh);
- cluster 1 / 2 workers: the same call with `executor=` a local Dask cluster of that many
  single-threaded worker processes (`offline.cluster.DaskExecutor("local", n)`), started
  once per worker count; its start-up is timed on its own (the engine's fixed cost, paid
  once per train.py command).
Every run uses a fresh empty keypoint cache, so every frame runs through pose.

Throughput is frames per second of wall time. From the 2-worker cluster rate the run
projects the issue's case, 10,000 clips x 10 s x 30 fps (3,000,000 frames): hours on this
machine, and on N such 2-core machines assuming the rate scales with workers (the units
are independent videos; the projection says so, it is not measured). Writes JSON with --out:

    python -m benchmarks.cluster_speed --out benchmarks/results/cluster_speed.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    Row,
    benchmark_parser,
    clip_or_demo,
    fmt_spread,
    run_benchmark,
    spread_range,
    summarise,
)
from benchmarks.extraction_speed import copies, count_frames, shutdown_workers

PROJECTED_FRAMES = 10_000 * 10 * 30  # the 10,000 clips of 10 s at 30 fps
PROJECTED_MACHINES = (1, 8, 32)


def run_once(videos: list[Path], model_path: Path, n_jobs: int, executor: Any = None) -> float:
    """Seconds to extract every frame of `videos` with a fresh cache."""
    from offline.keypoints.cache import KeypointCache
    from offline.keypoints.run import VideoJob, extract_streams
    from offline.keypoints.stream import StreamRequest

    if executor is None and n_jobs > 1:
        shutdown_workers()  # each run starts its worker processes, as train.py does
    jobs = [VideoJob(v, (StreamRequest(v.name),)) for v in videos]
    with tempfile.TemporaryDirectory(prefix="kpcache-") as cache_dir:
        start = time.perf_counter()
        _, report = extract_streams(
            jobs, cache=KeypointCache(cache_dir), pose_model=model_path, n_jobs=n_jobs,
            executor=executor,
        )  # fmt: skip
        seconds = time.perf_counter() - start
    if report.missing_videos or report.n_extracted != len(videos):
        raise RuntimeError(f"extraction failed: {report.missing_videos}")
    return seconds


def run(args: argparse.Namespace) -> dict[str, Any]:
    from offline.cluster import DaskExecutor
    from offline.keypoints.run import resolve_pose_model
    from pipeline.pose import quiet_stderr

    if args.repeats < 3 or args.videos < 2:
        raise ValueError(
            f"need --repeats >= 3 and --videos >= 2, got {args.repeats}, {args.videos}"
        )
    clip, clip_name = clip_or_demo(args.video)
    model_path = resolve_pose_model(args.pose_model)
    out: dict[str, Any] = {
        "benchmark": "cluster_speed",
        "clip": clip_name,
        "pose_model": model_path.name,
        "repeats": args.repeats,
        "methods": {},
        "startup_s": {},
    }
    with tempfile.TemporaryDirectory(prefix="cluster-speed-") as tmp:
        videos = copies(clip, Path(tmp), args.videos)
        frames = args.videos * count_frames(clip)
        out["workload"] = f"{args.videos} copies of {clip.name}, {frames} frames"
        out["frames"] = frames
        seconds: dict[str, list[float]] = {}
        with quiet_stderr():  # mediapipe's native log lines (workers inherit fd 2)
            engines: dict[int, DaskExecutor] = {}
            try:
                for w in args.workers:
                    engines[w] = DaskExecutor("local", w)
                    out["startup_s"][f"cluster_workers{w}"] = round(engines[w].startup_s, 3)
                warm = videos[:2]
                for j in args.jobs:  # warm-up: imports, model file in the page cache
                    run_once(warm, model_path, j)
                for ex in engines.values():
                    run_once(warm, model_path, 1, ex)
                for _ in range(args.repeats):
                    for j in args.jobs:
                        seconds.setdefault(f"jobs{j}", []).append(run_once(videos, model_path, j))
                    for w, ex in engines.items():
                        key = f"cluster_workers{w}"
                        seconds.setdefault(key, []).append(run_once(videos, model_path, 1, ex))
                print("measured", file=sys.stderr, flush=True)
            finally:
                for ex in engines.values():
                    ex.close()
                shutdown_workers()
    for key, ss in seconds.items():
        out["methods"][key] = {"fps": summarise([frames / s for s in ss], 2), "seconds": ss}
    best = f"cluster_workers{max(args.workers)}"
    if best in out["methods"]:
        fps = out["methods"][best]["fps"]["median"]
        per_worker = fps / max(args.workers)
        hours = {m: PROJECTED_FRAMES / (per_worker * 2 * m) / 3600 for m in PROJECTED_MACHINES}
        out["projection"] = {
            "frames": PROJECTED_FRAMES,
            "measured_with": best,
            "hours": {f"{m} machines x 2 workers": round(h, 2) for m, h in hours.items()},
            "assumes": "rate per worker as measured here, scaling linearly with workers",
        }
    return out


def label(method: str) -> str:
    """How a method key ("jobs2", "cluster_workers2") reads in a report."""
    if method.startswith("jobs"):
        return f"--jobs {method.removeprefix('jobs')} (local processes)"
    return f"--cluster local, {method.removeprefix('cluster_workers')} workers"


def report(r: dict[str, Any]) -> str:
    lines = [f"{r['workload']}; pose model {r['pose_model']}; {r['repeats']} repeats"]
    for method, m in r["methods"].items():
        lines.append(f"  {label(method):<40}{fmt_spread(m['fps'], 'frames/s', 2)}")
    for method, s in r["startup_s"].items():
        lines.append(f"  start-up of {label(method)}: {s:.2f} s")
    if "projection" in r:
        p = r["projection"]
        lines.append(f"  projected, {p['frames']:,} frames ({p['assumes']}):")
        lines += [f"    {k}: {h:g} h" for k, h in p["hours"].items()]
    return "\n".join(lines)


def rows(r: dict[str, Any]) -> list[Row]:
    """benchmarks.run_all's table rows."""
    name = "keypoint extraction on a cluster"
    out: list[Row] = [
        (name, f"{r['workload']}: {label(k)}", f"{m['fps']['median']:.2f} frames/s",
         spread_range(m["fps"], 2, "frames/s"), "", "")
        for k, m in r["methods"].items()
    ]  # fmt: skip
    for k, s in r["startup_s"].items():
        out.append((name, f"start-up, {label(k)}", f"{s:.2f} s", "", "", ""))
    for k, h in r.get("projection", {}).get("hours", {}).items():
        out.append((name, f"projected 10,000 clips x 10 s x 30 fps, {k}", f"{h:g} h", "", "", ""))
    return out


def build_parser() -> argparse.ArgumentParser:
    p = benchmark_parser("cluster_speed", __doc__)
    p.add_argument("--video", type=Path, help="copy this clip, not the demo")
    p.add_argument("--videos", type=int, default=4, help="copies of the clip (units of work)")
    p.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="--jobs values timed")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="cluster sizes timed")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per method (>= 3)")
    p.add_argument("--pose-model", type=Path, help="PoseLandmarker .task; default the built-in one")
    p.add_argument("--quick", action="store_true", help="2 copies of the clip")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.videos = 2
    return run_benchmark(args, run, report)


if __name__ == "__main__":
    raise SystemExit(main())
