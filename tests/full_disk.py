"""A full disk for tests, without a device or a mount: a child process whose file size
limit (RLIMIT_FSIZE) makes writes past it fail as they do when the disk fills up."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_with_file_size_limit(code: str, limit_bytes: int) -> subprocess.CompletedProcess[str]:
    """Run Python `code` in a child whose writes past `limit_bytes` fail (EFBIG), as on a
    full disk: RLIMIT_FSIZE, with SIGXFSZ ignored so the write returns the error."""
    prelude = (
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_bytes}, resource.RLIM_INFINITY))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
