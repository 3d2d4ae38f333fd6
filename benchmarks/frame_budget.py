"""Frame budget of the live loop: the real app's loop, real PoseLandmarker, paced input.

Drives `realtime.loop.run_loop` exactly as `python -m realtime` does (capture thread, pose,
buffer + window + vectorize, classifier, smoothing, overlay drawing, a JSONL sink), headless,
on a video played as if live at its frame rate. The input is the demo clip (real footage of
a person, 1080x1920 at 60 fps) letterboxed into `--size` and resampled to `--fps`, or any
`--video`. Per-stage times come from the loop's own `perf_counter` stamps (the same ones
behind the JSONL `latency_ms`).

Prints per-stage p50/p95 (ms), sustained fps, dropped frames, the non-pose overhead as a
fraction of pose time, and checks the issue's budget (640x480 at 30 fps: >= 30 fps
sustained, p95 capture-to-label latency <= 50 ms, non-pose work <= 2 ms p95 per frame).
Writes the figures, the budget and the machine's load as JSON:

    python -m benchmarks.frame_budget --out reports/frame_budget.json
    python -m benchmarks.frame_budget --size 1280x720 --out reports/frame_budget_720p.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

BUDGET = {"fps_min": 30.0, "latency_p95_ms_max": 50.0, "non_pose_p95_ms_max": 2.0}
STAGES = {
    "capture_to_pose": "wait_ms",
    "prepare (BGR->RGB)": "prepare_ms",
    "pose": "pose_ms",
    "buffer+window+vectorize": "window_ms",
    "classify": "classify_ms",
    "smoothing+decision": "smooth_ms",
    "drawing": "draw_ms",
    "outputs (JSONL)": "output_ms",
    "end_to_end_latency": "latency_ms",
}


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"size must be WIDTHxHEIGHT, e.g. 640x480, got {text!r}"
        ) from None
    if w < 64 or h < 64:
        raise argparse.ArgumentTypeError(f"size must be at least 64x64, got {text!r}")
    return w, h


def letterboxed_clip(source: Path, out: Path, size_wh: tuple[int, int], fps: float) -> Path:
    """One pass of `source` scaled into `size_wh` (same aspect, black bars), resampled to `fps`."""
    import cv2

    from pipeline.video import VideoInfo, iter_frames

    info = VideoInfo.from_path(source)
    frames = [f.image for f in iter_frames(source)]
    duration_s = len(frames) / info.fps
    w, h = size_wh
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size_wh)
    for k in range(max(1, int(round(duration_s * fps)))):
        image = frames[min(int(k / fps * info.fps), len(frames) - 1)]
        scale = min(w / image.shape[1], h / image.shape[0])
        small = cv2.resize(
            image,
            (round(image.shape[1] * scale), round(image.shape[0] * scale)),
            interpolation=cv2.INTER_AREA,
        )
        canvas = np.zeros((h, w, 3), np.uint8)
        y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
        canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
        writer.write(canvas)
    writer.release()
    return out


def percentiles(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
        "mean_ms": round(float(a.mean()), 3),
        "max_ms": round(float(a.max()), 3),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("GLOG_minloglevel", "2")
    from pipeline.models import DEFAULT_MODEL, load_model
    from pipeline.pose import PoseEstimator
    from realtime.capture import FileSource, quiet_opencv
    from realtime.jsonl import JsonlWriter
    from realtime.loop import (
        Analyzer,
        JsonlSink,
        quiet_stderr,
        run_loop,
        single_threaded_numerics,
    )
    from realtime.overlay import default_annotators
    from realtime.smoothing import LabelDecider, make_smoother

    quiet_opencv()
    model_path = args.model or DEFAULT_MODEL
    model = load_model(model_path)
    with tempfile.TemporaryDirectory() as tmp:
        if args.video is not None:
            source_path = letterboxed_clip(args.video, Path(tmp) / "input.mp4", args.size, args.fps)
            source_name = str(args.video)
        else:
            from realtime.demo import fetch_demo_clip

            clip = fetch_demo_clip(notify=lambda m: print(m, file=sys.stderr))
            source_path = letterboxed_clip(clip, Path(tmp) / "input.mp4", args.size, args.fps)
            source_name = f"demo clip {clip.name} letterboxed"
        ticks: list[tuple[float, int, dict[str, float]]] = []
        # quiet_stderr: mediapipe's own log lines on fd 2, for the whole run
        with (
            quiet_stderr(),
            single_threaded_numerics(),
            PoseEstimator(args.pose_model, mode="video", num_poses=1) as pose,
        ):
            analyzer = Analyzer(model, pose, make_smoother("ema"), LabelDecider())

            def collect(frame: Any, tick: Any) -> None:
                t = tick.times
                stages = {k: getattr(t, v) for k, v in STAGES.items()}
                ticks.append((analyzer.clock(), frame.index, stages | {"non_pose": t.non_pose_ms}))

            load_before = os.getloadavg()
            with (
                JsonlWriter(Path(tmp) / "ticks.jsonl") as writer,
                FileSource(source_path, realtime=not args.offline, loop=True, max_side=0) as source,
            ):
                summary = run_loop(
                    source,
                    analyzer,
                    annotators=default_annotators(model.classes),
                    sinks=[JsonlSink(writer, model.classes)],
                    duration_s=args.warmup + args.duration,
                    on_tick=collect,
                )
            load_after = os.getloadavg()
    start = ticks[0][0] + args.warmup
    measured = [t for t in ticks if t[0] >= start]
    if len(measured) < 10:
        raise RuntimeError(f"only {len(measured)} frames measured; run longer (--duration)")
    clocks = [t[0] for t in measured]
    span = clocks[-1] - clocks[0]
    frames_covered = measured[-1][1] - measured[0][1] + 1
    stages = {name: percentiles([t[2][name] for t in measured]) for name in [*STAGES, "non_pose"]}
    fps = (len(measured) - 1) / span
    pose_p50 = stages["pose"]["p50_ms"]
    result = {
        "input": {
            "source": source_name,
            "size": f"{args.size[0]}x{args.size[1]}",
            "fps": args.fps,
            "paced": not args.offline,
        },
        "model": {
            "path": str(model_path),
            "feature_set": model.feature_set,
            "classes": len(model.classes),
            "window_s": model.window.window_s,
        },
        "measured_s": round(span, 2),
        "frames_processed": len(measured),
        "frames_delivered": frames_covered,
        "dropped": frames_covered - len(measured),
        "sustained_fps": round(fps, 2),
        "stages": stages,
        "non_pose_over_pose": {
            "p50": round(stages["non_pose"]["p50_ms"] / pose_p50, 4),
            "mean": round(stages["non_pose"]["mean_ms"] / stages["pose"]["mean_ms"], 4),
        },
        "budget": {
            **BUDGET,
            "fps_ok": fps >= BUDGET["fps_min"] * 0.99 or args.offline,
            "latency_ok": stages["end_to_end_latency"]["p95_ms"] <= BUDGET["latency_p95_ms_max"],
            "non_pose_ok": stages["non_pose"]["p95_ms"] <= BUDGET["non_pose_p95_ms_max"],
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_1min_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        },
        "run": {"reason": summary.reason, "warmup_s": args.warmup},
    }
    return result


def report(result: dict[str, Any]) -> str:
    lines = [
        f"input: {result['input']['source']} at {result['input']['size']}, "
        f"{result['input']['fps']:g} fps ({'paced' if result['input']['paced'] else 'unpaced'}); "
        f"{result['measured_s']} s measured after warm-up",
        f"{'stage':<26}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}",
    ]
    for name, s in result["stages"].items():
        label = "non-pose total" if name == "non_pose" else name
        lines.append(f"{label:<26}{s['p50_ms']:>9.2f}{s['p95_ms']:>9.2f}{s['mean_ms']:>9.2f}")
    b = result["budget"]
    ok = {True: "ok", False: "MISSED"}
    lines += [
        f"sustained fps: {result['sustained_fps']:.2f} ({result['frames_processed']} of "
        f"{result['frames_delivered']} frames processed, {result['dropped']} dropped)",
        f"non-pose overhead / pose time: {100 * result['non_pose_over_pose']['p50']:.1f}% (p50), "
        f"{100 * result['non_pose_over_pose']['mean']:.1f}% (mean)",
        f"budget: fps >= {b['fps_min']:g}: {ok[b['fps_ok']]}; p95 latency <= "
        f"{b['latency_p95_ms_max']:g} ms: {ok[b['latency_ok']]}; non-pose p95 <= "
        f"{b['non_pose_p95_ms_max']:g} ms: {ok[b['non_pose_ok']]}",
        f"machine: {result['machine']['cpus']} CPUs, 1-min load average "
        f"{result['machine']['loadavg_1min_before_after'][0]} before, "
        f"{result['machine']['loadavg_1min_before_after'][1]} after",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.frame_budget",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--video", type=Path, help="input video instead of the demo clip")
    p.add_argument(
        "--size",
        type=parse_size,
        default=(640, 480),
        metavar="WxH",
        help="frame size the input is letterboxed to, pixels",
    )
    p.add_argument("--fps", type=float, default=30.0, help="input frame rate, frames per second")
    p.add_argument("--duration", type=float, default=20.0, help="measured time, seconds")
    p.add_argument("--warmup", type=float, default=3.0, help="time discarded first, seconds")
    p.add_argument(
        "--offline",
        action="store_true",
        help="unpaced (--no-realtime): the loop's highest rate instead of a 'live' source",
    )
    p.add_argument("--model", type=Path, help="emotion model; default the shipped one")
    p.add_argument("--pose-model", type=Path, help="PoseLandmarker .task; default the built-in one")
    p.add_argument("--out", type=Path, help="write the figures as JSON here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = measure(args)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(report(result))
    if args.out is not None:
        from pipeline.io import write_text_atomic

        write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
