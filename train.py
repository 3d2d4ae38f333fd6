"""Train, evaluate and compare PosEmotion models offline.

    python train.py                       # the shipped model from ../shared motion capture
    python train.py train --data DIR ...  # any dataset: mocap, EiLA layout or labelled videos
    python train.py evaluate MODEL --data DIR [--json]
    python train.py compare --features motion image seed --window-s 1.0 1.5

Datasets -> skeleton movements (keypoints cached for videos) -> windows -> `vectorize` ->
models. Evaluation holds out whole groups (a mocap content, a video), so windows of one
movement never fall on both sides of a split; the study's repeated random splits are
reported beside it for comparison.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from offline.datasets.mocap import DEFAULT_STYLES, MocapOptions
from offline.datasets.movement import Movement
from offline.datasets.registry import DEFAULT_GROUP, KINDS, ReadOptions, read_dataset
from offline.render.renderer import DEFAULT_RENDER_DIR, DEFAULT_VIEWS
from offline.training import clustering, report
from offline.training.evaluation import (
    Scores,
    TrainSettings,
    WindowTable,
    chance_scores,
    fit_table,
    grouped_predictions,
    score,
    study_protocol,
    window_table,
)
from pipeline.features import DEFAULT_FEATURE_SET, FEATURE_SETS
from pipeline.io import write_text_atomic
from pipeline.models import (
    BALANCING,
    DEFAULT_MODEL,
    MODEL_FACTORIES,
    EmotionModel,
    load_model,
    save_model,
)
from pipeline.window import WindowSpec

ROOT = Path(__file__).resolve().parent
SHARED_MOCAP = ROOT.parent / "shared" / "data" / "bandai-namco-motion-1"
ALL_VIEWS = (-90.0, -60.0, -35.0, 0.0, 35.0, 60.0, 90.0)  # includes the rendered views
LICENSE_NOTE = (
    "Trained on the Bandai-Namco-Research-Motiondataset-1 (Bandai Namco Research Inc., "
    "CC BY-NC 4.0, https://github.com/BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset). "
    "The model may be used for non-commercial purposes only."
)

# --- settings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a model: data, windows, features, classifier, augmentation."""

    data: tuple[str, ...]
    kind: str = "auto"
    labels: tuple[str, ...] | None = None
    feature_set: str = DEFAULT_FEATURE_SET
    window: WindowSpec = field(default_factory=WindowSpec)
    stride_s: float = 0.2
    train: TrainSettings = field(default_factory=TrainSettings)
    mirror: bool = True
    views_deg: tuple[float, ...] | None = None  # None: 0 for 3D features, ALL_VIEWS for 2D
    image_jitter: float = 0.02
    world_jitter_m: float = 0.0
    group: str | None = None
    render_views_deg: tuple[float, ...] = ()  # mocap also rendered and run through pose

    def mocap_views(self) -> tuple[float, ...]:
        if self.views_deg is not None:
            return self.views_deg
        return ALL_VIEWS if "image" in self.feature_set else (0.0,)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["window"] = self.window.to_dict()
        d["views_deg"] = list(self.mocap_views())
        return d


@dataclass
class Data:
    """Sequences read from the recipe's datasets, with the evaluation's group key."""

    movements: list[Movement]
    kinds: list[str]
    group: str
    notes: list[str]


# --- data -------------------------------------------------------------------------------


def read_all(
    paths: tuple[str, ...],
    recipe: Recipe,
    args: argparse.Namespace,
    jitter_seed: int = 0,
    memo: dict[Any, Any] | None = None,
) -> Data:
    """Read every dataset in `paths` with the recipe's settings.

    `memo` (a dict kept for one command) serves a dataset read again with the same
    options, e.g. rendered videos used for training and as --test-data, from memory.
    """
    options = ReadOptions(
        labels=recipe.labels,
        mocap=MocapOptions(
            styles=DEFAULT_STYLES,
            views_deg=recipe.mocap_views(),
            image_jitter=recipe.image_jitter,
            world_jitter_m=recipe.world_jitter_m,
            seed=recipe.train.seed + jitter_seed,
        ),
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        pose_model=Path(args.pose_model) if args.pose_model else None,
        n_jobs=args.jobs,
        progress=not args.no_progress,
    )
    movements: list[Movement] = []
    kinds: list[str] = []
    notes: list[str] = []
    for path in paths:
        key = (os.path.realpath(path), recipe.kind, options)
        if memo is not None and key in memo:
            seqs, kind, extraction = memo[key]
        else:
            seqs, kind, extraction = read_dataset(path, recipe.kind, options)
            if memo is not None:
                memo[key] = seqs, kind, extraction
        movements += seqs
        kinds.append(kind)
        what = {
            "mocap": "motion-capture skeletons",
            "eila": "EiLA-layout videos through PoseLandmarker",
            "folders": "labelled videos through PoseLandmarker",
        }[kind]
        if any("renderer" in s.groups for s in seqs):
            what += " (videos rendered from motion capture by offline.render.renderer)"
        notes.append(f"{os.path.relpath(path, ROOT)}: {what}, {len(seqs)} movements")
        if extraction is not None:
            notes += [f"  {line}" for line in extraction.lines()]
    group = recipe.group or DEFAULT_GROUP[kinds[0]]
    if group == "video" and "content" in movements[0].groups:
        group = "content"
    missing = [s.name for s in movements if group not in s.groups]
    if missing:
        raise ValueError(
            f"group key {group!r} is missing for {len(missing)} movements (e.g. {missing[0]}); "
            "choose another with --group"
        )
    return Data(movements, kinds, group, notes)


def tables(data: Data, recipe: Recipe) -> tuple[WindowTable, WindowTable | None]:
    """The window table, and its mirrored twin (training folds only) if the recipe mirrors."""
    fs = recipe.feature_set
    table = window_table(data.movements, recipe.window, fs, recipe.stride_s)
    mirrored = None
    if recipe.mirror:
        mirrored = window_table(
            [s.mirrored() for s in data.movements], recipe.window, fs, recipe.stride_s
        )
    return table, mirrored


def with_renders(
    recipe: Recipe, args: argparse.Namespace
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Training and test datasets: the recipe's, plus for each motion-capture dataset its
    clips rendered as video at `render_views_deg` (rendered once into --render-dir, then
    reused), which train.py reads through PoseLandmarker like any video: the video path.

    Rendered videos are added to the test data only when no --test-data was given.
    """
    from offline.datasets.registry import detect_kind
    from offline.labels import style_names
    from offline.render.renderer import plan_dataset, render_jobs

    train, test = list(recipe.data), list(args.test_data or [])
    if not recipe.render_views_deg:
        return tuple(train), tuple(test)
    for path in recipe.data:
        kind = detect_kind(path) if recipe.kind == "auto" else recipe.kind
        if kind != "mocap":
            continue
        styles = style_names(recipe.labels) if recipe.labels else list(DEFAULT_STYLES)
        out = Path(args.render_dir) / Path(path).resolve().name
        jobs = plan_dataset(path, out, recipe.render_views_deg, styles)
        todo = [j for j in jobs if not j.is_done()]
        if todo:
            print(
                f"rendering {len(todo)} of {len(jobs)} videos of {path} into {out} (once; "
                f"about 0.02 s a frame, then pose about 0.02 s a frame; --no-render skips)"
            )
            render_jobs(todo, n_jobs=args.jobs, progress=not args.no_progress)
        rendered = os.path.relpath(out, Path.cwd())
        train.append(rendered)
        if not args.test_data:
            test.append(rendered)
    return tuple(train), tuple(test)


# --- evaluation ---------------------------------------------------------------------------


@dataclass
class Evaluation:
    scores: Scores
    majority: Scores
    chance: dict[str, float]
    per_view: dict[str, Scores] = field(default_factory=dict)
    per_source: dict[str, Scores] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.scores.to_dict(),
            "majority_baseline": self.majority.to_dict(),
            "chance_baseline": self.chance,
            "per_view": {k: v.to_dict() for k, v in self.per_view.items()},
            "per_source": {k: v.to_dict() for k, v in self.per_source.items()},
        }


def grouped_evaluation(
    train: WindowTable,
    tests: list[WindowTable],
    group: str,
    settings: TrainSettings,
    augment: WindowTable | None,
    labels: tuple[str, ...],
    progress: bool,
) -> list[Evaluation]:
    """Score each of `tests` with the same held-out-group fold models (each fitted once)."""
    bar = None
    if progress:
        from tqdm import tqdm

        def bar(items: Any) -> Any:
            return tqdm(items, desc=f"held-out {group}", unit="fold", leave=False)

    joined = WindowTable.concat(tests) if len(tests) > 1 else tests[0]
    pred_all, majority_all = grouped_predictions(train, joined, group, settings, augment, bar)
    out, start = [], 0
    for test in tests:
        rows = slice(start, start + len(test))
        start += len(test)
        out.append(_evaluation(test, pred_all[rows], majority_all[rows], labels))
    return out


def _evaluation(
    test: WindowTable, pred: np.ndarray, majority: np.ndarray, labels: tuple[str, ...]
) -> Evaluation:
    per_view = {}
    if "view_deg" in test.groups and len(np.unique(test.groups["view_deg"])) > 1:
        for view in sorted(np.unique(test.groups["view_deg"]), key=float):
            rows = test.groups["view_deg"] == view
            per_view[view] = score(test.y[rows], pred[rows], labels)
    sources = np.unique(test.source)
    per_source = {
        src: score(test.y[test.source == src], pred[test.source == src], labels)
        for src in (sources if len(sources) > 1 else [])
    }
    return Evaluation(
        score(test.y, pred, labels),
        score(test.y, majority, labels),
        chance_scores(test.y),
        per_view,
        per_source,
    )


# --- commands ----------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    recipe = recipe_from_args(args)
    train_paths, test_paths = with_renders(recipe, args)
    memo: dict[Any, Any] = {}
    data = read_all(train_paths, recipe, args, memo=memo)
    for note in data.notes:
        print(note)
    table, mirrored = tables(data, recipe)
    labels = tuple(sorted(np.unique(table.y)))
    print(
        f"{len(table)} windows of {recipe.window.window_s:g} s ({recipe.window.n_frames} frames), "
        f"{table.x.shape[1]} '{recipe.feature_set}' features, classes {', '.join(labels)}; "
        f"evaluation holds out one {data.group} at a time "
        f"({len(np.unique(table.group(data.group)))} folds)"
    )
    progress = not args.no_progress
    results: dict[str, Any] = {"recipe": recipe.to_dict(), "group": data.group}
    test_tables: list[WindowTable] = []
    if test_paths:
        test = read_all(test_paths, recipe, args, memo=memo)
        test_tables = [tables(test, replace(recipe, mirror=False))[0]]
    evaluation, *tested = grouped_evaluation(
        table, [table, *test_tables], data.group, recipe.train, mirrored, labels, progress
    )
    video_eval = tested[0] if tested else None
    results["grouped"] = evaluation.to_dict()
    rows: list[tuple[str, Any]] = [
        (f"{recipe.feature_set} ({recipe.train.model})", evaluation.scores)
    ]
    rows += [(f"  of which {src} windows", s) for src, s in evaluation.per_source.items()]

    seed_eval = None
    if recipe.feature_set != "seed" and not args.quick:
        seed_recipe = replace(recipe, feature_set="seed")
        seed_table, seed_mirror = tables(data, seed_recipe)
        (seed_eval,) = grouped_evaluation(
            seed_table, [seed_table], data.group, recipe.train, seed_mirror, labels, progress
        )
        results["grouped_seed"] = seed_eval.to_dict()
        rows.append((f"seed ({recipe.train.model})", seed_eval.scores))
    rows += [("majority class", evaluation.majority), ("chance", evaluation.chance)]
    if video_eval is not None:
        results["test_data"] = {"paths": list(test_paths), **video_eval.to_dict()}
        rows.append((f"{recipe.feature_set} on --test-data", video_eval.scores))

    study: list[tuple[str, dict[str, float]]] = []
    if args.repeats > 0 and not args.quick:
        study.append(
            (
                recipe.feature_set,
                study_protocol(table, recipe.train, args.repeats, n_jobs=args.jobs),
            )
        )
        if seed_eval is not None:  # the seed windows of the grouped comparison, unmirrored
            study.append(
                ("seed", study_protocol(seed_table, recipe.train, args.repeats, n_jobs=args.jobs))
            )
        results["study_protocol"] = dict(study)

    # standardised windows (stratified subsample) for the clustering and the figures
    from sklearn.preprocessing import StandardScaler

    keep = clustering.subsample(len(table), table.y, args.cluster_samples, recipe.train.seed)
    sample = (StandardScaler().fit_transform(table.x[keep]), table.y[keep])
    clusters: list[dict[str, Any]] = []
    if not args.quick:
        clusters = clustering.cluster_scores(*sample)
        results["clustering"] = {"windows": int(len(keep)), "rows": clusters}

    fit_started = time.perf_counter()
    pipeline = fit_table(table, recipe.train, mirrored)
    fit_s = time.perf_counter() - fit_started
    model = EmotionModel(
        pipeline=pipeline,
        classes=labels,
        feature_set=recipe.feature_set,
        window=recipe.window,
        n_features=int(table.x.shape[1]),
        metadata={
            "model": recipe.train.model,
            "recipe": recipe.to_dict(),
            "training_data": data.notes,
            "n_windows": len(table),
            "evaluation": {
                "protocol": f"leave-one-{data.group}-out",
                "balanced_accuracy": evaluation.scores.balanced_accuracy,
                "accuracy": evaluation.scores.accuracy,
                "macro_f1": evaluation.scores.macro_f1,
                **(
                    {"test_data_balanced_accuracy": video_eval.scores.balanced_accuracy}
                    if video_eval
                    else {}
                ),
            },
            "versions": library_versions(),
            "license": LICENSE_NOTE
            if any(k == "mocap" for k in data.kinds)
            else "see training data",
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    out = Path(args.out)
    card = save_model(model, out)
    total_s = time.perf_counter() - started
    results["timing_s"] = {"total": total_s, "final_fit": fit_s}
    report_dir = Path(args.report_dir) if args.report_dir else report_dir_for(out)
    run = Run(recipe, data, table, evaluation, seed_eval, video_eval, rows, study, clusters,
              sample, results, out)  # fmt: skip
    write_report(report_dir, run)
    print(report.scores_table(rows))
    if video_eval and video_eval.per_view:
        print(report.per_view_table(video_eval.per_view))
    print(f"model: {out} (card {card.name}); report: {report_dir / 'report.md'}; {total_s:.1f} s")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    recipe = Recipe(
        data=tuple(args.data),
        kind=args.kind,
        labels=tuple(args.labels) if args.labels else None,
        feature_set=model.feature_set,
        window=model.window,
        stride_s=args.stride_s,
        views_deg=tuple(args.views) if args.views else None,
        image_jitter=0.0,
    )
    data = read_all(recipe.data, recipe, args)
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
        "model": str(args.model),
        "data": list(args.data),
        "notes": notes,
        **scores.to_dict(),
        "chance_baseline": chance_scores(table.y),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for note in notes:
        print(note)
    print(
        report.scores_table([(Path(args.model).name, scores), ("chance", chance_scores(table.y))])
    )
    print(report.per_class_table(scores))
    print(report.confusion_table(scores))
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Grouped-CV balanced accuracy for a grid of feature sets, windows and models."""
    base = recipe_from_args(args)
    train_paths, test_paths = with_renders(base, args)
    base = replace(base, data=train_paths)
    lines = [
        "| features | window s | frames | model | balanced acc. | macro-F1 | test-data bal. acc. |",
        "|---|---|---|---|---|---|---|",
    ]
    memo: dict[Any, Any] = {}
    for fs in args.features_grid:
        for window_s in args.window_grid:
            frames = max(2, round(window_s * args.rate))
            for model in args.model_grid:
                recipe = replace(
                    base,
                    feature_set=fs,
                    window=replace(base.window, window_s=window_s, n_frames=frames),
                    train=replace(base.train, model=model),
                )
                data = read_all(recipe.data, recipe, args, memo=memo)
                table, mirrored = tables(data, recipe)
                labels = tuple(sorted(np.unique(table.y)))
                test_tables = []
                if test_paths:
                    test = read_all(test_paths, recipe, args, jitter_seed=1, memo=memo)
                    test_tables = [tables(test, replace(recipe, mirror=False))[0]]
                ev, *tested = grouped_evaluation(
                    table, [table, *test_tables], data.group, recipe.train, mirrored, labels, False
                )
                test_ba = f"{tested[0].scores.balanced_accuracy:.3f}" if tested else "-"
                line = (
                    f"| {fs} | {window_s:g} | {frames} | {model} | "
                    f"{ev.scores.balanced_accuracy:.3f} | {ev.scores.macro_f1:.3f} | {test_ba} |"
                )
                print(line, flush=True)
                lines.append(line)
    if args.out_md:
        write_text_atomic(args.out_md, "\n".join(lines) + "\n")
    return 0


# --- report ------------------------------------------------------------------------------


@dataclass
class Run:
    """What one `train` command measured, for its report."""

    recipe: Recipe
    data: Data
    table: WindowTable
    evaluation: Evaluation
    seed_eval: Evaluation | None
    video_eval: Evaluation | None
    rows: list[tuple[str, Any]]
    study: list[tuple[str, dict[str, float]]]
    clusters: list[dict[str, Any]]
    sample: tuple[np.ndarray, np.ndarray]  # standardised windows and labels, for figures
    results: dict[str, Any]
    model_path: Path


def write_report(directory: Path, run: Run) -> None:
    """report.md, results.json and the figures, each written atomically."""
    recipe, data, table, results = run.recipe, run.data, run.table, run.results
    evaluation, seed_eval, video_eval = run.evaluation, run.seed_eval, run.video_eval
    directory.mkdir(parents=True, exist_ok=True)
    protocol = f"leave-one-{data.group}-out"
    report.confusion_png(
        evaluation.scores, directory / "confusion.png", f"{recipe.feature_set}, {protocol}"
    )
    if seed_eval is not None:
        report.confusion_png(
            seed_eval.scores, directory / "confusion_seed.png", f"seed, {protocol}"
        )
    if video_eval is not None:
        report.confusion_png(
            video_eval.scores,
            directory / "confusion_test_data.png",
            f"{recipe.feature_set}, --test-data",
        )
    if run.clusters:
        report.dendrogram_png(run.sample[0], list(run.sample[1]), directory / "dendrogram.png")
    report.pca_png(*run.sample, directory / "pca.png")

    md = [
        "# PosEmotion training report",
        "",
        f"Model: `{os.path.relpath(run.model_path)}`, {recipe.train.model} on "
        f"'{recipe.feature_set}' features, "
        f"windows of {recipe.window.window_s:g} s resampled to {recipe.window.n_frames} frames, "
        f"stride {recipe.stride_s:g} s, balance '{recipe.train.balance}', "
        f"mirror augmentation {'on' if recipe.mirror else 'off'}.",
        "",
        "Data:",
        *[f"- {n}" for n in data.notes],
        f"- {len(table)} windows: "
        + ", ".join(f"{lab} {int((table.y == lab).sum())}" for lab in sorted(set(table.y))),
        "",
        f"## Grouped evaluation (leave-one-{data.group}-out: "
        f"windows of one {data.group} never on both sides)",
        "",
        report.scores_table(run.rows),
        "",
        "Majority class: the training fold's largest class, predicted for every test window. "
        "Chance: random guesses with the test windows' class frequencies.",
        "",
        f"### Per class ({recipe.feature_set})",
        "",
        report.per_class_table(evaluation.scores),
        "",
        report.confusion_table(evaluation.scores),
        "",
        "![confusion](confusion.png)",
        "",
    ]
    if seed_eval is not None:
        md += [
            "### Per class (seed, the study's features)",
            "",
            report.per_class_table(seed_eval.scores),
            "",
            "![confusion seed](confusion_seed.png)",
            "",
        ]
    if video_eval is not None:
        md += [
            f"## --test-data (the video path), same leave-one-{data.group}-out folds",
            "",
            report.scores_table(
                [
                    (recipe.feature_set, video_eval.scores),
                    ("majority class", video_eval.majority),
                    ("chance", video_eval.chance),
                ]
            ),
            "",
            report.per_class_table(video_eval.scores),
            "",
        ]
        if video_eval.per_view:
            md += [report.per_view_table(video_eval.per_view), ""]
        md += ["![confusion test data](confusion_test_data.png)", ""]
    if run.study:
        md += [
            "## The study's protocol (repeated stratified splits over windows; groups ignored, "
            "so overlapping windows of one clip leak into the test set "
            "and the figures are optimistic)",
            "",
            report.study_table(run.study),
            "",
        ]
    if run.clusters:
        md += [
            f"## Clustering (agglomerative, standardised '{recipe.feature_set}' features, "
            f"{results['clustering']['windows']} windows stratified by label)",
            "",
            report.cluster_table(run.clusters),
            "",
            "![dendrogram](dendrogram.png)",
            "",
        ]
    md += [
        "## PCA of the windows",
        "",
        "![pca](pca.png)",
        "",
        f"Total time {results['timing_s']['total']:.1f} s "
        f"(final fit {results['timing_s']['final_fit']:.1f} s) "
        f"on {platform.machine()} with {os.cpu_count()} CPUs.",
        "",
    ]
    if any(k == "mocap" for k in data.kinds):
        md += ["## Licence", "", LICENSE_NOTE, ""]
    write_text_atomic(directory / "report.md", "\n".join(md))
    write_text_atomic(directory / "results.json", json.dumps(results, indent=2, default=str) + "\n")


def report_dir_for(model_path: Path) -> Path:
    """models/emotion.joblib -> models/emotion_report/ (the report travels with its model)."""
    return model_path.with_name(model_path.stem + "_report")


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("numpy", "scikit-learn", "imbalanced-learn", "mediapipe", "joblib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


# --- command line ------------------------------------------------------------------------


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    data = tuple(args.data) if args.data else (os.path.relpath(SHARED_MOCAP),)
    return Recipe(
        data=data,
        kind=args.kind,
        labels=tuple(args.labels) if args.labels else None,
        feature_set=args.features,
        window=WindowSpec(window_s=args.window_s, n_frames=args.frames),
        stride_s=args.stride_s,
        train=TrainSettings(model=args.model, balance=args.balance, seed=args.seed),
        mirror=args.mirror,
        views_deg=tuple(args.views) if args.views else None,
        image_jitter=args.image_jitter,
        world_jitter_m=args.world_jitter,
        group=args.group,
        render_views_deg=() if args.no_render else tuple(args.render_views),
    )


def _data_args(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument(
        "--data",
        action="append",
        required=required,
        metavar="DIR",
        help="dataset folder (repeatable): Bandai-Namco-layout motion capture, EiLA layout "
        "(annotations/annotations.csv + videos/) or videos/<label>/*.mp4. "
        f"Default: {SHARED_MOCAP}",
    )
    p.add_argument("--kind", default="auto", choices=["auto", *KINDS], help="dataset kind")
    p.add_argument(
        "--labels",
        nargs="+",
        metavar="LABEL",
        help="labels to use (mocap style names or emotions); default: happy sad angry normal "
        "for mocap, all for videos",
    )
    p.add_argument(
        "--views",
        nargs="+",
        type=float,
        metavar="DEG",
        help="virtual camera yaws for motion capture (degrees; default 0 for 3D features, "
        "-90 -60 -35 0 35 60 90 for image features)",
    )
    p.add_argument("--stride-s", type=float, default=0.2, help="seconds between window ends")
    p.add_argument(
        "--jobs", type=int, default=1, help="parallel jobs (pose extraction, study protocol)"
    )
    p.add_argument("--cache-dir", help="keypoint cache folder (default .cache/keypoints)")
    p.add_argument(
        "--pose-model", help="PoseLandmarker .task for video datasets (default: built-in)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _recipe_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--features", default=DEFAULT_FEATURE_SET, choices=sorted(FEATURE_SETS), help="feature set"
    )
    p.add_argument("--window-s", type=float, default=1.0, help="movement window, seconds")
    p.add_argument("--frames", type=int, default=10, help="frames per window after resampling (T)")
    p.add_argument(
        "--model",
        default="et",
        choices=sorted(MODEL_FACTORIES),
        help="classifier: et (extra trees), rf (random forest), svm, mlp",
    )
    p.add_argument(
        "--balance",
        default="weights",
        choices=BALANCING,
        help="class balancing on training folds: sample weights (classes and clips equal), "
        "SMOTE, undersampling (the study's), or none",
    )
    p.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add left-right mirrored copies to training folds",
    )
    p.add_argument(
        "--image-jitter",
        type=float,
        default=0.02,
        help="per-frame noise on projected mocap joints, fraction of body height",
    )
    p.add_argument(
        "--world-jitter", type=float, default=0.0, help="per-frame noise on mocap joints, metres"
    )
    p.add_argument(
        "--group",
        help="group key held out by the evaluation (default: content for mocap and "
        "rendered videos, video for EiLA/folders)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument(
        "--test-data",
        action="append",
        metavar="DIR",
        help="also evaluate on this dataset with the same held-out groups (default: the "
        "rendered motion capture, i.e. the video path)",
    )
    p.add_argument(
        "--render-views",
        nargs="+",
        type=float,
        default=list(DEFAULT_VIEWS),
        metavar="DEG",
        help="render motion-capture clips as video at these camera yaws and train and "
        "evaluate on PoseLandmarker's output of them too (the video path)",
    )
    p.add_argument(
        "--no-render",
        action="store_true",
        help="train on motion-capture skeletons only (no rendering, no video path)",
    )
    p.add_argument(
        "--render-dir",
        default=str(DEFAULT_RENDER_DIR),
        help="where rendered videos are kept (one folder per mocap dataset)",
    )


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(
        prog="train.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n", 1)[0],
        epilog="examples:\n"
        "  python train.py                                  # ships models/emotion.joblib\n"
        "  python train.py train --data my_videos --labels Happy Sad Neutral --out my.joblib\n"
        "  python train.py evaluate models/emotion.joblib --data my_videos --json\n"
        "  python train.py compare --features-grid motion image --window-grid 1 1.5\n",
    )
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,compare}")
    train = sub.add_parser(
        "train", formatter_class=fmt, help="train, evaluate and save a model (default)"
    )
    _data_args(train)
    _recipe_args(train)
    train.add_argument(
        "--out", default=str(DEFAULT_MODEL), help="model file to write (+ .card.json)"
    )
    train.add_argument(
        "--report-dir", help="report folder (default: beside the model, <model>_report/)"
    )
    train.add_argument(
        "--repeats", type=int, default=100, help="splits of the study's protocol (0: skip)"
    )
    train.add_argument(
        "--cluster-samples", type=int, default=3000, help="windows used for clustering"
    )
    train.add_argument(
        "--quick",
        action="store_true",
        help="grouped evaluation and model only (no seed comparison, study protocol, clustering)",
    )
    train.set_defaults(func=cmd_train)

    ev = sub.add_parser("evaluate", formatter_class=fmt, help="score a model file on a dataset")
    ev.add_argument("model", help="model file (.joblib with its .card.json)")
    _data_args(ev, required=True)
    ev.add_argument("--json", action="store_true", help="print the metrics as JSON")
    ev.set_defaults(func=cmd_evaluate)

    cmp_ = sub.add_parser("compare", formatter_class=fmt, help="grouped CV over a grid of settings")
    _data_args(cmp_)
    _recipe_args(cmp_)
    cmp_.add_argument(
        "--features-grid",
        nargs="+",
        default=["motion", "image", "seed"],
        choices=sorted(FEATURE_SETS),
    )
    cmp_.add_argument(
        "--window-grid", nargs="+", type=float, default=[1.0, 1.5, 2.0], help="window lengths, s"
    )
    cmp_.add_argument(
        "--rate", type=float, default=10.0, help="resampled frames per second (T = window_s * rate)"
    )
    cmp_.add_argument("--model-grid", nargs="+", default=["et"], choices=sorted(MODEL_FACTORIES))
    cmp_.add_argument("--out-md", help="also write the table to this Markdown file")
    cmp_.set_defaults(func=cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["train", *argv]  # `python train.py [options]` trains
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        return int(args.func(args))
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing half-written was left in place of a good file", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
