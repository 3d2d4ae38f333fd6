"""Progress reporting for long offline work, as a callback the command line passes in.

Library code calls `progress(task, done, total)`; it never prints or imports tqdm. The
entry points (`train.py`, `python -m offline.render`) pass `offline.console.progress_bars()`,
tests pass a list's append or nothing.
"""

from __future__ import annotations

from collections.abc import Callable

# (what is being done, units done so far, units in all) -> None; called with done == 0
# first and done == total last.
Progress = Callable[[str, int, int], None]


def no_progress(task: str, done: int, total: int) -> None:
    """A `Progress` that reports nothing."""
