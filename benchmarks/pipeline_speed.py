"""Speed of the pipeline's per-frame stages: pose, window, features.

Times, with `time.perf_counter` after a warm-up:
1. pose: `PoseEstimator.detect` per frame in video mode, on real footage of a person (the
   public-domain scikit-image `astronaut` photograph moved across a 640x480 frame, or any
   video given with --video);
2. vectorize: `pipeline.features.vectorize` per window for each feature set, on windows cut
   from the shared Bandai-Namco clips (synthetic movement when ../shared is absent);
3. tick: `SkeletonBuffer.push` + `SkeletonBuffer.window` (= make_window) per frame.

Prints a table (milliseconds) and, with --out, writes the figures and the machine as JSON:

    python -m benchmarks.pipeline_speed --out benchmarks/results/pipeline_speed.json
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    benchmark_parser,
    looped_frames,
    run_benchmark,
    sample_windows,
    summarise,
    synthetic_sequences,
    time_each,
)
from pipeline.features import DEFAULT_FEATURE_SET, FEATURE_SETS, vectorize
from pipeline.window import SkeletonBuffer, Window, WindowSpec

TARGET_VECTORIZE_MS = 0.5  # for the default feature set
STRIDE_S = 0.1  # between the ends of consecutive windows of a clip


def ms(samples_s: list[float]) -> dict[str, float | int]:
    """`summarise` of durations in seconds, in milliseconds."""
    return summarise(np.asarray(samples_s) * 1e3)


# --- 1. pose -------------------------------------------------------------------------------


def astronaut_frames(n: int, width: int = 640, height: int = 480) -> Iterator[np.ndarray]:
    """RGB frames with the astronaut photo (scaled to the frame height) drifting sideways."""
    import cv2
    from skimage import data

    photo = data.astronaut()
    photo = cv2.resize(photo, (height, height), interpolation=cv2.INTER_AREA)
    span = width - height
    for i in range(n):
        frame = np.full((height, width, 3), 40, np.uint8)
        x = int(round(span / 2 + span / 2 * np.sin(2 * np.pi * i / 90)))  # one sweep per 3 s
        frame[:, x : x + height] = photo
        yield frame


def bench_pose(frames: list[np.ndarray], warmup: int, fps: float = 30.0) -> dict[str, Any]:
    from pipeline.pose import PoseEstimator, quiet_stderr

    found = []
    # quiet_stderr: mediapipe's native log lines on fd 2
    with quiet_stderr(), PoseEstimator(mode="video") as estimator:

        def step(i: int) -> None:
            found.append(estimator.detect(frames[i], timestamp_ms=int(i * 1000 / fps)).found)

        samples = time_each(step, range(len(frames)))[warmup:]
    h, w = frames[0].shape[:2]
    return {
        "ms": ms(samples),
        "frame_wh": [w, h],
        "person_found_fraction": float(np.mean(found[warmup:])),
        "model": estimator.model_path.name,
    }


# --- 2. windows and features ------------------------------------------------------------------


def bench_vectorize(windows: list[Window], warmup: int) -> dict[str, Any]:
    out = {}
    for feature_set in FEATURE_SETS:
        calls = [*windows[:warmup], *windows]
        samples = time_each(lambda w, fs=feature_set: vectorize(w, fs), calls)[warmup:]
        out[feature_set] = {
            "ms": ms(samples),
            "n_features": int(vectorize(windows[0], feature_set).size),
        }
    return out


def bench_tick(spec: WindowSpec, n: int, warmup: int, fps: float = 30.0) -> dict[str, Any]:
    """push + window per frame on a full buffer, as the live loop does every frame."""
    seq = next(synthetic_sequences())
    buffer = SkeletonBuffer.for_spec(spec, max_fps=60.0)
    total = seq.t_s.size
    usable = []

    def tick(i: int) -> None:
        k = i % total
        buffer.push(seq.world[k], seq.image[k], seq.visibility[k], (i + 1) / fps)
        usable.append(buffer.window(spec) is not None)

    samples = time_each(tick, range(warmup + n))[warmup:]
    return {
        "ms": ms(samples),
        "buffer_capacity": buffer.capacity,
        "usable_fraction": float(np.mean(usable[warmup:])),
    }


# --- the benchmark ----------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.pose_frames < 100 or args.windows < 1000 or args.ticks < 100 or args.warmup < 1:
        raise ValueError(
            "need --pose-frames >= 100, --windows >= 1000, --ticks >= 100 and --warmup >= 1, "
            f"got {args.pose_frames}, {args.windows}, {args.ticks}, {args.warmup}"
        )
    if args.video is not None and not args.video.is_file():
        raise FileNotFoundError(f"video not found: {args.video}")
    spec = WindowSpec()
    results: dict[str, Any] = {}
    if not args.no_pose:
        import cv2

        n = args.pose_frames + args.warmup
        if args.video is not None:
            frames = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in looped_frames(args.video, n)]
            source = str(args.video)
        else:
            frames, source = list(astronaut_frames(n)), "skimage astronaut on 640x480, moving"
        results["pose_video_mode"] = {**bench_pose(frames, args.warmup), "source": source}
    windows, source = sample_windows(args.windows, spec, STRIDE_S)
    results["windows"] = {
        "n": len(windows),
        "source": source,
        "spec": spec.to_dict(),
        "stride_s": STRIDE_S,
    }
    results["vectorize"] = bench_vectorize(windows, args.warmup)
    results["tick_push_window"] = bench_tick(spec, args.ticks, args.warmup)
    default = results["vectorize"][DEFAULT_FEATURE_SET]["ms"]["median"]
    results["vectorize_target"] = {
        "feature_set": DEFAULT_FEATURE_SET,
        "target_ms": TARGET_VECTORIZE_MS,
        "met": bool(default < TARGET_VECTORIZE_MS),
    }
    return results


def report(results: dict[str, Any]) -> str:
    rows = []
    if "pose_video_mode" in results:
        p = results["pose_video_mode"]
        rows.append((f"pose detect (video mode, {p['frame_wh'][0]}x{p['frame_wh'][1]})", p))
    for name, v in results["vectorize"].items():
        rows.append((f"vectorize {name} ({v['n_features']} features)", v))
    rows.append(("push + window per tick", results["tick_push_window"]))
    lines = [f"{'stage':<44}{'median ms':>11}{'p95 ms':>10}{'n':>7}"]
    for label, v in rows:
        s = v["ms"]
        lines.append(f"{label:<44}{s['median']:>11.3f}{s['p95']:>10.3f}{s['n']:>7}")
    if "pose_video_mode" in results:
        found = results["pose_video_mode"]["person_found_fraction"]
        lines.append(f"person found in {found:.0%} of pose frames")
    lines.append(f"windows from {results['windows']['source']}")
    target = results["vectorize_target"]
    lines.append(
        f"target vectorize({target['feature_set']!r}) < {target['target_ms']} ms: "
        f"{'met' if target['met'] else 'NOT met'}"
    )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = benchmark_parser("pipeline_speed", __doc__)
    p.add_argument(
        "--video", type=Path, help="time the pose stage on this video instead of the photo"
    )
    p.add_argument("--pose-frames", type=int, default=150, help="timed pose frames (>= 100)")
    p.add_argument(
        "--windows", type=int, default=1000, help="timed windows per feature set (>= 1000)"
    )
    p.add_argument("--ticks", type=int, default=2000, help="timed buffer ticks")
    p.add_argument("--warmup", type=int, default=20, help="untimed calls before each measurement")
    p.add_argument(
        "--no-pose", action="store_true", help="skip the pose stage (no mediapipe needed)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(build_parser().parse_args(argv), run, report)


if __name__ == "__main__":
    raise SystemExit(main())
