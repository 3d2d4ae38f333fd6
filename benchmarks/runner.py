"""Child processes for the benchmarks: running a command with its output in a log, showing
it as typed, its last error line; and run_all's run of one benchmark (`Bench`, `run_bench`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import REPO_ROOT

# --- child processes -----------------------------------------------------------------------


def last_error_line(output: str, default: str = "no output") -> str:
    """The last line of a process's output that starts with "error", else its last
    non-empty line (e.g. a traceback's exception), else `default`."""
    lines = [ln for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error")]
    return (errors or lines or [default])[-1]


def shown_command(cmd: Sequence[str], tmp: str | None = None) -> str:
    """`cmd` as a reader would type it from the repository: `python` for this interpreter,
    paths inside the repository relative to it, the folder `tmp` as <tmp>."""
    text = " ".join(["python", *cmd[1:]]).replace(f"{REPO_ROOT}{os.sep}", "")
    return text.replace(tmp, "<tmp>") if tmp else text


def run_logged(cmd: Sequence[str], log: Path, timeout_s: float | None = None) -> tuple[int, float]:
    """Run `cmd` in the repository with its stdout and stderr in the file `log`.

    Returns:
        Its exit code and wall time, seconds.

    Raises:
        RuntimeError: it ran longer than `timeout_s` seconds (it is killed).
    """
    start = time.perf_counter()
    with open(log, "wb") as f:
        try:
            done = subprocess.run(
                cmd,
                cwd=REPO_ROOT,
                stdout=f,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"{shown_command(cmd)} took longer than {timeout_s:g} s; stopped it"
            ) from None
    return done.returncode, time.perf_counter() - start


# --- run_all: one benchmark's run -----------------------------------------------------------


@dataclass(frozen=True)
class Bench:
    """One benchmark run: its module, its arguments (full and --quick) and its label."""

    key: str
    module: str
    label: str
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()
    takes_model: bool = False


def command(bench: Bench, out: Path, quick: bool, model: Path | None) -> list[str]:
    cmd = [sys.executable, "-m", f"benchmarks.{bench.module}", *bench.args]
    if quick:
        cmd += bench.quick_args
    if model is not None and bench.takes_model:
        cmd += ["--model", str(model)]
    return cmd + ["--out", str(out)]


def run_bench(bench: Bench, out_dir: Path, quick: bool, model: Path | None) -> dict[str, Any]:
    """Run one benchmark; its JSON (or its error), exit code, wall time and command."""
    out = out_dir / f"{bench.key}.json"
    log = out_dir / f"{bench.key}.log"
    cmd = command(bench, out, quick, model)
    out.unlink(missing_ok=True)  # never report a stale file as this run's
    code, wall = run_logged(cmd, log)
    entry: dict[str, Any] = {
        "command": shown_command(cmd),
        "exit_code": code,
        "wall_s": round(wall, 1),
        "log": str(log),
    }
    if code == 0 and out.is_file():
        entry["result"] = json.loads(out.read_text())
    else:
        output = log.read_text(errors="replace")
        entry["error"] = last_error_line(output, f"exit code {code}, no output")
    return entry
