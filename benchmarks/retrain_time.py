"""Time of a full retrain from cached keypoints: `train.py train --quick` and the full `train.py`.

Runs train.py as a user would (a fresh `python train.py ...` process each time, so the
times include starting Python and importing the libraries), writing the model and report
into a temporary folder, never over models/emotion.joblib:

- "quick": `train.py train --quick --no-render` on the shared motion capture (skeletons
  from the BVH files; no pose model runs), --repeats times;
- "full": the same without --quick (adds the seed-feature comparison, the study's
  protocol and clustering), --full-repeats times (0 skips it);
- "shipped, quick" / "shipped, full": the shipped model's recipe (train.py's default:
  the motion capture plus PoseLandmarker's output of its rendered clips), when the renders
  exist and their keypoints are in the keypoint cache (.cache/keypoints), as after a first
  `python train.py`; train.py's own summary line says how many streams came from the cache.

Prints the wall time per run (median, min-max) and, with --out, writes JSON:

    python -m benchmarks.retrain_time --out benchmarks/results/retrain_time.json
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import (
    REPO_ROOT,
    SHARED_MOCAP,
    benchmark_parser,
    fmt_spread,
    run_benchmark,
    summarise,
)
from benchmarks.runner import last_error_line, run_logged, shown_command
from offline.render import DEFAULT_RENDER_DIR
from pipeline.io import user_cache_dir

KEYPOINT_CACHE = user_cache_dir("keypoints")
RENDERED_DIR = DEFAULT_RENDER_DIR / SHARED_MOCAP.name  # where train.py renders the shared data
_EXTRACTED = re.compile(
    r"keypoints: (\d+) streams extracted \((\d+) frames\), (\d+) from the cache"
)
_WINDOWS = re.compile(r"^(\d+) windows of ", re.MULTILINE)


def train_command(data: list[Path], out_dir: Path, quick: bool, render: bool = False) -> list[str]:
    """The train.py command line for one timed run (outputs under `out_dir`)."""
    cmd = [sys.executable, str(REPO_ROOT / "train.py"), "train", "--no-progress"]
    cmd += [] if render else ["--no-render"]
    for d in data:
        cmd += ["--data", str(d)]
    cmd += ["--out", str(out_dir / "model.joblib"), "--report-dir", str(out_dir / "report")]
    return cmd + (["--quick"] if quick else [])


def run_once(cmd: list[str], log: Path, timeout_s: float) -> dict[str, Any]:
    """Run train.py once (its output in `log`); wall time and what its summary says about
    windows and keypoints.

    Raises:
        RuntimeError: train.py failed or timed out (with its last error line).
    """
    code, seconds = run_logged(cmd, log, timeout_s)
    text = log.read_text(errors="replace")
    if code != 0:
        raise RuntimeError(f"train.py exited with code {code}: {last_error_line(text)}")
    extracted = [tuple(int(v) for v in m) for m in _EXTRACTED.findall(text)]
    windows = _WINDOWS.search(text)
    return {
        "seconds": round(seconds, 3),
        "windows": int(windows.group(1)) if windows else None,
        "streams_extracted": sum(e[0] for e in extracted),
        "frames_extracted": sum(e[1] for e in extracted),
        "streams_from_cache": sum(e[2] for e in extracted),
    }


def rendered_cached() -> tuple[bool, str]:
    """Whether the rendered videos' keypoints look cached, and why (a cheap check:
    there must be at least one cache file per rendered video)."""
    videos = list(RENDERED_DIR.glob("videos/*/*.mp4"))
    if not videos:
        return False, f"no rendered videos in {RENDERED_DIR}"
    cached = list(KEYPOINT_CACHE.glob("*.npz"))
    if len(cached) < len(videos):
        return False, (
            f"{len(cached)} keypoint cache files for {len(videos)} rendered videos in "
            f"{KEYPOINT_CACHE}; fill the cache first: python train.py train --quick"
        )
    return True, f"{len(videos)} rendered videos, {len(cached)} keypoint cache files"


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.repeats < 3 or args.full_repeats < 0:
        raise ValueError(
            f"need --repeats >= 3 and --full-repeats >= 0, got {args.repeats}, {args.full_repeats}"
        )
    data = args.data or SHARED_MOCAP
    if not (data / "data").is_dir():
        raise FileNotFoundError(
            f"no motion capture at {data} (expected the Bandai-Namco layout with data/); "
            "pass --data DIR"
        )
    cases: dict[str, tuple[list[Path], bool, int, bool]] = {
        "quick": ([data], True, args.repeats, False)
    }
    if args.full_repeats > 0:
        cases["full"] = ([data], False, args.full_repeats, False)
    ok, why = rendered_cached()
    if ok and not args.no_rendered:
        cases["shipped, quick"] = ([data], True, args.repeats, True)
        if args.full_repeats > 0:
            cases["shipped, full"] = ([data], False, args.full_repeats, True)
    results: dict[str, Any] = {
        "benchmark": "retrain_time",
        "data": str(data),
        "rendered": {"included": ok and not args.no_rendered, "reason": why},
        "cases": {},
    }
    with tempfile.TemporaryDirectory(prefix="retrain-") as tmp:
        for name, (paths, quick, repeats, render) in cases.items():
            runs = []
            for k in range(repeats):
                run_dir = Path(tmp) / f"{name.replace(', ', '-')}-{k}"
                cmd = train_command(paths, run_dir, quick, render)
                runs.append(run_once(cmd, Path(f"{run_dir}.log"), args.timeout))
                print(
                    f"{name} run {k + 1}/{repeats}: {runs[-1]['seconds']:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
            results["cases"][name] = {
                "command": shown_command(cmd, tmp),
                "seconds": summarise([r["seconds"] for r in runs], 2),
                "runs": runs,
            }
    return results


def keypoint_note(run: dict[str, Any]) -> str:
    """Where one run's keypoints came from, from train.py's own summary lines."""
    if run["streams_extracted"] == 0 and run["streams_from_cache"] == 0:
        return "keypoints from motion capture (no pose model ran)"
    return (
        f"{run['streams_extracted']} video streams through pose, "
        f"{run['streams_from_cache']} from the keypoint cache"
    )


def report(results: dict[str, Any]) -> str:
    lines = []
    for name, case in results["cases"].items():
        r = case["runs"][-1]
        pose = keypoint_note(r)
        lines.append(
            f"{name:<16}{fmt_spread(case['seconds'], 's', 1)} over {len(case['runs'])} "
            f"run(s); {r['windows']} windows; {pose}"
        )
        lines.append(f"{'':<16}{case['command']}")
    if not results["rendered"]["included"]:
        lines.append(f"rendered videos not timed: {results['rendered']['reason']}")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = benchmark_parser("retrain_time", __doc__)
    p.add_argument("--data", type=Path, help=f"motion capture folder; default {SHARED_MOCAP}")
    p.add_argument("--repeats", type=int, default=3, help="runs of each --quick case (>= 3)")
    p.add_argument(
        "--full-repeats", type=int, default=1, help="runs of the full train.py (0: skip)"
    )
    p.add_argument("--no-rendered", action="store_true", help="skip the rendered-video case")
    p.add_argument("--timeout", type=float, default=3600.0, help="limit per train.py run, seconds")
    p.add_argument("--quick", action="store_true", help="--quick cases only (--full-repeats 0)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.full_repeats = 0
    return run_benchmark(args, run, report)


if __name__ == "__main__":
    raise SystemExit(main())
