"""Terminal output for the command-line entry points only (`train.py`, `python -m
offline.render`): tqdm progress bars behind the `offline.progress.Progress` callback, and
a stderr that shows our lines only. Library modules never import this."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

from offline.progress import Progress
from pipeline.pose import quiet_stderr


class _Stderr(logging.Handler):
    """Log records as "LEVEL: message" on whatever `sys.stderr` is when they come."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"{record.levelname}: {record.getMessage()}\n")
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


@contextlib.contextmanager
def our_lines_only() -> Iterator[None]:
    """For an entry point's run: warnings (logging, level WARNING) on stderr, and what
    native libraries (mediapipe) print on fd 2 muted, also when the run fails, so an error
    is the one line the entry point prints (`pipeline.pose.quiet_stderr(replay=False)`)."""
    root = logging.getLogger()
    if not any(isinstance(h, _Stderr) for h in root.handlers):
        root.addHandler(_Stderr())
    root.setLevel(logging.WARNING)
    with quiet_stderr(replay=False):
        yield


def progress_bars(enabled: bool = True) -> Progress:
    """A `Progress` that draws one tqdm bar per task on stderr, closed when it completes."""
    bars: dict[str, Any] = {}

    def report(task: str, done: int, total: int) -> None:
        if not enabled:
            return
        from tqdm import tqdm

        bar = bars.get(task)
        if bar is None:
            bar = bars[task] = tqdm(total=total, desc=task, leave=False, dynamic_ncols=True)
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            del bars[task]

    return report
