"""Ctrl-C while an entry point starts (its imports, its argument parsing) is one line on
stderr and exit 130, never a traceback (#19 item 13). The SIGINT is sent by the process
to itself the moment numpy is first imported: no timing, so no flakiness."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Sends SIGINT to this process when `numpy` is first looked up, then runs the entry point.
HOOK = """
import importlib.abc, os, runpy, signal, sys
class _Interrupt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, _Interrupt())
kind, target, *argv = sys.argv[1:]
sys.argv = [target, *argv]
if kind == "path":
    runpy.run_path(target, run_name="__main__")
else:
    runpy.run_module(target, run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize(
    "entry",
    [
        ("path", "train.py", "--help"),
        ("module", "realtime", "--help"),
        ("module", "offline.render", "--help"),
    ],
    ids=["train", "realtime", "render"],
)
def test_ctrl_c_during_imports_is_one_line_exit_130(entry: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", HOOK, *entry],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 130, done.stderr
    assert len(lines) == 1 and lines[0].startswith("interrupted"), done.stderr
    assert "Traceback" not in done.stderr


def test_ctrl_c_while_parsing_arguments_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import train
    from realtime import cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    for module, argv in ((train, ["train", "--quick"]), (cli, ["--demo"])):
        monkeypatch.setattr(module, "build_parser", interrupted)
        assert module.main(argv) == 130
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("interrupted"), err
