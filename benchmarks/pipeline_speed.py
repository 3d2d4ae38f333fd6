"""Speed of the pipeline's per-frame stages: pose, window, features.

Times, with `time.perf_counter` after a warm-up:
1. pose: `PoseEstimator.detect` per frame in video mode, on real footage of a person (the
   public-domain scikit-image `astronaut` photograph moved across a 640x480 frame, or any
   video given with --video);
2. vectorize: `pipeline.features.vectorize` per window for each feature set, on windows cut
   from the shared Bandai-Namco clips (synthetic movement when ../shared is absent);
3. tick: `SkeletonBuffer.push` + `SkeletonBuffer.window` (= make_window) per frame.

Prints a table and, with --out, writes the figures and the machine as JSON:

    python -m benchmarks.pipeline_speed --out reports/pipeline_speed.json
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import skeleton as sk
from pipeline.features import DEFAULT_FEATURE_SET, FEATURE_SETS, vectorize
from pipeline.window import SkeletonBuffer, Window, WindowSpec, make_window

SHARED_DATA = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "bandai-namco-motion-1"
    / "data"
)
TARGET_VECTORIZE_MS = 0.5  # for the default feature set


def summarise(samples_s: list[float]) -> dict[str, float]:
    """Seconds -> milliseconds: median, p95, mean, min, n."""
    ms = np.asarray(samples_s) * 1e3
    return {
        "median_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
        "mean_ms": float(ms.mean()),
        "min_ms": float(ms.min()),
        "n": int(ms.size),
    }


def time_calls(fn: Callable[[int], object], n: int, warmup: int) -> list[float]:
    """Call fn(0..warmup+n-1); return the durations of the last n calls, seconds."""
    for i in range(warmup):
        fn(i)
    out = []
    for i in range(warmup, warmup + n):
        start = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - start)
    return out


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


def video_frames(path: Path, n: int) -> Iterator[np.ndarray]:
    """The first n RGB frames of a video file (looping if it is shorter)."""
    import cv2

    from pipeline.video import iter_frames

    produced = 0
    while produced < n:
        before = produced
        for frame in iter_frames(path):
            yield cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
            produced += 1
            if produced >= n:
                return
        if produced == before:
            return


def bench_pose(frames: list[np.ndarray], warmup: int, fps: float = 30.0) -> dict[str, Any]:
    from pipeline.pose import PoseEstimator

    found = []
    with PoseEstimator(mode="video") as estimator:

        def step(i: int) -> None:
            found.append(estimator.detect(frames[i], timestamp_ms=int(i * 1000 / fps)).found)

        samples = time_calls(step, len(frames) - warmup, warmup)
    h, w = frames[0].shape[:2]
    return {
        **summarise(samples),
        "frame_wh": [w, h],
        "person_found_fraction": float(np.mean(found[warmup:])),
        "model": estimator.model_path.name,
    }


# --- 2. windows and features ------------------------------------------------------------------


def bvh_sequences() -> Iterator[tuple[str, tuple]]:
    """(name, (world, image, visibility, t_s)) from the shared clips, mocap seen from the front."""
    from pipeline.bvh import read_bvh
    from pipeline.camera import VirtualCamera

    camera = VirtualCamera()
    for path in sorted(SHARED_DATA.glob("*.bvh")):
        motion = read_bvh(path)
        world = sk.from_bvh(motion)
        image = camera.image_points(world, 1.0 / motion.frame_time_s)
        visibility = np.ones(world.shape[:2], np.float32)
        yield path.name, (world, image, visibility, motion.t_s)


def synthetic_sequences() -> Iterator[tuple[str, tuple]]:
    """An endless supply of 10 s synthetic movements at 30 fps (arms and legs swinging)."""
    rng = np.random.default_rng(0)
    base = np.array(
        [[0, 1.6, 0.1], [0.18, 1.45, 0], [-0.18, 1.45, 0], [0.22, 1.15, 0], [-0.22, 1.15, 0],
         [0.24, 0.9, 0.05], [-0.24, 0.9, 0.05], [0.09, 0.95, 0], [-0.09, 0.95, 0],
         [0.1, 0.5, 0.02], [-0.1, 0.5, 0.02], [0.1, 0.08, 0], [-0.1, 0.08, 0]],
        np.float32,
    )  # fmt: skip
    k = 0
    while True:
        t = np.arange(300) / 30.0
        freq = rng.uniform(0.5, 2.0, (1, sk.N_JOINTS, 3))
        phase = rng.uniform(0, 2 * np.pi, (1, sk.N_JOINTS, 3))
        world = base + 0.08 * np.sin(2 * np.pi * freq * t[:, None, None] + phase)
        world[:, [sk.L_HIP, sk.R_HIP]] = base[[sk.L_HIP, sk.R_HIP]]
        image = world[..., :2] / 2.0
        yield f"synthetic_{k}", (world.astype(np.float32), image.astype(np.float32),
                                 np.ones((300, sk.N_JOINTS), np.float32), t)  # fmt: skip
        k += 1


def collect_windows(n: int, spec: WindowSpec, stride: int = 3) -> tuple[list[Window], str]:
    """At least n windows ending every `stride` frames, and where they came from."""
    if SHARED_DATA.is_dir() and any(SHARED_DATA.glob("*.bvh")):
        source, sequences = f"bvh:{SHARED_DATA}", bvh_sequences()
    else:
        source, sequences = "synthetic", synthetic_sequences()
    windows: list[Window] = []
    clips = 0
    for _, (world, image, visibility, t_s) in sequences:
        clips += 1
        for end in range(0, t_s.size, stride):
            w = make_window(world, image, visibility, t_s, spec, t_end=float(t_s[end]))
            if w is not None:
                windows.append(w)
        if len(windows) >= n:
            break
    return windows[:n], f"{source} ({clips} clips)"


def bench_vectorize(windows: list[Window], warmup: int) -> dict[str, Any]:
    out = {}
    for feature_set in FEATURE_SETS:
        samples = time_calls(
            lambda i, fs=feature_set: vectorize(windows[i % len(windows)], fs), len(windows), warmup
        )
        out[feature_set] = {
            **summarise(samples),
            "n_features": int(vectorize(windows[0], feature_set).size),
        }
    return out


def bench_tick(spec: WindowSpec, n: int, warmup: int, fps: float = 30.0) -> dict[str, Any]:
    """push + window per frame on a full buffer, as the live loop does every frame."""
    _, (world, image, visibility, t_s) = next(synthetic_sequences())
    buffer = SkeletonBuffer.for_spec(spec, max_fps=60.0)
    total = world.shape[0]
    usable = []

    def tick(i: int) -> None:
        k = i % total
        buffer.push(world[k], image[k], visibility[k], (i + 1) / fps)
        usable.append(buffer.window(spec) is not None)

    samples = time_calls(tick, n, warmup)
    return {**summarise(samples), "buffer_capacity": buffer.capacity,
            "usable_fraction": float(np.mean(usable[warmup:]))}  # fmt: skip


# --- report ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "mediapipe": version("mediapipe"),
        "opencv": version("opencv-contrib-python") or version("opencv-python"),
        "scikit-learn": version("scikit-learn"),
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--out", type=Path, help="write the results as JSON to this file")
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.pose_frames < 100 or args.windows < 1000 or args.ticks < 100 or args.warmup < 1:
        raise ValueError(
            "need --pose-frames >= 100, --windows >= 1000, --ticks >= 100 and --warmup >= 1, "
            f"got {args.pose_frames}, {args.windows}, {args.ticks}, {args.warmup}"
        )
    if args.video is not None and not args.video.is_file():
        raise FileNotFoundError(f"video not found: {args.video}")
    spec = WindowSpec()
    results: dict[str, Any] = {"machine": machine(), "window_spec": spec.to_dict()}
    if not args.no_pose:
        n = args.pose_frames + args.warmup
        if args.video is not None:
            frames, source = list(video_frames(args.video, n)), str(args.video)
        else:
            frames, source = list(astronaut_frames(n)), "skimage astronaut on 640x480, moving"
        if len(frames) <= args.warmup:
            raise ValueError(f"{source} gave only {len(frames)} frames")
        results["pose_video_mode"] = {**bench_pose(frames, args.warmup), "source": source}
    windows, source = collect_windows(args.windows, spec)
    results["vectorize"] = {**bench_vectorize(windows, args.warmup), "source": source}
    results["tick_push_window"] = bench_tick(spec, args.ticks, args.warmup)
    default = results["vectorize"][DEFAULT_FEATURE_SET]["median_ms"]
    results["vectorize_target"] = {
        "feature_set": DEFAULT_FEATURE_SET,
        "target_ms": TARGET_VECTORIZE_MS,
        "met": bool(default < TARGET_VECTORIZE_MS),
    }
    return results


def print_table(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(f"machine: {m['platform']}, {m['cpu_count']} CPUs, python {m['python']}, "
          f"numpy {m['numpy']}, mediapipe {m['mediapipe']}")  # fmt: skip
    rows = []
    if "pose_video_mode" in results:
        p = results["pose_video_mode"]
        rows.append((f"pose detect (video mode, {p['frame_wh'][0]}x{p['frame_wh'][1]})", p))
    for name, v in results["vectorize"].items():
        if isinstance(v, dict):
            rows.append((f"vectorize {name} ({v['n_features']} features)", v))
    rows.append(("push + window per tick", results["tick_push_window"]))
    print(f"{'stage':<44}{'median ms':>11}{'p95 ms':>10}{'n':>7}")
    for label, v in rows:
        print(f"{label:<44}{v['median_ms']:>11.3f}{v['p95_ms']:>10.3f}{v['n']:>7}")
    if "pose_video_mode" in results:
        print(
            f"person found in {results['pose_video_mode']['person_found_fraction']:.0%} "
            "of pose frames"
        )
    print(f"windows from {results['vectorize']['source']}")
    target = results["vectorize_target"]
    print(f"target vectorize({target['feature_set']!r}) < {target['target_ms']} ms: "
          f"{'met' if target['met'] else 'NOT met'}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GLOG_minloglevel", "2")
    args = build_parser().parse_args(argv)
    try:
        results = run(args)
    except (ValueError, FileNotFoundError, RuntimeError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_table(results)
    if args.out is not None:
        import json

        from pipeline.io import write_text_atomic

        write_text_atomic(args.out, json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
