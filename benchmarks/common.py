"""Helpers shared by the benchmark scripts: summary statistics, the machine, JSON output.

Every benchmark reports each figure as the median and spread (p5/p95, quartiles, min/max)
of repeated measurements, and records the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
SHARED_MOCAP = SHARED_DIR / "data" / "bandai-namco-motion-1"
_PACKAGES = (
    "numpy",
    "mediapipe",
    "opencv-contrib-python",
    "scikit-learn",
    "scipy",
    "joblib",
    "pandas",
)


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
    """One line describing `machine()`'s result."""
    load = m.get("load_average")
    versions = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    return (
        f"machine: {m['cpu']}, {m['cpus_usable']} of {m['cpu_count']} CPUs usable, "
        f"{m['ram_gb']} GB RAM, python {m['python']}; {versions}"
        + (f"; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}" if load else "")
    )


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as indented JSON, atomically (a crash leaves the old file)."""
    from pipeline.io import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def fmt_spread(s: dict[str, float | int], unit: str = "", digits: int = 1) -> str:
    """'median [min-max]' with a unit, e.g. '12.3 ms [11.9-13.0]'."""
    u = f" {unit}" if unit else ""
    return f"{s['median']:.{digits}f}{u} [{s['min']:.{digits}f}-{s['max']:.{digits}f}]"


def run_benchmark(
    args: argparse.Namespace,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    report: Callable[[dict[str, Any]], str],
    errors: tuple[type[BaseException], ...] = (ValueError, FileNotFoundError, RuntimeError),
) -> int:
    """Run one benchmark: print its report and write its JSON to `args.out` if given;
    one `error: ...` line and exit code 2 for the `errors` a bad setup raises."""
    try:
        results = run(args)
    except errors as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(report(results))
    if args.out is not None:
        write_json(args.out, results)
        print(f"wrote {args.out}")
    return 0
