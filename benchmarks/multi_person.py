"""Several people in view (`--max-people N`): the non-pose cost of each extra person, id
switches, and each person's label against the single-person label of the same footage.

The shared data has no clip with several people, so the input is COMPOSED from the demo
footage (one person; `realtime.demo`) or `--video`: N copies of it side by side in one
frame of `--size` (a grid of N equal cells: 1 or 2 in a row, 3 or 4 in two rows; each
copy cropped to where the person moves and letterboxed into its cell), copy k
delayed by k x `--delay` seconds and every odd copy mirrored horizontally. The footage is
played forward then backward on repeat (no jump in the movement) and resampled to `--fps`.
The composed clips are written to a temporary folder (`--keep-clips DIR` keeps them, e.g.
for `python -m realtime --video DIR/people2.mp4 --max-people 2`) and read back as the app
reads a video.

1. Poses: PoseLandmarker (video mode, num_poses N) on the clip of N copies, and num_poses 1
   on a clip of each copy alone (same place, delay and mirroring, black elsewhere);
   recorded once and replayed below, so pose time is left out.
2. Non-pose work per frame on the replayed poses: tracker (norfair), buffers, windows,
   features, classify, smoothing + decision, drawing (the app's annotators, with the
   per-person tags when N > 1), the JSONL record and its write; thread CPU time and wall
   time, alternating rounds. N = 1 is the single-person app (max-people 1) on one copy.
   Per extra person: (mean at N - mean at 1) / (people in view - 1), people in view being
   the mean number tracked per frame; goal <= 0.5 ms each at N <= 4 (CPU time).
3. Id switches: each tracked person belongs to the copy whose cell holds their box centre;
   a switch is a change of the id seen in a cell from one frame it is seen to the next.
4. Label agreement, frame by frame, of each copy's person in the composed run with the
   single-person run of that copy alone: shown state, shown label, the decider's decision
   before the novelty check (the shipped model shows "uncertain" for most demo windows)
   and the argmax of the smoothed probabilities.

    python -m benchmarks.multi_person --out reports/multi_person.json
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import benchmark_parser, clip_or_demo, run_benchmark, summarise
from benchmarks.composed import Footage, Layout, compose, composed_frames
from benchmarks.frame_budget import load_benchmark_model, parse_size

GOAL_MS = 0.5  # non-pose work per extra person, at N <= 4
Poses = list[list[Any]]  # per frame, the PoseFrames found
# the part of the demo footage the person moves in (x0, y0, x1, y1, normalised): people fill
# more of their cell, so PoseLandmarker finds them with 4 in a row
DEMO_CROP = (0.1, 0.17, 0.85, 0.68)
Poser = Callable[[Path, int, Path | None], tuple[Poses, list[float]]]


def record_poses(clip: Path, num_poses: int, pose_model: Path | None) -> tuple[Poses, list[float]]:
    """Everyone PoseLandmarker finds in each frame of `clip` (video mode), and the ms each took."""
    import cv2

    from pipeline.pose import PoseEstimator
    from pipeline.video import iter_frames

    poses, ms, last = [], [], -1
    with PoseEstimator(pose_model, mode="video", num_poses=num_poses) as pose:
        for frame in iter_frames(clip):
            rgb = np.ascontiguousarray(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))
            last = max(round(frame.t_s * 1000.0), last + 1)  # as the analyzer stamps frames
            t0 = time.perf_counter()
            poses.append(pose.detect_all(rgb, last))
            ms.append(1e3 * (time.perf_counter() - t0))
    return poses, ms


class Replay:
    """A pose stage that returns recorded poses, one frame after another."""

    def __init__(self, poses: Poses, image_wh: tuple[int, int]) -> None:
        self.poses, self.image_wh, self.k = poses, image_wh, 0

    def detect_all(self, image_rgb: Any, timestamp_ms: int | None = None) -> list[Any]:
        found = self.poses[self.k % len(self.poses)]
        self.k += 1
        return list(found)

    def detect(self, image_rgb: Any, timestamp_ms: int | None = None, previous: Any = None) -> Any:
        from pipeline.pose import PoseFrame, select_person

        person = select_person(self.detect_all(image_rgb, timestamp_ms), previous)
        return PoseFrame.empty(self.image_wh) if person is None else person


@dataclass
class Run:
    """One replay: per-frame non-pose ms (CPU, wall), people tracked, each person's record."""

    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)
    people: list[int] = field(default_factory=list)
    records: list[list[dict[str, Any]]] = field(default_factory=list)


def replay(
    model: Any,
    footage: Footage,
    layout: Layout,
    poses: Poses,
    max_people: int,
    fps: float,
    only: int | None = None,
) -> Run:
    """The live loop's work after pose on `poses`, frame by frame, timed."""
    from realtime.analyzer import Analyzer
    from realtime.capture import Frame
    from realtime.config import RealtimeConfig
    from realtime.overlay import default_annotators
    from realtime.sinks.jsonl import JsonlWriter, tick_record
    from realtime.smoothing import LabelDecider, make_smoother

    d = {f.name: f.default for f in fields(RealtimeConfig)}
    smoother = make_smoother(d["smoothing"], tau_s=d["smoothing_s"], k=d["smoothing_k"])
    analyzer = Analyzer(
        model,
        Replay(poses, layout.size),
        smoother,
        LabelDecider(d["min_confidence"], d["margin"]),
        max_people=max_people,
        fps=fps,
    )
    annotators = default_annotators(model.classes, people=max_people > 1)
    run = Run(stages={k: [] for k in ("tracker", "window", "classify", "smooth", "draw", "jsonl")})
    with tempfile.TemporaryDirectory() as tmp, JsonlWriter(Path(tmp) / "t.jsonl") as writer:
        for k in range(len(poses)):
            image = compose(footage, layout, k / fps, only)
            frame = Frame(image, k, k / fps, time.perf_counter(), image)
            c0, w0 = time.thread_time(), time.perf_counter()
            tick = analyzer.step(frame)
            w1 = time.perf_counter()
            for annotator in annotators:
                annotator.annotate(image, tick)
            w2 = time.perf_counter()
            writer.write(tick_record(tick, model.classes))
            c1, w3 = time.thread_time(), time.perf_counter()
            run.cpu_ms.append(1e3 * (c1 - c0))
            run.wall_ms.append(1e3 * (w3 - w0))
            t = tick.times
            for key, v in zip(
                run.stages,
                (
                    t.pose_ms,
                    t.window_ms,
                    t.classify_ms,
                    t.smooth_ms,
                    1e3 * (w2 - w1),
                    1e3 * (w3 - w2),
                ),
                strict=True,
            ):
                run.stages[key].append(v)
            run.people.append(len(tick.people))
            run.records.append([_record(p, analyzer.states.get(p.id)) for p in tick.people])
    return run


def _record(person: Any, state: Any) -> dict[str, Any]:
    decided = person.decision if state is None else state.decided
    proba = person.probabilities
    return {
        "id": person.id,
        "box": person.box,
        "state": person.decision.state,
        "label": person.decision.label,
        "decided": (decided.state, decided.label),
        "argmax": None if proba is None else int(np.argmax(proba)),
        "proba": proba,
    }


def by_copy(records: list[dict[str, Any]], layout: Layout) -> list[list[dict[str, Any]]]:
    """One frame's person records, grouped by the copy whose cell holds each box."""
    out: list[list[dict[str, Any]]] = [[] for _ in range(layout.n)]
    for r in records:
        k = layout.copy_at(r["box"])
        if k is not None:
            out[k].append(r)
    return out


def id_switches(frames: list[list[dict[str, Any]]], layout: Layout) -> list[dict[str, Any]]:
    """Per copy: id changes between the frames it is seen in, frames missed, frames with
    more than one person in its cell, and the ids it had."""
    out = []
    for k in range(layout.n):
        ids: list[int] = []
        missed = extra = 0
        for records in frames:
            mine = sorted(r["id"] for r in by_copy(records, layout)[k])
            missed += not mine
            extra += len(mine) > 1
            if mine:
                ids.append(mine[0] if not ids or ids[-1] not in mine else ids[-1])
        switches = sum(a != b for a, b in zip(ids, ids[1:], strict=False))
        out.append(
            {"switches": switches, "missed": missed, "extra": extra, "ids": sorted(set(ids))}
        )
    return out


def agreement(
    composed: list[list[dict[str, Any]]], alone: list[list[dict[str, Any]]], layout: Layout, k: int
) -> dict[str, Any]:
    """Copy k's person in the composed run against the run of copy k alone, frame by frame."""
    none = {"state": "no person", "label": None, "decided": ("no person", None), "argmax": None}
    same = {"state": 0, "label": 0, "decided": 0}
    argmax_same = both = 0
    diffs = []
    n = min(len(composed), len(alone))
    for a_records, b_records in zip(composed[:n], alone[:n], strict=True):
        mine = sorted(by_copy(a_records, layout)[k], key=lambda r: r["id"])
        a = mine[0] if mine else none
        b = b_records[0] if b_records else none
        for key in same:
            same[key] += a[key] == b[key]
        if a["argmax"] is not None and b["argmax"] is not None:
            both += 1
            argmax_same += a["argmax"] == b["argmax"]
            diffs.append(float(np.abs(a["proba"] - b["proba"]).max()))
    out: dict[str, Any] = {key: round(v / n, 4) if n else None for key, v in same.items()}
    out["argmax"] = round(argmax_same / both, 4) if both else None
    out["argmax_frames"] = both
    out["proba_max_abs_diff_median"] = round(float(np.median(diffs)), 4) if diffs else None
    out["frames"] = n
    return out


def run(args: argparse.Namespace, poser: Poser = record_poses) -> dict[str, Any]:
    from pipeline.video import write_video

    counts = sorted(set(args.max_people))
    if counts[0] != 1:
        raise ValueError(f"--max-people must include 1 (the baseline), got {args.max_people}")
    clip, credit = clip_or_demo(args.video)
    model, model_desc = load_benchmark_model(args.model)
    n_frames = max(2, round(args.seconds * args.fps))
    skip = min(n_frames // 2, round(args.fps * (model.window.window_s + 0.5)))  # warm-up
    layouts = {n: Layout(n, args.size, args.delay) for n in counts}
    crop = args.crop or (DEMO_CROP if args.video is None else (0.0, 0.0, 1.0, 1.0))
    footage = {n: Footage(clip, lay.cell_wh, crop) for n, lay in layouts.items()}
    poses: dict[int, Poses] = {}
    alone: dict[int, list[Poses]] = {}
    pose_ms: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep_clips or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for n, lay in layouts.items():
            path = folder / f"people{n}.mp4"
            write_video(composed_frames(footage[n], lay, n_frames, args.fps), path, args.fps)
            poses[n], ms = poser(path, n, args.pose_model)
            pose_ms[str(n)] = summarise(ms[skip:] or ms, 2)
            alone[n] = []
            for k in range(n if n > 1 else 0):
                path = folder / f"people{n}_copy{k}_alone.mp4"
                frames = composed_frames(footage[n], lay, n_frames, args.fps, only=k)
                write_video(frames, path, args.fps)
                alone[n].append(poser(path, 1, args.pose_model)[0])
    cpu: dict[int, list[float]] = {n: [] for n in counts}
    wall: dict[int, list[float]] = {n: [] for n in counts}
    means: dict[int, list[float]] = {n: [] for n in counts}
    wall_means: dict[int, list[float]] = {n: [] for n in counts}
    first: dict[int, Run] = {}
    for _ in range(args.rounds):
        for n in counts:
            r = replay(model, footage[n], layouts[n], poses[n], n, args.fps)
            first.setdefault(n, r)
            cpu[n] += r.cpu_ms[skip:]
            wall[n] += r.wall_ms[skip:]
            means[n].append(float(np.mean(r.cpu_ms[skip:])))
            wall_means[n].append(float(np.mean(r.wall_ms[skip:])))
    in_view = {n: float(np.mean(first[n].people[skip:])) for n in counts}
    non_pose = {
        str(n): {
            "cpu_ms": summarise(cpu[n], 3),
            "wall_ms": summarise(wall[n], 3),
            "round_means_cpu_ms": [round(v, 4) for v in means[n]],
            "people_in_view": round(in_view[n], 3),
            "stages_wall_ms": {k: summarise(v[skip:], 3) for k, v in first[n].stages.items()},
        }
        for n in counts
    }
    extra: dict[str, Any] = {}
    for n in counts[1:]:
        if in_view[n] <= 1:
            extra[str(n)] = None
            continue
        per = [(m - b) / (in_view[n] - 1) for m, b in zip(means[n], means[1], strict=True)]
        per_wall = [
            (m - b) / (in_view[n] - 1) for m, b in zip(wall_means[n], wall_means[1], strict=True)
        ]
        extra[str(n)] = {"cpu_ms": summarise(per, 3), "wall_ms": summarise(per_wall, 3)}
    judged = [extra[str(n)] for n in counts[1:] if n <= 4]
    met = (
        all(e is not None and e["cpu_ms"]["median"] <= GOAL_MS for e in judged) if judged else None
    )
    switches, agree = {}, {}
    for n in counts[1:]:
        frames = first[n].records
        switches[str(n)] = id_switches(frames, layouts[n])
        agree[str(n)] = []
        for k in range(n):
            solo = replay(model, footage[n], layouts[n], alone[n][k], 1, args.fps, only=k)
            agree[str(n)].append(agreement(frames, solo.records, layouts[n], k))
    return {
        "input": {
            "footage": credit,
            "composed": f"COMPOSED: N copies of the footage in a grid in {args.size[0]}x"
            f"{args.size[1]}, copy k delayed by k x {args.delay:g} s, odd copies mirrored",
            "crop": list(crop),
            "size": f"{args.size[0]}x{args.size[1]}",
            "fps": args.fps,
            "frames": n_frames,
            "warmup_frames": skip,
            "model": model_desc,
            "rounds": args.rounds,
        },
        "pose_ms": pose_ms,
        "non_pose": non_pose,
        "per_extra_person_ms": extra,
        "goal": {"per_extra_person_ms_max": GOAL_MS, "clock": "thread CPU", "met": met},
        "id_switches": switches,
        "agreement": agree,
    }


def report(r: dict[str, Any]) -> str:
    i = r["input"]
    lines = [
        f"{i['composed']}; {i['frames']} frames at {i['fps']:g} fps ({i['footage']}); "
        f"model {i['model']}; first {i['warmup_frames']} frames not timed",
        "",
        "N  in view  pose ms  non-pose CPU mean/p95 ms  wall mean/p95 ms  "
        "per extra person CPU (wall) ms",
    ]
    for n, s in r["non_pose"].items():
        e = r["per_extra_person_ms"].get(n)
        per = "-" if e is None else f"{e['cpu_ms']['median']:.3f} ({e['wall_ms']['median']:.3f})"
        lines.append(
            f"{n:<2} {s['people_in_view']:>7.2f}  {r['pose_ms'][n]['median']:>7.1f}  "
            f"{s['cpu_ms']['mean']:>12.3f} / {s['cpu_ms']['p95']:.3f}  "
            f"{s['wall_ms']['mean']:>8.3f} / {s['wall_ms']['p95']:.3f}  {per}"
        )
    g = r["goal"]
    ok = {True: "met", False: "NOT met", None: "not judged"}[g["met"]]
    lines += [
        f"goal: <= {g['per_extra_person_ms_max']:g} ms per extra person at N <= 4 "
        f"({g['clock']} time): {ok}",
        "",
    ]
    for n, copies in r["id_switches"].items():
        lines.append(
            f"N={n} id switches per copy: "
            + "; ".join(
                f"copy {k}: {c['switches']} (ids {c['ids']}, missed {c['missed']}, "
                f"extra {c['extra']})"
                for k, c in enumerate(copies)
            )
        )
    for n, copies in r["agreement"].items():
        for k, a in enumerate(copies):
            am = "-" if a["argmax"] is None else f"{a['argmax']:.3f}"
            lines.append(
                f"N={n} copy {k} vs alone: state {a['state']:.3f}, label {a['label']:.3f}, "
                f"decision before novelty {a['decided']:.3f}, argmax {am} "
                f"({a['argmax_frames']} of {a['frames']} frames)"
            )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = benchmark_parser("multi_person", __doc__)
    p.add_argument("--video", type=Path, help="footage of one person instead of the demo clip")
    p.add_argument(
        "--size",
        type=parse_size,
        default=(960, 960),
        metavar="WxH",
        help="composed frame size, pixels",
    )
    p.add_argument("--fps", type=float, default=30.0, help="composed clip's frame rate")
    p.add_argument("--seconds", type=float, default=10.0, help="composed clip's length")
    p.add_argument("--delay", type=float, default=0.8, help="delay between copies, seconds")
    p.add_argument(
        "--max-people",
        type=int,
        nargs="+",
        default=[1, 2, 3, 4],
        metavar="N",
        help="people composed and followed (1 is the single-person baseline)",
    )
    p.add_argument(
        "--crop",
        type=_parse_crop,
        metavar="X0,Y0,X1,Y1",
        help=f"part of the footage used, normalised (demo default {DEMO_CROP}; else all)",
    )
    p.add_argument("--rounds", type=int, default=3, help="alternating timing rounds")
    p.add_argument("--model", type=Path, help="emotion model; default the shipped one")
    p.add_argument("--pose-model", type=Path, help="PoseLandmarker .task; default the built-in one")
    p.add_argument("--keep-clips", type=Path, metavar="DIR", help="keep the composed clips here")
    return p


def _parse_crop(text: str) -> tuple[float, ...]:
    try:
        crop = tuple(float(v) for v in text.split(","))
    except ValueError:
        crop = ()
    if len(crop) != 4 or not (0 <= crop[0] < crop[2] <= 1 and 0 <= crop[1] < crop[3] <= 1):
        raise argparse.ArgumentTypeError(f"crop must be X0,Y0,X1,Y1 in [0, 1], got {text!r}")
    return crop


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(build_parser().parse_args(argv), run, report)


if __name__ == "__main__":
    raise SystemExit(main())
