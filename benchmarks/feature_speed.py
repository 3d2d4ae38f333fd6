"""Feature extraction speed: `vectorize` against the study's pandas feature code, same windows.

On the same windows (cut by `Sequence.windows` from the shared Bandai-Namco clips read with
`pipeline.datasets.mocap`, or synthetic movement when ../shared is absent; 1 s, T = 10
frames as in the study), in the same run, repeats interleaved so that machine load hits
every method alike, times per window with `time.perf_counter` after a warm-up:

- study: `benchmarks.study_reference.distance_features` on the window's DataFrame (the
  study kept skeletons in DataFrames, so building it is not counted: the baseline's
  fastest case);
- study + DataFrame: the same including building the DataFrame from the window's arrays;
- `vectorize(window, "seed")`: the same vector (checked equal on every window first);
- `vectorize(window)`: the default feature set ("motion").

Prints per-window median/p95 and the speed-ups (study time / ours, one per repeat, their
median and range); the target is >= 100x over the study. With --out writes JSON:

    python -m benchmarks.feature_speed --out benchmarks/results/feature_speed.json
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    SHARED_MOCAP,
    fmt_spread,
    machine,
    machine_line,
    ratio_summary,
    run_benchmark,
    summarise,
)
from pipeline.features import DEFAULT_FEATURE_SET, vectorize
from pipeline.window import Window, WindowSpec

TARGET_SPEEDUP = 100.0
SPEC = WindowSpec(window_s=1.0, n_frames=10)  # the study's T = 10 (train.py's default too)
STRIDE_S = 0.2  # train.py's default --stride-s


def mocap_windows(n: int, spec: WindowSpec, stride_s: float) -> tuple[list[Window], str]:
    """At least n windows from the shared clips (read one clip at a time), and the source."""
    from pipeline.datasets.mocap import MocapOptions, clip_sequences, list_clips

    options = MocapOptions()
    rng = np.random.default_rng(0)
    windows: list[Window] = []
    clips = list_clips(SHARED_MOCAP, options.styles)
    used = 0
    for clip in clips:
        used += 1
        for sequence in clip_sequences(clip, options, rng):
            windows.extend(sequence.windows(spec, stride_s))
        if len(windows) >= n:
            break
    return windows, f"{SHARED_MOCAP} ({used} clips, {len(windows)} windows)"


def synthetic_windows(n: int, spec: WindowSpec, stride_s: float) -> tuple[list[Window], str]:
    """At least n windows of synthetic movement (arms and legs swinging), and the source."""
    from benchmarks.pipeline_speed import synthetic_sequences
    from pipeline.datasets.base import Sequence as Seq

    windows: list[Window] = []
    clips = 0
    for name, (world, image, visibility, t_s) in synthetic_sequences():
        clips += 1
        seq = Seq(world, image, visibility, t_s, label="synthetic", name=name)
        windows.extend(seq.windows(spec, stride_s))
        if len(windows) >= n:
            break
    return windows, f"synthetic ({clips} clips of 10 s at 30 fps)"


def collect(n: int) -> tuple[list[Window], str]:
    """n windows evenly chosen from the shared clips (or synthetic ones) and their source."""
    if (SHARED_MOCAP / "data").is_dir():
        windows, source = mocap_windows(n, SPEC, STRIDE_S)
    else:
        windows, source = synthetic_windows(n, SPEC, STRIDE_S)
    if len(windows) < n:
        raise RuntimeError(f"only {len(windows)} windows from {source}, {n} asked for")
    pick = np.linspace(0, len(windows) - 1, n).round().astype(int)
    return [windows[i] for i in pick], source


def time_each(fn: Callable[[Any], object], items: Sequence[Any]) -> list[float]:
    """Seconds taken by fn(item) for each item, in order."""
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - start)
    return out


def check_same_vectors(windows: Sequence[Window], frames: Sequence[Any]) -> float:
    """Largest |study - seed| over all windows, metres; RuntimeError if they differ."""
    from benchmarks.study_reference import distance_features

    worst = 0.0
    for window, df in zip(windows, frames, strict=True):
        ours, study = vectorize(window, "seed"), distance_features(df)
        if ours.shape != study.shape or not np.allclose(study, ours, rtol=1e-6, atol=1e-6):
            raise RuntimeError("the study reference and vectorize(window, 'seed') disagree")
        worst = max(worst, float(np.abs(study - ours).max()))
    return worst


def run(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.study_reference import (
        distance_features,
        import_pandas,
        study_features,
        window_frame,
    )

    pd = import_pandas()
    if args.windows < 10 or args.repeats < 3 or args.warmup < 1:
        raise ValueError(
            "need --windows >= 10, --repeats >= 3 and --warmup >= 1, "
            f"got {args.windows}, {args.repeats}, {args.warmup}"
        )
    windows, source = collect(args.windows)
    frames = [window_frame(w) for w in windows]
    max_diff = check_same_vectors(windows, frames)
    methods: dict[str, tuple[Callable[[Any], object], Sequence[Any]]] = {
        "study": (distance_features, frames),
        "study+dataframe": (study_features, windows),
        "seed": (lambda w: vectorize(w, "seed"), windows),
        DEFAULT_FEATURE_SET: (lambda w: vectorize(w, DEFAULT_FEATURE_SET), windows),
    }
    for fn, items in methods.values():  # warm-up: imports, caches, allocator
        for i in range(args.warmup):
            fn(items[i % len(items)])
    per_call: dict[str, list[float]] = {name: [] for name in methods}
    per_repeat: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(args.repeats):
        for name, (fn, items) in methods.items():
            samples = time_each(fn, items)
            per_call[name].extend(samples)
            per_repeat[name].append(float(np.median(samples)))
    results: dict[str, Any] = {
        "benchmark": "feature_speed",
        "windows": {
            "n": len(windows),
            "source": source,
            "spec": SPEC.to_dict(),
            "stride_s": STRIDE_S,
        },
        "repeats": args.repeats,
        "check": {
            "max_abs_diff_study_vs_seed_m": max_diff,
            "n_features_seed": int(vectorize(windows[0], "seed").size),
        },
        "per_window_ms": {
            name: {
                "all_calls": summarise(np.asarray(per_call[name]) * 1e3),
                "repeat_medians": summarise(np.asarray(per_repeat[name]) * 1e3),
            }
            for name in methods
        },
        "speedup": {},
        "target_speedup": TARGET_SPEEDUP,
        "machine": machine(),
        "pandas": pd.__version__,
    }
    for baseline in ("study", "study+dataframe"):
        for ours in ("seed", DEFAULT_FEATURE_SET):
            r = ratio_summary(per_repeat[baseline], per_repeat[ours])
            results["speedup"][f"{ours} vs {baseline}"] = {
                **r,
                "target": TARGET_SPEEDUP,
                "met": bool(r["median"] >= TARGET_SPEEDUP),
            }
    return results


def report(results: dict[str, Any]) -> str:
    lines = [
        f"windows: {results['windows']['n']} of 1 s, T = {results['windows']['spec']['n_frames']}"
        f", from {results['windows']['source']}; {results['repeats']} repeats",
        "study reference == vectorize(window, 'seed') on every window "
        f"(max |diff| {results['check']['max_abs_diff_study_vs_seed_m']:.1e} m)",
        f"{'per window':<36}{'median ms':>10}{'p95 ms':>10}  repeat medians ms [min-max]",
    ]
    for name, s in results["per_window_ms"].items():
        a, r = s["all_calls"], s["repeat_medians"]
        label = {
            "study": "study (pandas, from its DataFrame)",
            "study+dataframe": "study incl. building the DataFrame",
            "seed": "vectorize 'seed' (same vector)",
        }.get(name, f"vectorize {name!r} (default)")
        lines.append(f"{label:<36}{a['median']:>10.4f}{a['p95']:>10.4f}  {fmt_spread(r, digits=4)}")
    for name, r in results["speedup"].items():
        verdict = "met" if r["met"] else "NOT met"
        lines.append(
            f"speed-up {name}: {fmt_spread(r, 'x', 0)} (target >= {r['target']:g}x: {verdict})"
        )
    lines.append(machine_line(results["machine"]))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.feature_speed",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--windows", type=int, default=300, help="windows timed per method and repeat")
    p.add_argument("--repeats", type=int, default=5, help="passes over the windows (>= 3)")
    p.add_argument("--warmup", type=int, default=20, help="untimed calls per method first")
    p.add_argument("--quick", action="store_true", help="100 windows, 3 repeats")
    p.add_argument("--out", type=Path, help="write the figures as JSON to this file")
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("GLOG_minloglevel", "2")
    args = build_parser().parse_args(argv)
    if args.quick:
        args.windows, args.repeats = min(args.windows, 100), min(args.repeats, 3)
    return run_benchmark(
        args, run, report, (ValueError, FileNotFoundError, RuntimeError, ImportError)
    )


if __name__ == "__main__":
    raise SystemExit(main())
