"""Frame budget of the live loop: the real app's loop, real PoseLandmarker, paced input.

Drives `realtime.loop.run_loop` exactly as `python -m realtime` does (capture thread, pose,
buffer + window + vectorize, classifier, smoothing, overlay drawing, a JSONL sink), headless,
on a video played as if live at its frame rate. The input is the demo clip (real footage of
a person, 1080x1920 at 60 fps) letterboxed into `--size` and resampled to `--fps`, or any
`--video`. Per-stage times come from the loop's own `perf_counter` stamps (the same ones
behind the JSONL `latency_ms`).

Prints per-stage median/p95 (ms), sustained fps, dropped frames, the non-pose overhead as a
fraction of pose time, and checks the issue's budget (640x480 at 30 fps: >= 30 fps
sustained, p95 capture-to-label latency <= 50 ms, non-pose work <= 1 ms p95 per frame, the
unpaced loop >= 0.95 x pose-alone throughput).

Two more measurements, side by side in the same run:
- throughput: pose alone (PoseLandmarker + person selection) and the whole unpaced loop,
  on the same frames held in memory, in alternating rounds (so a change of machine load
  hits both alike); their ratio is the loop's cost in frames per second;
- a per-stage table on a replay of the same frames and the poses found in them (no pose
  model in the way): colour conversion and resizing (the capture thread's work), buffer +
  window + features, classify, smoothing, each overlay layer, the JSONL record and its
  write. Each stage is timed by the wall clock and by the thread's CPU clock: on a busy
  machine the wall time includes being preempted, the CPU time does not.

Writes the figures, the budget and the machine's load as JSON:

    python -m benchmarks.frame_budget --out reports/frame_budget.json
    python -m benchmarks.frame_budget --size 1280x720 --out reports/frame_budget_720p.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import benchmark_parser, clip_or_demo, letterbox, run_benchmark, summarise
from benchmarks.frame_stages import DETAIL, replay

# the realtime issue's budget, for 640x480 input at 30 fps
BUDGET = {
    "size": "640x480",
    "fps": 30.0,
    "fps_min": 30.0,
    "latency_p95_ms_max": 50.0,
    "non_pose_p95_ms_max": 1.0,
    "unpaced_ratio_min": 0.95,
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


def load_benchmark_model(path: Path | None) -> tuple[Any, str]:
    """The model at `path` (default the shipped one), or, when it does not load, a tiny
    one trained as the tests' fixtures do; and what was used."""
    from pipeline.models import DEFAULT_MODEL, load_model

    model_path = path or DEFAULT_MODEL
    try:
        return load_model(model_path), str(model_path)
    except (OSError, ValueError, RuntimeError) as e:
        if path is not None:
            raise
        from tests.realtime.conftest import build_tiny_model

        print(
            f"note: {model_path} did not load ({e}); using the tests' tiny model", file=sys.stderr
        )
        return build_tiny_model(), "tiny test model (shipped model did not load)"


def memory_source(frames: list[tuple[np.ndarray, np.ndarray]], total: int, fps: float) -> Any:
    """`frames` (BGR, RGB pairs) on repeat, `total` of them, every one delivered (no drops):
    a capture thread copies each image into a fresh array, as decoding would."""
    import time

    from realtime.capture import Frame, SourceInfo
    from realtime.capture.base import ThreadedSource

    class _Source(ThreadedSource):
        def __init__(self) -> None:
            super().__init__(time.perf_counter)
            h, w = frames[0][0].shape[:2]
            self.info = SourceInfo("memory", w, h, (w, h), fps, total)

        def _produce(self) -> None:
            for k in range(total):
                bgr, rgb = frames[k % len(frames)]
                frame = Frame(bgr.copy(), k, k / fps, self._clock(), rgb)
                if not self._slot.put(frame, block=True) or self._stop.is_set():
                    return

        def get(self, timeout_s: float) -> Frame | None:
            from dataclasses import replace

            frame = self._slot.get(timeout_s)
            return None if frame is None else replace(frame, grabbed_s=self._clock())

        def _release(self) -> None:
            pass

    return _Source()


def throughput(
    model: Any, frames: list[tuple[np.ndarray, np.ndarray]], args: argparse.Namespace
) -> tuple[dict[str, Any], list[Any]]:
    """Pose alone vs the unpaced loop on the same in-memory frames, alternating rounds.

    Returns the figures and the poses found (for the replay), one per frame of a round.
    """
    import time

    from pipeline.pose import PersonTrack, PoseEstimator
    from realtime.analyzer import Analyzer
    from realtime.loop import run_loop
    from realtime.overlay import default_annotators
    from realtime.sinks.jsonl import JsonlSink, JsonlWriter
    from realtime.smoothing import LabelDecider, make_smoother

    n = args.frames
    pose_s = loop_s = 0.0
    poses: list[Any] = []
    for round_ in range(args.rounds):
        with PoseEstimator(args.pose_model, mode="video", num_poses=1) as pose:
            track = PersonTrack(pose)
            for k in range(3):  # warm-up (first inferences are slow)
                track(frames[k % len(frames)][1], k / args.fps)
            t0 = time.perf_counter()
            found = [track(frames[k % len(frames)][1], (k + 3) / args.fps) for k in range(n)]
            pose_s += time.perf_counter() - t0
        if round_ == 0:
            poses = found
        with PoseEstimator(args.pose_model, mode="video", num_poses=1) as pose:
            analyzer = Analyzer(model, pose, make_smoother("ema"), LabelDecider())
            clocks: list[float] = []
            with (
                tempfile.TemporaryDirectory() as tmp,
                JsonlWriter(Path(tmp) / "ticks.jsonl") as writer,
                memory_source(frames, n + 3, args.fps) as source,
            ):
                run_loop(
                    source,
                    analyzer,
                    annotators=default_annotators(model.classes),
                    sinks=[JsonlSink(writer, model.classes)],
                    on_tick=lambda f, t, c=clocks, a=analyzer: c.append(a.clock()),
                    draw=True,
                )
            loop_s += clocks[-1] - clocks[2]  # from the end of the 3rd frame: n frames
    pose_fps, loop_fps = args.rounds * n / pose_s, args.rounds * n / loop_s
    return {
        "frames": args.rounds * n,
        "rounds": args.rounds,
        "pose_alone_fps": round(pose_fps, 2),
        "unpaced_loop_fps": round(loop_fps, 2),
        "ratio": round(loop_fps / pose_fps, 4),
    }, poses


def memory_frames(
    clip: Path, size_wh: tuple[int, int], fps: float
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray]]:
    """One pass of the letterboxed clip at `fps` as (BGR, RGB) pairs, and a few native
    frames (for the resizing figure)."""
    import cv2

    from pipeline.video import iter_frames

    frames = [
        (f, np.asarray(cv2.cvtColor(f, cv2.COLOR_BGR2RGB)))
        for f in letterboxed_frames(clip, size_wh, fps)
    ]
    natives = []
    for frame in iter_frames(clip):
        natives.append(frame.image)
        if len(natives) >= 10:
            break
    return frames, natives


def run(args: argparse.Namespace) -> dict[str, Any]:
    from pipeline.pose import PoseEstimator, quiet_stderr
    from pipeline.video import write_video
    from realtime.analyzer import Analyzer
    from realtime.capture import FileSource, quiet_opencv
    from realtime.loop import run_loop, single_threaded_numerics
    from realtime.overlay import default_annotators
    from realtime.sinks.jsonl import JsonlSink, JsonlWriter
    from realtime.smoothing import LabelDecider, make_smoother

    quiet_opencv()
    model, model_path = load_benchmark_model(args.model)
    clip, clip_name = clip_or_demo(args.video)
    frames, natives = memory_frames(clip, args.size, args.fps)
    with quiet_stderr(), single_threaded_numerics():
        side_by_side, poses = throughput(model, frames, args)
        stage_table = replay(model, frames, natives, poses, args.fps)
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
                    draw=True,  # as with a window open (headless JSONL-only runs skip it)
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
            "path": model_path,
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
        "throughput": side_by_side,
        "stage_table_ms": stage_table,
        "budget": {
            **BUDGET,
            "applies": size == BUDGET["size"] and args.fps == BUDGET["fps"],
            "fps_ok": fps >= BUDGET["fps_min"] * 0.99 or args.offline,
            "latency_ok": stages["end_to_end_latency"]["p95"] <= BUDGET["latency_p95_ms_max"],
            "non_pose_ok": stages["non_pose"]["p95"] <= BUDGET["non_pose_p95_ms_max"],
            "replay_non_pose_cpu_ok": stage_table["cpu"]["non_pose"]["p95"]
            <= BUDGET["non_pose_p95_ms_max"],
            "unpaced_ratio_ok": side_by_side["ratio"] >= BUDGET["unpaced_ratio_min"],
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
    table = result["stage_table_ms"]
    lines += [
        "",
        f"per stage, replayed on the same frames and their poses ({table['cpu']['non_pose']['n']} "
        "frames; ms):",
        f"{'stage':<34}{'wall med':>9}{'wall p95':>9}{'cpu med':>9}{'cpu p95':>9}",
    ]
    for name in (*DETAIL, "non_pose"):
        w, c = table["wall"][name], table["cpu"][name]
        label = "loop thread total (non-pose)" if name == "non_pose" else name
        lines.append(
            f"{label:<34}{w['median']:>9.3f}{w['p95']:>9.3f}{c['median']:>9.3f}{c['p95']:>9.3f}"
        )
    tp = result["throughput"]
    lines += [
        "",
        f"throughput on the same {tp['frames']} in-memory frames ({tp['rounds']} alternating "
        f"rounds): pose alone {tp['pose_alone_fps']:.1f} fps, unpaced loop "
        f"{tp['unpaced_loop_fps']:.1f} fps, ratio {tp['ratio']:.3f} "
        f"(goal >= {b['unpaced_ratio_min']:g}: {ok[b['unpaced_ratio_ok']]})",
        "",
        "paced live run:",
    ]
    lines += [
        f"sustained fps: {result['sustained_fps']:.2f} ({result['frames_processed']} of "
        f"{result['frames_delivered']} frames processed, {result['dropped']} dropped)",
        f"non-pose overhead / pose time: {100 * ratio['median']:.1f}% (median), "
        f"{100 * ratio['mean']:.1f}% (mean)",
        f"budget for {b['size']} at {b['fps']:g} fps{'' if b['applies'] else ' (not this input)'}: "
        f"fps >= {b['fps_min']:g}: {ok[b['fps_ok']]}; p95 latency <= "
        f"{b['latency_p95_ms_max']:g} ms: {ok[b['latency_ok']]}; non-pose p95 <= "
        f"{b['non_pose_p95_ms_max']:g} ms: {ok[b['non_pose_ok']]} (in the live run), "
        f"{ok[b['replay_non_pose_cpu_ok']]} (replayed, CPU time)",
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
    p.add_argument(
        "--frames", type=int, default=150, help="frames per round of the throughput comparison"
    )
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds of it")
    p.add_argument("--model", type=Path, help="emotion model; default the shipped one")
    p.add_argument("--pose-model", type=Path, help="PoseLandmarker .task; default the built-in one")
    return p


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(build_parser().parse_args(argv), run, report)


if __name__ == "__main__":
    raise SystemExit(main())
