"""What the offline entry points (`train.py`, `python -m offline.render`) share before their
heavy imports: a Ctrl-C during start-up is one line and exit 130, and the paths a training
run reads and writes, for the output checks (`pipeline.io.prepare_outputs`).

Only the standard library is imported at module level: this module is imported first,
so that the imports after it (numpy, OpenCV, scikit-learn: about half a second) are
already guarded.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from offline.training.experiment import TrainOutputs
    from offline.training.recipe import Recipe

INTERRUPTED_AT_STARTUP = "interrupted while starting: nothing was read or written"

PathMap = dict[str, "str | Path | None"]


@contextmanager
def interrupt_at_startup() -> Iterator[None]:
    """`with interrupt_at_startup(): import ...`: a Ctrl-C inside the block writes one line
    to stderr and exits with 130 (SystemExit), never a traceback."""
    try:
        yield
    except KeyboardInterrupt:
        sys.stderr.write(f"{INTERRUPTED_AT_STARTUP}\n")
        raise SystemExit(130) from None


def recipe_inputs(recipe: Recipe, test_data: Iterable[str | Path] = ()) -> PathMap:
    """Every input a recipe reads, named as its option: the datasets (the shared ones when
    none is given), the auxiliary datasets, the test datasets and the joint map."""
    named: PathMap = {}
    for option, paths in (
        ("--data", recipe.datasets()),
        ("--aux-data", recipe.auxiliary_datasets()),
        ("--test-data", test_data),
        ("--joint-map", [recipe.joint_map] if recipe.joint_map else []),
    ):
        for path in paths:
            named[f"{option} {path}"] = path
    return named


def prepare_train_outputs(recipe: Recipe, outputs: TrainOutputs) -> None:
    """Before `train` does any work: finish a save an earlier run was interrupted in, then
    check the model, its card and the report folder against every input and each other
    (`pipeline.io.prepare_outputs`). Raises OutputError (one line)."""
    from pipeline.io import prepare_outputs
    from pipeline.models import card_path, recover_interrupted_save

    recover_interrupted_save(outputs.out)  # then outputs checked, stale temporaries removed
    files: PathMap = {"--out": outputs.out, "model card": card_path(outputs.out)}
    folders: PathMap = {"--report-dir": outputs.report_dir}
    prepare_outputs(recipe_inputs(recipe, outputs.test_data), files, folders)


def prepare_compare_outputs(
    recipe: Recipe, test_data: Iterable[str | Path] | None, out_md: str | Path | None
) -> None:
    """Before `compare` does any work: check `--out-md` against every input."""
    from pipeline.io import prepare_outputs

    prepare_outputs(recipe_inputs(recipe, test_data or ()), {"--out-md": out_md})


def usable_matplotlib_dirs() -> None:
    """Before matplotlib is imported: when its config or cache folder cannot be made (a
    parent is a file, a read-only home), point MPLCONFIGDIR at a private temporary folder
    (removed at exit), so matplotlib prints no warnings of its own before our one line."""
    import atexit
    import os
    import shutil
    import tempfile

    if os.environ.get("MPLCONFIGDIR") and _writable(Path(os.environ["MPLCONFIGDIR"])):
        return
    home = Path.home()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib"
    if "MPLCONFIGDIR" not in os.environ and _writable(config) and _writable(cache):
        return
    folder = tempfile.mkdtemp(prefix="posemotion-matplotlib-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["MPLCONFIGDIR"] = folder


def _writable(folder: Path) -> bool:
    import os

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
