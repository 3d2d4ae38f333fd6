"""The three things `train.py` does: train (evaluate, fit, save, report), evaluate a saved
model on a dataset, and compare a grid of settings by grouped cross-validation.

Nothing here prints: text for the user goes to `Resources.notify`, progress to
`Resources.progress`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from offline import cluster
from offline.cluster import Executor
from offline.training import clustering, report
from offline.training.card import card_evaluation, library_versions, license_note, secondary_group
from offline.training.evaluation import (
    TrainSettings,
    WindowTable,
    check_trainable,
    fit_table,
    grouped_evaluation,
    study_protocol,
    window_table,
)
from offline.training.recipe import (
    Recipe,
    Resources,
    auxiliary_table,
    read_all,
    tables,
    training_rows,
    with_renders,
)
from offline.training.scores import Scores, chance_scores, score
from pipeline.models import EmotionModel, card_path, load_model, save_model


@dataclass(frozen=True)
class TrainOutputs:
    """What `train` writes and how much it measures besides the grouped evaluation.

    Attributes:
        out: the model file (its card is written beside it).
        report_dir: report folder (None: beside the model, `<model>_report/`).
        test_data: datasets also scored on the same held-out groups (none: the renders).
        repeats: splits of the study's protocol (0: skip).
        cluster_samples: windows used for the clustering table and figures.
        quick: grouped evaluation and model only (no seed comparison, study, clustering).
    """

    out: Path
    report_dir: Path | None = None
    test_data: tuple[str, ...] = ()
    repeats: int = 10
    cluster_samples: int = 3000
    quick: bool = False

    def report_folder(self) -> Path:
        """models/emotion.joblib -> models/emotion_report/ (the report travels with it)."""
        return self.report_dir or self.out.with_name(self.out.stem + "_report")


def train(recipe: Recipe, res: Resources, outputs: TrainOutputs) -> report.Run:
    """Evaluate the recipe by held-out groups, fit it on all data, save model, card and
    report; returns what was measured. With `res.cluster`, extraction, renders, folds and
    splits run on that engine (`offline.cluster`); the model is the same."""
    with cluster.session(res.jobs, res.cluster):
        return _train(recipe, res, outputs)


def fit_inputs(
    table: WindowTable,
    mirrored: WindowTable | None,
    recipe: Recipe,
    labels: tuple[str, ...],
    group: str,
    notify: Callable[[str], None] | None = None,
) -> tuple[WindowTable, WindowTable | None, WindowTable | None]:
    """What a model is fitted on: the training rows, their mirrored twins, and the windows
    only the content projection sees (`recipe.auxiliary_table`; clips it leaves out are
    told to `notify`). Refuses data with fewer than two classes or a class in one `group`
    only (`check_trainable`), before any fit."""
    rows = training_rows(table, recipe)
    check_trainable(table, group, rows)
    twins = training_rows(mirrored, recipe) if mirrored is not None else None
    return rows, twins, auxiliary_table(recipe, labels, notify)


def _train(recipe: Recipe, res: Resources, outputs: TrainOutputs) -> report.Run:
    started = time.perf_counter()
    train_paths, test_paths = with_renders(recipe, outputs.test_data, res)
    memo: dict[Any, Any] = {}
    data = read_all(train_paths, recipe, res, memo=memo)
    for note in data.notes:
        res.notify(note)
    table, mirrored = tables(data, recipe)
    labels = tuple(sorted(np.unique(table.y)))
    res.notify(
        f"{len(table)} windows of {recipe.window.window_s:g} s ({recipe.window.n_frames} frames), "
        f"{table.x.shape[1]} '{recipe.feature_set}' features, classes {', '.join(labels)}; "
        f"evaluation holds out one {data.group} at a time "
        f"({len(np.unique(table.group(data.group)))} folds)"
    )
    results: dict[str, Any] = {"recipe": recipe.to_dict(), "group": data.group}
    fit_rows, fit_mirrored, aux = fit_inputs(
        table, mirrored, recipe, labels, data.group, res.notify
    )
    test_tables: list[WindowTable] = []
    if test_paths:
        test = read_all(test_paths, recipe, res, memo=memo)
        test_tables = [tables(test, replace(recipe, mirror=False))[0]]
    if aux is not None:
        res.notify(f"content projection also sees {len(aux)} windows of other styles / datasets")
    evaluation, *tested = grouped_evaluation(
        fit_rows, [table, *test_tables], data.group, recipe.train, fit_mirrored, labels,
        res.progress, aux=aux,
    )  # fmt: skip
    video_eval = tested[0] if tested else None
    results["grouped"] = evaluation.to_dict()
    rows: list[tuple[str, Any]] = [
        (f"{recipe.feature_set} ({recipe.train.model})", evaluation.scores)
    ]
    rows += [(f"  of which {src} windows", s) for src, s in evaluation.per_source.items()]

    seed_eval = None
    seed_table = None
    if recipe.feature_set != "seed" and not outputs.quick:
        seed_recipe = replace(recipe, feature_set="seed")
        seed_table, seed_mirror = tables(data, seed_recipe)
        seed_rows, seed_mirror, seed_aux = fit_inputs(
            seed_table, seed_mirror, seed_recipe, labels, data.group
        )
        (seed_eval,) = grouped_evaluation(
            seed_rows, [seed_table], data.group, recipe.train, seed_mirror, labels,
            res.progress, aux=seed_aux,
        )  # fmt: skip
        results["grouped_seed"] = seed_eval.to_dict()
        rows.append((f"seed ({recipe.train.model})", seed_eval.scores))
    second_eval = second_video = None
    second = secondary_group(data.group, table)
    if second is not None and (second == "family" or not outputs.quick):
        # beside the person headline: whole actions held out (an action's every style,
        # from every dataset); beside the family headline: the optimistic per-content row
        second_eval, *tested_second = grouped_evaluation(
            fit_rows, [table, *test_tables], second, recipe.train, fit_mirrored, labels,
            res.progress, aux=aux,
        )  # fmt: skip
        results[f"grouped_by_{second}"] = second_eval.to_dict()
        optimistic = " (optimistic)" if second == "content" else ""
        rows.append(
            (f"{recipe.feature_set}, leave-one-{second}-out{optimistic}", second_eval.scores)
        )
        if tested_second:
            second_video = tested_second[0]
            results[f"grouped_by_{second}"]["test_data"] = second_video.to_dict()
            rows.append((f"  on --test-data, leave-one-{second}-out", second_video.scores))
    rows += [("majority class", evaluation.majority), ("chance", evaluation.chance)]
    if video_eval is not None:
        results["test_data"] = {"paths": list(test_paths), **video_eval.to_dict()}
        rows.append((f"{recipe.feature_set} on --test-data", video_eval.scores))

    study: list[tuple[str, dict[str, float]]] = []
    if outputs.repeats > 0 and not outputs.quick:
        study.append(
            (
                recipe.feature_set,
                study_protocol(table, recipe.train, outputs.repeats, n_jobs=res.jobs),
            )
        )
        if seed_table is not None:  # the seed windows of the grouped comparison, unmirrored
            study.append(
                ("seed", study_protocol(seed_table, recipe.train, outputs.repeats, n_jobs=res.jobs))
            )
        results["study_protocol"] = dict(study)

    # standardised windows (stratified subsample) for the clustering and the figures
    from sklearn.preprocessing import StandardScaler

    keep = clustering.subsample(len(table), table.y, outputs.cluster_samples, recipe.train.seed)
    sample = (StandardScaler().fit_transform(table.x[keep]), table.y[keep])
    clusters: list[dict[str, Any]] = []
    if not outputs.quick:
        clusters = clustering.cluster_scores(*sample)
        results["clustering"] = {"windows": int(len(keep)), "rows": clusters}

    fit_started = time.perf_counter()
    pipeline = fit_table(fit_rows, recipe.train, fit_mirrored, aux)
    fit_s = time.perf_counter() - fit_started
    model = EmotionModel(
        pipeline=pipeline,
        classes=labels,
        feature_set=recipe.feature_set,
        window=recipe.window,
        n_features=int(table.x.shape[1]),
        pose=recipe.pose,
        metadata={
            "model": recipe.train.model,
            "recipe": recipe.to_dict(),
            "training_data": data.notes,
            "n_windows": len(table),
            "evaluation": card_evaluation(
                data.group, evaluation, video_eval, second, second_eval, second_video
            ),
            "versions": library_versions(),
            "license": license_note(data.notes) if "mocap" in data.kinds else "see training data",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    card = card_path(outputs.out)
    results["timing_s"] = {"total": time.perf_counter() - started, "final_fit": fit_s}
    run = report.Run(
        recipe=recipe,
        data=data,
        table=table,
        evaluation=evaluation,
        seed_eval=seed_eval,
        second_eval=second_eval,
        video_eval=video_eval,
        rows=rows,
        study=study,
        clusters=clusters,
        sample=sample,
        results=results,
        model_path=outputs.out,
        card_path=card,
        report_dir=outputs.report_folder(),
        license_note=license_note(data.notes) if "mocap" in data.kinds else None,
        second_group=second,
        second_video=second_video,
    )
    report.write_report(run)
    save_model(model, outputs.out)  # last: a run that fails anywhere keeps the old model
    return run


def evaluate(model_path: Path, recipe: Recipe, res: Resources) -> tuple[dict[str, Any], Scores]:
    """Score a saved model on `recipe`'s data (labels it does not know are left out)."""
    with cluster.session(res.jobs, res.cluster):
        return _evaluate(model_path, recipe, res)


def _evaluate(model_path: Path, recipe: Recipe, res: Resources) -> tuple[dict[str, Any], Scores]:
    model = load_model(model_path, trust_pickle=res.trust_pickle)
    recipe = replace(
        recipe, feature_set=model.feature_set, window=model.window, image_jitter=0.0,
        render_views_deg=(), pose=model.pose,
    )  # fmt: skip
    data = read_all(recipe.datasets(), recipe, res)
    table = window_table(data.movements, model.window, model.feature_set, recipe.stride_s)
    known = np.isin(table.y, model.classes)
    notes = list(data.notes)
    if not known.all():
        notes.append(
            f"{int((~known).sum())} windows have labels the model does not know "
            f"({', '.join(sorted(set(table.y[~known])))}); they are left out"
        )
        table = table.take(np.flatnonzero(known))
    if not len(table):
        raise ValueError("no windows with labels the model knows")
    proba = model.predict_proba(table.x)
    pred = np.array(model.classes)[proba.argmax(axis=1)]
    scores = score(table.y, pred, model.classes)
    result = {
        "model": str(model_path),
        "data": list(recipe.datasets()),
        "notes": notes,
        **scores.to_dict(),
        "chance_baseline": chance_scores(table.y),
    }
    return result, scores


@dataclass(frozen=True)
class Grid:
    """Settings `compare` crosses: feature sets, window lengths (s), classifiers, and the
    resampling rate (frames per second: T = window_s * rate)."""

    feature_sets: tuple[str, ...] = ("motion", "image", "seed")
    windows_s: tuple[float, ...] = (1.0, 1.5, 2.0)
    models: tuple[str, ...] = ("et",)
    rate: float = 10.0

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"--rate must be > 0 frames per second, got {self.rate}")


COMPARE_HEADER = (
    "| features | window s | frames | model | balanced acc. | macro-F1 | test-data bal. acc. |",
    "|---|---|---|---|---|---|---|",
)


def compare(base: Recipe, grid: Grid, res: Resources, test_data: tuple[str, ...] = ()) -> list[str]:
    """Grouped-CV balanced accuracy for every combination of `grid`; one Markdown row each,
    also passed to `res.notify` as soon as it is measured.

    With `res.cluster`, each combination is one engine task (its folds in that task),
    or, when there are fewer combinations than workers, each fold is; same seeds, same
    figures, rows in grid order."""
    with cluster.session(res.jobs, res.cluster):
        return _compare(base, grid, res, test_data)


@dataclass(frozen=True)
class _Cell:
    """One grid combination's tables, ready to evaluate (a unit of work)."""

    name: str  # "| features | window s | frames | model "
    table: WindowTable
    tests: list[WindowTable]
    group: str
    settings: TrainSettings
    mirrored: WindowTable | None
    labels: tuple[str, ...]
    fit_rows: WindowTable
    aux: WindowTable | None


def _compare_cell(executor: Executor | None, cell: _Cell) -> str:
    """The Markdown row of one grid combination (folds on `executor`, else here)."""
    ev, *tested = grouped_evaluation(
        cell.fit_rows, [cell.table, *cell.tests], cell.group, cell.settings, cell.mirrored,
        cell.labels, executor=executor, aux=cell.aux,
    )  # fmt: skip
    test_ba = f"{tested[0].scores.balanced_accuracy:.3f}" if tested else "-"
    return (
        f"{cell.name}| {ev.scores.balanced_accuracy:.3f} | {ev.scores.macro_f1:.3f} | {test_ba} |"
    )


def _compare(base: Recipe, grid: Grid, res: Resources, test_data: tuple[str, ...]) -> list[str]:
    train_paths, test_paths = with_renders(base, test_data, res)
    base = replace(base, data=train_paths, auxiliary=base.auxiliary_datasets())
    memo: dict[Any, Any] = {}
    cells: list[_Cell] = []
    for fs in grid.feature_sets:
        for window_s in grid.windows_s:
            frames = max(2, round(window_s * grid.rate))
            for model in grid.models:
                recipe = replace(
                    base,
                    feature_set=fs,
                    window=replace(base.window, window_s=window_s, n_frames=frames),
                    train=replace(base.train, model=model),
                )
                data = read_all(recipe.data, recipe, res, memo=memo)
                table, mirrored = tables(data, recipe)
                labels = tuple(sorted(np.unique(table.y)))
                rows, twins, aux = fit_inputs(table, mirrored, recipe, labels, data.group)
                test_tables = []
                if test_paths:
                    test = read_all(test_paths, recipe, res, jitter_seed=1, memo=memo)
                    test_tables = [tables(test, replace(recipe, mirror=False))[0]]
                name = f"| {fs} | {window_s:g} | {frames} | {model} "
                cells.append(
                    _Cell(
                        name, table, test_tables, data.group, recipe.train, twins, labels, rows, aux
                    )  # fmt: skip
                )
    ex = cluster.current(1)
    lines = [""] * len(cells)
    if len(cells) >= ex.workers:  # combinations as units, each evaluated where it runs
        for i, line in ex.map_unordered(_compare_cell, cells, None):
            res.notify(line)
            lines[i] = line
    else:  # few combinations: folds as units
        for i, cell in enumerate(cells):
            lines[i] = _compare_cell(ex, cell)
            res.notify(lines[i])
    return lines
