"""Feature extraction speed: `vectorize` against the study's pandas feature code, same windows.

On the same windows (cut by `Sequence.windows` from the shared Bandai-Namco clips read with
`offline.datasets.mocap`, or synthetic movement when ../shared is absent; 1 s, T = 10
frames as in the study), in the same run, repeats interleaved so that machine load hits
every method alike, times per window with `time.perf_counter` after a warm-up:

- study: `benchmarks.study_reference.distance_features` on the window's DataFrame (the
  study kept skeletons in DataFrames, so building it is not counted: the baseline's
  fastest case);
- study + DataFrame: the same including building the DataFrame from the window's arrays;
- `vectorize(window, "seed")`: the same vector (checked equal on every window first);
- `vectorize(window)`: the default feature set (`pipeline.features.DEFAULT_FEATURE_SET`).

Prints per-window median/p95 and the speed-ups (study time / ours, one per repeat, their
median and range); the target is >= 100x over the study. With --out writes JSON:

    python -m benchmarks.feature_speed --out benchmarks/results/feature_speed.json
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks.common import (
    benchmark_parser,
    fmt_speedup,
    fmt_spread,
    run_benchmark,
    sample_windows,
    speedup,
    summarise,
    time_each,
)
from pipeline.features import DEFAULT_FEATURE_SET, vectorize
from pipeline.window import Window, WindowSpec

TARGET_SPEEDUP = 100.0
SPEC = WindowSpec(window_s=1.0, n_frames=10)  # the study's T = 10 (train.py's default too)
STRIDE_S = 0.2  # train.py's default --stride-s


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
    windows, source = sample_windows(args.windows, SPEC, STRIDE_S)
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
        "pandas": pd.__version__,
    }
    for baseline in ("study", "study+dataframe"):
        for ours in ("seed", DEFAULT_FEATURE_SET):
            results["speedup"][f"{ours} vs {baseline}"] = speedup(
                per_repeat[baseline], per_repeat[ours], TARGET_SPEEDUP
            )
    return results


def method_label(method: str) -> str:
    """How a method key of the JSON ("study", "seed", ...) reads in a report."""
    return {
        "study": "study's pandas features (from its DataFrame)",
        "study+dataframe": "study's pandas features incl. building the DataFrame",
        "seed": "vectorize 'seed' (the same vector)",
    }.get(method, f"vectorize '{method}' (default)")


def report(results: dict[str, Any]) -> str:
    lines = [
        f"windows: {results['windows']['n']} of 1 s, T = {results['windows']['spec']['n_frames']}"
        f", from {results['windows']['source']}; {results['repeats']} repeats",
        "study reference == vectorize(window, 'seed') on every window "
        f"(max |diff| {results['check']['max_abs_diff_study_vs_seed_m']:.1e} m)",
        f"{'per window':<54}{'median ms':>10}{'p95 ms':>10}  repeat medians ms [min-max]",
    ]
    for name, s in results["per_window_ms"].items():
        a, r = s["all_calls"], s["repeat_medians"]
        lines.append(
            f"{method_label(name):<54}{a['median']:>10.4f}{a['p95']:>10.4f}  "
            f"{fmt_spread(r, digits=4)}"
        )
    for name, r in results["speedup"].items():
        lines.append(f"speed-up {name}: {fmt_speedup(r, 0)}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = benchmark_parser("feature_speed", __doc__)
    p.add_argument("--windows", type=int, default=300, help="windows timed per method and repeat")
    p.add_argument("--repeats", type=int, default=5, help="passes over the windows (>= 3)")
    p.add_argument("--warmup", type=int, default=20, help="untimed calls per method first")
    p.add_argument("--quick", action="store_true", help="100 windows, 3 repeats")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.windows, args.repeats = min(args.windows, 100), min(args.repeats, 3)
    return run_benchmark(args, run, report)


if __name__ == "__main__":
    raise SystemExit(main())
