"""ruff and mypy (strict on pipeline/, settings in pyproject.toml) over the whole project, so
CI fails on a lint or type error like on any other test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True, timeout=600
    )


def test_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    if shutil.which("mypy") is None and _run("mypy", "--version").returncode != 0:
        pytest.fail("mypy is not installed: pip install -r requirements-dev.txt")
    result = _run("mypy", "--cache-dir=/dev/null")  # leaves no cache behind
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
