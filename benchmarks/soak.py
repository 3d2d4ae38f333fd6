"""Soak test of the live app: the demo footage looped for 10,000 frames, headless.

Runs `python -m realtime --demo --headless --no-realtime --max-frames N --jsonl FILE` (or
`--video PATH --loop` instead of --demo) as a child process and, every --interval
seconds, samples its resident memory (RSS, from psutil or /proc/<pid>/status) and its
open file descriptors (/proc/<pid>/fd), together with how many frames it has processed
so far (lines of its JSONL file, one per processed frame). Per-frame latency comes from
the JSONL `latency_ms` field.

Checks (the robustness issue's):
- RSS at the end at most 10 MB above its value after the first 500 frames, and at most
  10 MB above its lowest value since (a drop is no leak, but must not hide one);
- no file descriptors leaked: as many open at the end as after the first 500 frames;
- no growth in latency: p50 over the last 1000 frames at most 20% (and 2 ms) above the
  p50 over the first 1000 (a shared machine's load moves latency too: see the JSON).

    python -m benchmarks.soak --out benchmarks/results/soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import REPO_ROOT, benchmark_parser, run_benchmark
from benchmarks.runner import last_error_line, shown_command
from pipeline.io import temporaries_of

RSS_TOLERANCE_MB = 10.0
BASELINE_FRAMES = 500
LATENCY_WINDOW = 1000
LATENCY_GROWTH = 1.2  # last/first p50 ratio allowed
LATENCY_SLACK_MS = 2.0


@dataclass(frozen=True)
class Sample:
    """One look at the child process."""

    t_s: float  # since start, seconds
    frames: int  # frames processed so far (JSONL lines)
    rss_mb: float  # resident memory, MB (10^6 bytes)
    fds: int  # open file descriptors


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` in MB (psutil if installed, else /proc/<pid>/status)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return psutil.Process(pid).memory_info().rss / 1e6
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmRSS line in /proc/{pid}/status")


def open_fds(pid: int) -> int:
    """Number of open file descriptors of `pid` (/proc/<pid>/fd, else psutil)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    if fd_dir.is_dir():
        return len(os.listdir(fd_dir))
    import psutil

    return int(psutil.Process(pid).num_fds())


def can_sample() -> bool:
    """Whether this platform lets us read another process's RSS and descriptors."""
    if Path(f"/proc/{os.getpid()}/fd").is_dir():
        return True
    try:
        import psutil
    except ImportError:
        return False
    return hasattr(psutil.Process, "num_fds")


@dataclass
class JsonlTail:
    """Counts the complete lines of the JSONL that the app with process id `pid` appends to
    while it runs: its temporary file (`realtime.sinks.jsonl.JsonlWriter`, found by
    `pipeline.io.temporaries_of` once created), renamed to `jsonl` when finalised."""

    jsonl: Path
    pid: int
    lines: int = 0
    path: Path | None = field(default=None, init=False)  # the temporary file, once found
    offset: int = field(default=0, init=False)  # bytes read so far
    partial: bytes = field(default=b"", init=False, repr=False)  # an unfinished last line

    def update(self) -> int:
        """Read what was appended since the last call; returns the line count."""
        if self.path is None:
            found = temporaries_of(self.jsonl, self.pid)
            if not found:
                return self.lines
            self.path = found[0]
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return self.lines
        self.offset += len(data)
        data = self.partial + data
        self.lines += data.count(b"\n")
        self.partial = data[data.rfind(b"\n") + 1 :]
        return self.lines


def app_command(args: argparse.Namespace, jsonl: Path) -> list[str]:
    cmd = [sys.executable, "-m", "realtime"]
    cmd += ["--video", str(args.video), "--loop"] if args.video else ["--demo"]
    cmd += ["--headless", "--no-realtime", "--max-frames", str(args.frames), "--jsonl", str(jsonl)]
    if args.model is not None:
        cmd += ["--model", str(args.model)]
    return cmd


def watch(
    cmd: list[str], jsonl: Path, log: Path, interval_s: float, timeout_s: float
) -> tuple[list[Sample], int, float]:
    """Run `cmd`, sampling it until it exits; (samples, exit code, wall seconds)."""
    samples: list[Sample] = []
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
        # the app writes its JSONL under a temporary name until it finishes
        tail = JsonlTail(jsonl, proc.pid)
        try:
            while proc.poll() is None:
                elapsed = time.perf_counter() - start
                if elapsed > timeout_s:
                    raise RuntimeError(f"the app ran longer than {timeout_s:g} s; stopped it")
                try:
                    rss, fds = rss_mb(proc.pid), open_fds(proc.pid)
                except (OSError, RuntimeError):  # it exited between poll and read
                    break
                samples.append(Sample(elapsed, tail.update(), rss, fds))
                time.sleep(interval_s)
        finally:
            if proc.poll() is None:
                proc.terminate()  # SIGTERM: the app finalises its outputs and exits
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    return samples, proc.returncode, time.perf_counter() - start


def read_latencies(jsonl: Path) -> np.ndarray:
    """`latency_ms` of every JSONL line, in order."""
    with open(jsonl, encoding="utf-8") as f:
        return np.asarray([json.loads(line)["latency_ms"] for line in f], np.float64)


def analyse(samples: list[Sample], latency: np.ndarray, n_frames: int) -> dict[str, Any]:
    """The soak figures and checks from the samples and per-frame latencies.

    Raises:
        RuntimeError: too few frames or samples to judge.
    """
    if latency.size < BASELINE_FRAMES + LATENCY_WINDOW:
        raise RuntimeError(
            f"only {latency.size} frames processed; need > {BASELINE_FRAMES + LATENCY_WINDOW}"
        )
    # "end" is the last look while frames were still being processed: once the last frame
    # is written the app shuts down, freeing memory and closing files (reported apart)
    running = [s for s in samples if s.frames < latency.size]
    after = [s for s in running if s.frames >= BASELINE_FRAMES]
    if len(after) < 2:
        raise RuntimeError(
            f"only {len(after)} samples while running after frame {BASELINE_FRAMES}; "
            "sample more often (--interval)"
        )
    base, end = after[0], after[-1]
    low = min(s.rss_mb for s in after)
    first, last = latency[:LATENCY_WINDOW], latency[-LATENCY_WINDOW:]
    p = {
        name: {
            "p50_ms": round(float(np.percentile(x, 50)), 2),
            "p95_ms": round(float(np.percentile(x, 95)), 2),
        }
        for name, x in (("first", first), ("last", last))
    }
    # least-squares slope of latency against frame number, after the baseline frames
    idx = np.arange(latency.size)[BASELINE_FRAMES:]
    slope = float(np.polyfit(idx, latency[BASELINE_FRAMES:], 1)[0]) * 1000.0
    rss_growth = end.rss_mb - base.rss_mb
    # a drop after the baseline is no leak, but must not hide growth from the low point
    growth_from_low = end.rss_mb - low
    # RSS trend once settled (from frame 1000 on): least-squares slope, MB per 1000 frames
    settled = [(s.frames, s.rss_mb) for s in after if s.frames >= 2 * BASELINE_FRAMES]
    rss_slope = (
        float(np.polyfit(*np.array(settled).T, 1)[0]) * 1000.0 if len(settled) >= 3 else None
    )
    latency_limit = max(
        p["first"]["p50_ms"] * LATENCY_GROWTH, p["first"]["p50_ms"] + LATENCY_SLACK_MS
    )
    return {
        "frames_processed": int(latency.size),
        "frames_asked": n_frames,
        "rss_mb": {
            "first_sample": round(samples[0].rss_mb, 1),
            f"after_{BASELINE_FRAMES}_frames": round(base.rss_mb, 1),
            "end": round(end.rss_mb, 1),
            "max_after_baseline": round(max(s.rss_mb for s in after), 1),
            "min_after_baseline": round(low, 1),
            "growth": round(rss_growth, 2),
            "growth_from_min": round(growth_from_low, 2),
            "baseline_at_frame": base.frames,
            "end_at_frame": end.frames,
            "at_exit": round(samples[-1].rss_mb, 1),
            "slope_mb_per_1000_frames_from_frame_1000": (
                None if rss_slope is None else round(rss_slope, 3)
            ),
        },
        "fds": {
            "first_sample": samples[0].fds,
            f"after_{BASELINE_FRAMES}_frames": base.fds,
            "end": end.fds,
            "max": max(s.fds for s in samples),
            "at_exit": samples[-1].fds,
        },
        "latency": {
            f"first_{LATENCY_WINDOW}": p["first"],
            f"last_{LATENCY_WINDOW}": p["last"],
            "slope_ms_per_1000_frames": round(slope, 3),
        },
        "checks": {
            "rss_within_10mb": bool(max(rss_growth, growth_from_low) <= RSS_TOLERANCE_MB),
            "no_fd_leak": bool(end.fds <= base.fds),
            "no_latency_growth": bool(p["last"]["p50_ms"] <= latency_limit),
        },
        "latency_limit_p50_ms": round(latency_limit, 2),
        "samples": [[round(s.t_s, 2), s.frames, round(s.rss_mb, 2), s.fds] for s in samples],
        "sample_columns": ["t_s", "frames", "rss_mb", "fds"],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.frames < BASELINE_FRAMES + LATENCY_WINDOW or args.interval <= 0:
        raise ValueError(
            f"need --frames >= {BASELINE_FRAMES + LATENCY_WINDOW} and --interval > 0, "
            f"got {args.frames}, {args.interval}"
        )
    if args.video is not None and not args.video.is_file():
        raise FileNotFoundError(f"video not found: {args.video}")
    if args.model is not None and not args.model.is_file():
        raise FileNotFoundError(f"model not found: {args.model}")
    if not can_sample():
        raise RuntimeError(
            "cannot read another process's memory here: needs Linux /proc or "
            "psutil (pip install psutil)"
        )
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        jsonl, log = Path(tmp) / "ticks.jsonl", Path(tmp) / "app.log"
        if args.keep_jsonl is not None:
            jsonl = args.keep_jsonl
        cmd = app_command(args, jsonl)
        samples, code, wall_s = watch(cmd, jsonl, log, args.interval, args.timeout)
        output = log.read_text(errors="replace")
        if code != 0:
            raise RuntimeError(f"the app exited with code {code}: {last_error_line(output)}")
        latency = read_latencies(jsonl)
        summary = [ln for ln in output.splitlines() if ln.startswith("stopped")]
    return {
        "benchmark": "soak",
        "command": shown_command(cmd, tmp),
        "wall_s": round(wall_s, 1),
        "app_summary": summary[-1] if summary else None,
        **analyse(samples, latency, args.frames),
    }


def report(r: dict[str, Any]) -> str:
    rss, fds, lat, ok = r["rss_mb"], r["fds"], r["latency"], r["checks"]
    first, last = lat[f"first_{LATENCY_WINDOW}"], lat[f"last_{LATENCY_WINDOW}"]
    verdict = {True: "ok", False: "FAILED"}
    return "\n".join(
        [
            f"{r['frames_processed']} frames in {r['wall_s']:.0f} s: {r['command']}",
            f"RSS after {BASELINE_FRAMES} frames {rss[f'after_{BASELINE_FRAMES}_frames']:.1f} MB "
            f"(frame {rss['baseline_at_frame']}), at the end {rss['end']:.1f} MB (frame "
            f"{rss['end_at_frame']}): {rss['growth']:+.2f} MB; {rss['growth_from_min']:+.2f} MB "
            f"above the lowest value since ({rss['min_after_baseline']:.1f} MB); limit "
            f"+{RSS_TOLERANCE_MB:g} MB: {verdict[ok['rss_within_10mb']]}; "
            f"{rss['at_exit']:.1f} MB while exiting"
            + (
                ""
                if rss["slope_mb_per_1000_frames_from_frame_1000"] is None
                else f"; trend from frame 1000 on "
                f"{rss['slope_mb_per_1000_frames_from_frame_1000']:+.2f} MB per 1000 frames"
            ),
            f"open file descriptors: {fds['first_sample']} at the first sample, "
            f"{fds[f'after_{BASELINE_FRAMES}_frames']} after {BASELINE_FRAMES} frames, "
            f"{fds['end']} at the end, max {fds['max']}, {fds['at_exit']} while exiting "
            f"(no leak: {verdict[ok['no_fd_leak']]})",
            f"latency first {LATENCY_WINDOW} frames p50 {first['p50_ms']:.1f} ms, p95 "
            f"{first['p95_ms']:.1f} ms; last {LATENCY_WINDOW} p50 {last['p50_ms']:.1f} ms, p95 "
            f"{last['p95_ms']:.1f} ms; trend {lat['slope_ms_per_1000_frames']:+.2f} ms per 1000 "
            f"frames (no growth: {verdict[ok['no_latency_growth']]})",
        ]
    )


def build_parser() -> argparse.ArgumentParser:
    p = benchmark_parser("soak", __doc__)
    p.add_argument("--frames", type=int, default=10000, help="frames the app processes")
    p.add_argument("--video", type=Path, help="loop this video instead of the demo footage")
    p.add_argument("--model", type=Path, help="emotion model; default the app's (shipped) one")
    p.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    p.add_argument("--timeout", type=float, default=3600.0, help="stop the app after S seconds")
    p.add_argument("--keep-jsonl", type=Path, help="keep the app's JSONL output here")
    return p


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(build_parser().parse_args(argv), run, report)


if __name__ == "__main__":
    raise SystemExit(main())
