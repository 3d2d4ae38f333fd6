"""Frame budget of the live loop: the real app's loop, real PoseLandmarker, paced input.

Drives `realtime.loop.run_loop` exactly as `python -m realtime` does (capture thread, pose,
buffer + window + vectorize, classifier, smoothing, overlay drawing, a JSONL sink), headless,
on a video played as if live at its frame rate. The input is the demo clip (real footage of
a person, 1080x1920 at 60 fps) letterboxed into `--size` and resampled to `--fps`, or any
`--video`. Per-stage times come from the loop's own `perf_counter` stamps (the same ones
behind the JSONL `latency_ms`).

Prints per-stage median/p95 (ms), sustained fps, dropped frames, the non-pose overhead as a
fraction of pose time, and checks the issue's budget (640x480 at 30 fps: >= 30 fps
sustained, p95 capture-to-label latency <= 50 ms, non-pose work <= 2 ms p95 per frame).
Writes the figures, the budget and the machine's load as JSON:

    python -m benchmarks.frame_budget --out reports/frame_budget.json
    python -m benchmarks.frame_budget --size 1280x720 --out reports/frame_budget_720p.json
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import benchmark_parser, clip_or_demo, run_benchmark, summarise

# the realtime issue's budget, for 640x480 input at 30 fps
BUDGET = {
    "size": "640x480",
    "fps": 30.0,
    "fps_min": 30.0,
    "latency_p95_ms_max": 50.0,
    "non_pose_p95_ms_max": 2.0,
}
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


def letterbox(image: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """`image` scaled to fit inside `size_wh` (same aspect), centred on black."""
    from pipeline.video import resize_to

    w, h = size_wh
    scale = min(w / image.shape[1], h / image.shape[0])
    small = resize_to(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)))
    canvas = np.zeros((h, w, 3), np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return canvas


def letterboxed_frames(source: Path, size_wh: tuple[int, int], fps: float) -> Iterator[np.ndarray]:
    """One pass of `source`, each frame letterboxed into `size_wh`, resampled to `fps`:
    output frame k shows source frame floor(k * source fps / fps)."""
    from pipeline.video import VideoInfo, iter_frames

    source_fps = VideoInfo.from_path(source).fps
    k = 0
    for frame in iter_frames(source):
        boxed = None
        while k * source_fps / fps < frame.index + 1:
            boxed = letterbox(frame.image, size_wh) if boxed is None else boxed
            yield boxed
            k += 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    from pipeline.models import DEFAULT_MODEL, load_model
    from pipeline.pose import PoseEstimator, quiet_stderr
    from pipeline.video import write_video
    from realtime.analyzer import Analyzer
    from realtime.capture import FileSource, quiet_opencv
    from realtime.loop import run_loop, single_threaded_numerics
    from realtime.overlay import default_annotators
    from realtime.sinks.jsonl import JsonlSink, JsonlWriter
    from realtime.smoothing import LabelDecider, make_smoother

    quiet_opencv()
    model_path = args.model or DEFAULT_MODEL
    model = load_model(model_path)
    clip, clip_name = clip_or_demo(args.video)
    with tempfile.TemporaryDirectory() as tmp:
        source_path = Path(tmp) / "input.mp4"
        write_video(letterboxed_frames(clip, args.size, args.fps), source_path, args.fps)
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
    start = ticks[0][0] + args.warmup
    measured = [t for t in ticks if t[0] >= start]
    if len(measured) < 10:
        raise RuntimeError(f"only {len(measured)} frames measured; run longer (--duration)")
    clocks = [t[0] for t in measured]
    span = clocks[-1] - clocks[0]
    frames_covered = measured[-1][1] - measured[0][1] + 1
    stages = {name: summarise([t[2][name] for t in measured], 3) for name in [*STAGES, "non_pose"]}
    fps = (len(measured) - 1) / span
    size = f"{args.size[0]}x{args.size[1]}"
    return {
        "input": {
            "source": f"{clip_name}, letterboxed",
            "size": size,
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
        "stages_ms": stages,
        "non_pose_over_pose": {
            "median": round(stages["non_pose"]["median"] / stages["pose"]["median"], 4),
            "mean": round(stages["non_pose"]["mean"] / stages["pose"]["mean"], 4),
        },
        "budget": {
            **BUDGET,
            "applies": size == BUDGET["size"] and args.fps == BUDGET["fps"],
            "fps_ok": fps >= BUDGET["fps_min"] * 0.99 or args.offline,
            "latency_ok": stages["end_to_end_latency"]["p95"] <= BUDGET["latency_p95_ms_max"],
            "non_pose_ok": stages["non_pose"]["p95"] <= BUDGET["non_pose_p95_ms_max"],
        },
        "run": {"reason": summary.reason, "warmup_s": args.warmup},
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"input: {result['input']['source']} at {result['input']['size']}, "
        f"{result['input']['fps']:g} fps ({'paced' if result['input']['paced'] else 'unpaced'}); "
        f"{result['measured_s']} s measured after warm-up",
        f"{'stage':<26}{'median ms':>10}{'p95 ms':>9}{'mean ms':>9}",
    ]
    for name, s in result["stages_ms"].items():
        label = "non-pose total" if name == "non_pose" else name
        lines.append(f"{label:<26}{s['median']:>10.2f}{s['p95']:>9.2f}{s['mean']:>9.2f}")
    b, ratio = result["budget"], result["non_pose_over_pose"]
    ok = {True: "ok", False: "MISSED"}
    lines += [
        f"sustained fps: {result['sustained_fps']:.2f} ({result['frames_processed']} of "
        f"{result['frames_delivered']} frames processed, {result['dropped']} dropped)",
        f"non-pose overhead / pose time: {100 * ratio['median']:.1f}% (median), "
        f"{100 * ratio['mean']:.1f}% (mean)",
        f"budget for {b['size']} at {b['fps']:g} fps{'' if b['applies'] else ' (not this input)'}: "
        f"fps >= {b['fps_min']:g}: {ok[b['fps_ok']]}; p95 latency <= "
        f"{b['latency_p95_ms_max']:g} ms: {ok[b['latency_ok']]}; non-pose p95 <= "
        f"{b['non_pose_p95_ms_max']:g} ms: {ok[b['non_pose_ok']]}",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = benchmark_parser("frame_budget", __doc__)
    p.add_argument("--video", type=Path, help="input video instead of the demo clip")
    p.add_argument(
        "--size",
        type=parse_size,
        default=parse_size(BUDGET["size"]),
        metavar="WxH",
        help="frame size the input is letterboxed to, pixels",
    )
    p.add_argument(
        "--fps", type=float, default=BUDGET["fps"], help="input frame rate, frames per second"
    )
    p.add_argument("--duration", type=float, default=20.0, help="measured time, seconds")
    p.add_argument("--warmup", type=float, default=3.0, help="time discarded first, seconds")
    p.add_argument(
        "--offline",
        action="store_true",
        help="unpaced (--no-realtime): the loop's highest rate instead of a 'live' source",
    )
    p.add_argument("--model", type=Path, help="emotion model; default the shipped one")
    p.add_argument("--pose-model", type=Path, help="PoseLandmarker .task; default the built-in one")
    return p


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(build_parser().parse_args(argv), run, report)


if __name__ == "__main__":
    raise SystemExit(main())
