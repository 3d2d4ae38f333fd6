"""Helpers shared by the benchmark scripts: the parser and main, timing, summary statistics,
the machine, inputs (windows, video clips), and run_all's table rows (child processes and
run_all's benchmark runs: `benchmarks.runner`).

Every benchmark reports each figure as the median and spread (p5/p95, quartiles, min/max)
of repeated measurements, and records the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from offline.datasets.movement import Movement
    from pipeline.window import Window, WindowSpec

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
SHARED_MOCAP = SHARED_DIR / "data" / "bandai-namco-motion-1"
# what a bad setup raises (missing file or package, bad value, a tool failing): one line, exit 2
SETUP_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, RuntimeError, ImportError)
_PACKAGES = (
    "numpy",
    "mediapipe",
    "opencv-contrib-python",
    "scikit-learn",
    "scipy",
    "joblib",
    "pandas",
)


# --- the command line ---------------------------------------------------------------------


def benchmark_parser(module: str, doc: str) -> argparse.ArgumentParser:
    """The parser of `python -m benchmarks.<module>`: the first paragraph of `doc` as its
    description, defaults in the help, and `--out` (the JSON file `run_benchmark` writes)."""
    p = argparse.ArgumentParser(
        prog=f"python -m benchmarks.{module}",
        description=doc.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--out", type=Path, help="write the figures as JSON to this file")
    return p


def run_benchmark(
    args: argparse.Namespace,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    report: Callable[[dict[str, Any]], str],
) -> int:
    """Run one benchmark: `run(args)` gives its figures, to which the machine is added
    (`machine()`, with the load average before the run as `load_average_before`); print
    `report(figures)` and the machine, and write the JSON to `args.out` if given.

    Returns 0, or 2 after one `error: ...` line for the `SETUP_ERRORS` a bad setup raises.
    """
    os.environ.setdefault("GLOG_minloglevel", "2")  # before mediapipe loads: quiets its glog
    load_before = load_average()
    try:
        results = run(args)
    except SETUP_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    results["machine"] = {**machine(), "load_average_before": load_before}
    print(report(results))
    print(machine_line(results["machine"]))
    if args.out is not None:
        write_json(args.out, results)
        print(f"wrote {args.out}")
    return 0


# --- timing and statistics ------------------------------------------------------------------


def time_each(fn: Callable[[Any], object], items: Iterable[Any]) -> list[float]:
    """Seconds taken by fn(item) for each item, in order (`time.perf_counter`)."""
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - start)
    return out


def summarise(values: Sequence[float], digits: int = 4) -> dict[str, float | int]:
    """Median and spread of repeated measurements (any unit; the caller names it).

    Returns:
        median, mean, p5, p95, q1, q3 (quartiles), iqr, min, max and n. Percentiles of
        fewer than 20 values are interpolated between them (numpy's default).

    Raises:
        ValueError: `values` is empty or holds non-finite numbers.
    """
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        raise ValueError("`values` must hold at least one measurement, got none")
    if not np.isfinite(a).all():
        raise ValueError(f"`values` must be finite, got {a[~np.isfinite(a)][:3].tolist()}")
    p5, q1, median, q3, p95 = np.percentile(a, [5, 25, 50, 75, 95])
    out = {
        "median": median,
        "mean": a.mean(),
        "p5": p5,
        "p95": p95,
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "min": a.min(),
        "max": a.max(),
    }
    return {**{k: round(float(v), digits) for k, v in out.items()}, "n": int(a.size)}


def ratio_summary(
    baseline: Sequence[float], ours: Sequence[float], digits: int = 2
) -> dict[str, float | int]:
    """Speed-up per repeat (baseline time / our time, paired by repeat), summarised.

    Raises:
        ValueError: the two lists differ in length, are empty, or `ours` holds a zero.
    """
    b, o = np.asarray(baseline, np.float64), np.asarray(ours, np.float64)
    if b.shape != o.shape or b.size == 0:
        raise ValueError(
            f"need one baseline and one own time per repeat, got {b.size} and {o.size}"
        )
    if (o <= 0).any():
        raise ValueError("our times must be > 0 seconds")
    return summarise(b / o, digits)


def speedup(baseline: Sequence[float], ours: Sequence[float], target: float) -> dict[str, Any]:
    """`ratio_summary` of the two times per repeat, with the target and whether the median
    meets it (`met`)."""
    r = ratio_summary(baseline, ours)
    return {**r, "target": target, "met": bool(r["median"] >= target)}


def fmt_spread(s: dict[str, float | int], unit: str = "", digits: int = 1) -> str:
    """'median [min-max]' with a unit, e.g. '12.3 ms [11.9-13.0]'."""
    u = f" {unit}" if unit else ""
    return f"{s['median']:.{digits}f}{u} [{s['min']:.{digits}f}-{s['max']:.{digits}f}]"


def fmt_speedup(s: dict[str, Any], digits: int) -> str:
    """A `speedup` as '5.12x [4.90-5.30] (target >= 5x: met)'."""
    verdict = "met" if s["met"] else "NOT met"
    return f"{fmt_spread(s, 'x', digits)} (target >= {s['target']:g}x: {verdict})"


# --- the machine ----------------------------------------------------------------------------


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what `platform` knows."""
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gb(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    """Total RAM in GB (10^9 bytes) from /proc/meminfo, or None off Linux."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) * 1024 / 1e9, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages (runnable processes), or None where unknown."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    """The machine and software a benchmark ran on (figures depend on all of it)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "ram_gb": ram_gb(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in _PACKAGES},
        "load_average": load_average(),
    }


def machine_line(m: dict[str, Any]) -> str:
    """One line describing `machine()`'s result (and `load_average_before` if present)."""
    versions = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    before, load = m.get("load_average_before"), m.get("load_average")
    if before and load:
        loads = f"; load average {_loads(before)} at the start, {_loads(load)} at the end"
    else:
        loads = f"; load average {_loads(load)}" if load else ""
    return (
        f"machine: {m['cpu']}, {m['cpus_usable']} of {m['cpu_count']} CPUs usable, "
        f"{m['ram_gb']} GB RAM, python {m['python']}; {versions}{loads}"
    )


def _loads(load: list[float]) -> str:
    """1, 5 and 15-minute load averages as '(1.00, 0.90, 0.80)'."""
    return "(" + ", ".join(f"{v:.2f}" for v in load) + ")"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as indented JSON, atomically (a crash leaves the old file)."""
    from pipeline.io import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


# --- inputs: movement windows and video clips ----------------------------------------------


def synthetic_sequences() -> Iterator[Movement]:
    """An endless supply of 10 s synthetic movements at 30 fps (arms and legs swinging)."""
    from offline.datasets.movement import Movement
    from pipeline import skeleton as sk

    rng = np.random.default_rng(0)
    base = np.array(
        [[0, 1.6, 0.1], [0.18, 1.45, 0], [-0.18, 1.45, 0], [0.22, 1.15, 0], [-0.22, 1.15, 0],
         [0.24, 0.9, 0.05], [-0.24, 0.9, 0.05], [0.09, 0.95, 0], [-0.09, 0.95, 0],
         [0.1, 0.5, 0.02], [-0.1, 0.5, 0.02], [0.1, 0.08, 0], [-0.1, 0.08, 0]],
        np.float32,
    )  # fmt: skip
    t_s = np.arange(300) / 30.0
    k = 0
    while True:
        freq = rng.uniform(0.5, 2.0, (1, sk.N_JOINTS, 3))
        phase = rng.uniform(0, 2 * np.pi, (1, sk.N_JOINTS, 3))
        world = base + 0.08 * np.sin(2 * np.pi * freq * t_s[:, None, None] + phase)
        world[:, [sk.L_HIP, sk.R_HIP]] = base[[sk.L_HIP, sk.R_HIP]]
        yield Movement(
            world=world.astype(np.float32),
            image=(world[..., :2] / 2.0).astype(np.float32),
            visibility=np.ones((t_s.size, sk.N_JOINTS), np.float32),
            t_s=t_s,
            label="synthetic",
            name=f"synthetic_{k}",
        )
        k += 1


def mocap_sequences() -> Iterator[Movement]:
    """The shared Bandai-Namco clips seen from the front, read one clip at a time."""
    from offline.datasets.mocap import MocapOptions, clip_sequences, list_clips

    options = MocapOptions()
    rng = np.random.default_rng(options.seed)
    for clip in list_clips(SHARED_MOCAP, options.styles):
        yield from clip_sequences(clip, options, rng)


def sample_windows(
    n: int, spec: WindowSpec, stride_s: float, shared: bool | None = None
) -> tuple[list[Window], str]:
    """n windows evenly chosen from the shared clips (or synthetic movement), and their source.

    Args:
        stride_s: time between the ends of consecutive windows of a clip, seconds.
        shared: use the shared motion capture; None: when ../shared has it.

    Raises:
        RuntimeError: fewer than n windows.
    """
    if shared is None:
        shared = (SHARED_MOCAP / "data").is_dir()
    windows: list[Window] = []
    clips = 0
    for sequence in mocap_sequences() if shared else synthetic_sequences():
        clips += 1
        windows.extend(sequence.windows(spec, stride_s))
        if len(windows) >= n:
            break
    source = f"{SHARED_MOCAP if shared else 'synthetic movement'} ({clips} clips)"
    if len(windows) < n:
        raise RuntimeError(f"only {len(windows)} windows from {source}, {n} asked for")
    pick = np.linspace(0, len(windows) - 1, n).round().astype(int)
    return [windows[i] for i in pick], source


def clip_or_demo(video: Path | None) -> tuple[Path, str]:
    """`video` (checked to exist), else the demo clip (fetched once); and its description."""
    if video is not None:
        if not video.is_file():
            raise FileNotFoundError(f"video not found: {video}")
        return video, str(video)
    from realtime.demo import CREDIT, fetch_demo_clip

    return fetch_demo_clip(notify=lambda m: print(m, file=sys.stderr)), CREDIT


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


def looped_frames(clip: Path, total: int) -> Iterator[np.ndarray]:
    """`clip`'s (H, W, 3) uint8 BGR frames played on repeat, `total` of them.

    Raises:
        VideoError: the clip has no decodable frame (from `pipeline.video.iter_frames`).
    """
    from pipeline.video import iter_frames

    produced = 0
    while produced < total:
        for frame in iter_frames(clip):
            yield frame.image
            produced += 1
            if produced == total:
                return


Row = tuple[str, str, str, str, str, str]  # benchmark, figure, median, spread, target, result


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("pass" if ok else "**FAIL**")


def spread_range(s: dict[str, Any], digits: int, unit: str = "") -> str:
    u = f" {unit}" if unit else ""
    return f"{s['min']:.{digits}f}–{s['max']:.{digits}f}{u} (n={s['n']})"


def per_call_row(
    name: str, figure: str, s: dict[str, Any], digits: int, target: str = "", result: str = ""
) -> Row:
    """A row of per-call milliseconds: median, p95 over the calls."""
    return (
        name,
        figure,
        f"{s['median']:.{digits}f} ms",
        f"p95 {s['p95']:.{digits}f} ms (n={s['n']})",
        target,
        result,
    )


def speedup_row(name: str, figure: str, s: dict[str, Any], digits: int) -> Row:
    """A row of a `common.speedup`: median, min-max over repeats, target, pass/fail."""
    return (
        name,
        figure,
        f"{s['median']:.{digits}f}x",
        spread_range(s, digits, "x"),
        f">= {s['target']:g}x",
        verdict(s["met"]),
    )


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
