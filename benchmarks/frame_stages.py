"""The frame budget's per-stage table: each non-pose stage of the live loop replayed on the
same frames and the poses found in them (no pose model in the way), timed by the wall clock
and by the thread's CPU clock (`benchmarks.frame_budget` runs it and prints it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import summarise

DETAIL = (
    "colour BGR->RGB (capture thread)",
    "resize to size (capture thread)",
    "buffer+window+features",
    "classify",
    "smoothing+decision",
    "draw: skeleton",
    "draw: label panel",
    "draw: stats strip",
    "JSONL: record",
    "JSONL: write",
)
LOOP_THREAD = DETAIL[2:]  # the loop thread's share: what the non-pose budget covers


def replay(
    model: Any,
    frames: list[tuple[np.ndarray, np.ndarray]],
    natives: list[np.ndarray],
    poses: list[Any],
    fps: float,
) -> dict[str, dict[str, dict[str, float | int]]]:
    """Each non-pose stage on the frames and their recorded poses, wall and CPU time, ms."""
    import time

    import cv2

    from pipeline.video import resize_to
    from realtime.analyzer import Analyzer
    from realtime.capture import Frame
    from realtime.overlay import default_annotators
    from realtime.sinks.jsonl import JsonlWriter, tick_record
    from realtime.smoothing import LabelDecider, make_smoother

    class Replay:
        def __init__(self) -> None:
            self.k = 0

        def detect(self, image_rgb: Any, timestamp_ms: Any = None, previous: Any = None) -> Any:
            person = poses[self.k % len(poses)]
            self.k += 1
            return person

    size = (frames[0][0].shape[1], frames[0][0].shape[0])
    out: dict[str, dict[str, dict[str, float | int]]] = {}
    for name, clock in (("wall", time.perf_counter), ("cpu", time.thread_time)):
        analyzer = Analyzer(model, Replay(), make_smoother("ema"), LabelDecider(), clock=clock)
        annotators = default_annotators(model.classes)
        times: dict[str, list[float]] = {k: [] for k in (*DETAIL, "non_pose")}
        with tempfile.TemporaryDirectory() as tmp, JsonlWriter(Path(tmp) / "t.jsonl") as writer:
            for k in range(len(poses)):
                bgr, _ = frames[k % len(frames)]
                native = natives[k % len(natives)]
                t0 = clock()
                cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                t1 = clock()
                resize_to(native, _fit(native, size))
                t2 = clock()
                times[DETAIL[0]].append(1e3 * (t1 - t0))
                times[DETAIL[1]].append(1e3 * (t2 - t1))
                image = bgr.copy()
                tick = analyzer.step(Frame(image, k, k / fps, clock(), frames[0][1]))
                stamps = [clock()]
                for annotator in annotators:
                    annotator.annotate(image, tick)
                    stamps.append(clock())
                record = tick_record(tick, model.classes)
                stamps.append(clock())
                writer.write(record)
                stamps.append(clock())
                t = tick.times
                parts = [t.window_ms, t.classify_ms, t.smooth_ms]
                parts += [1e3 * (b - a) for a, b in zip(stamps, stamps[1:], strict=False)]
                for key, v in zip(LOOP_THREAD, parts, strict=True):
                    times[key].append(v)
                times["non_pose"].append(sum(parts))
        skip = min(len(poses) // 5, 30)  # the first window fills up: warm-up
        out[name] = {k: summarise(v[skip:], 3) for k, v in times.items()}
    return out


def _fit(image: np.ndarray, size_wh: tuple[int, int]) -> tuple[int, int]:
    scale = min(size_wh[0] / image.shape[1], size_wh[1] / image.shape[0])
    return round(image.shape[1] * scale), round(image.shape[0] * scale)
