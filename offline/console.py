"""Terminal output for the command-line entry points only (`train.py`, `python -m
offline.render`): tqdm progress bars behind the `offline.progress.Progress` callback.
Library modules never import this."""

from __future__ import annotations

from typing import Any

from offline.progress import Progress


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
