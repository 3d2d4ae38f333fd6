"""Training reports: Markdown tables, figures (confusion matrix, dendrogram, PCA), and the
report folder a `train` run writes (report.md, results.json, the figures)."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from offline.entry import usable_matplotlib_dirs
from offline.training.evaluation import WindowTable
from offline.training.scores import Evaluation, Scores
from pipeline.io import atomic_path, write_text_atomic

if TYPE_CHECKING:
    from offline.training.recipe import Data, Recipe


def _pyplot() -> Any:
    usable_matplotlib_dirs()  # else matplotlib warns when its cache folder cannot be made
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    finally:
        _pyplot().close(fig)  # also when saving fails: pyplot keeps every open figure


def confusion_png(scores: Scores, path: Path, title: str) -> None:
    """Row-normalised confusion matrix with counts."""
    plt = _pyplot()
    cm = np.array(scores.confusion, dtype=float)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(scores.labels)), scores.labels, rotation=45, ha="right")
    ax.set_yticks(range(len(scores.labels)), scores.labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center",
                    color="white" if norm[i, j] > 0.5 else "black", fontsize=8)  # fmt: skip
    ax.set_title(title, fontsize=9)
    _save(fig, path)


def dendrogram_png(x: npt.NDArray[np.floating[Any]], labels: Sequence[str], path: Path) -> None:
    """Ward dendrogram of the (sub-sampled, standardised) windows, truncated to 40 leaves."""
    from scipy.cluster.hierarchy import dendrogram, linkage

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    dendrogram(linkage(x, method="ward"), truncate_mode="lastp", p=40, ax=ax,
               leaf_rotation=90, no_labels=False)  # fmt: skip
    ax.set_title(f"Ward linkage of {len(x)} windows ({', '.join(sorted(set(labels)))})", fontsize=9)
    ax.set_ylabel("distance")
    _save(fig, path)


def pca_png(x: npt.NDArray[np.floating[Any]], labels: npt.NDArray[Any], path: Path) -> None:
    """The windows on their first two principal components, coloured by label."""
    from sklearn.decomposition import PCA

    plt = _pyplot()
    pca = PCA(n_components=2, random_state=0)
    xy = pca.fit_transform(x)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for lab in sorted(set(labels)):
        rows = labels == lab
        ax.scatter(xy[rows, 0], xy[rows, 1], s=6, alpha=0.6, label=lab)
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({ratio[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({ratio[1]:.0%} of variance)")
    ax.legend(markerscale=3, fontsize=8)
    _save(fig, path)


def fmt(value: float | None) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.3f}"


def scores_table(rows: Sequence[tuple[str, Scores | dict[str, float]]]) -> str:
    """Markdown table: one row per (name, scores or baseline dict)."""
    out = ["| | accuracy | balanced accuracy | macro-F1 | weighted F1 |", "|---|---|---|---|---|"]
    for name, s in rows:
        d = s.to_dict() if isinstance(s, Scores) else s
        out.append(
            f"| {name} | {fmt(d.get('accuracy'))} | {fmt(d.get('balanced_accuracy'))} | "
            f"{fmt(d.get('macro_f1', float('nan')))} | {fmt(d.get('weighted_f1', float('nan')))} |"
        )
    return "\n".join(out)


def per_class_table(scores: Scores) -> str:
    out = ["| class | precision | recall | windows |", "|---|---|---|---|"]
    support = np.array(scores.confusion).sum(axis=1)
    for k, lab in enumerate(scores.labels):
        out.append(
            f"| {lab} | {fmt(scores.precision.get(lab, float('nan')))} | "
            f"{fmt(scores.recall.get(lab, float('nan')))} | {int(support[k])} |"
        )
    return "\n".join(out)


def confusion_table(scores: Scores) -> str:
    head = "| true \\ predicted | " + " | ".join(scores.labels) + " |"
    out = [head, "|---" * (len(scores.labels) + 1) + "|"]
    for lab, row in zip(scores.labels, scores.confusion, strict=True):
        out.append(f"| {lab} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(out)


def study_table(rows: Sequence[tuple[str, dict[str, float]]]) -> str:
    out = ["| | accuracy (mean ± std) | weighted F1 (mean ± std) | splits |", "|---|---|---|---|"]
    for name, d in rows:
        out.append(
            f"| {name} | {d['accuracy_mean']:.3f} ± {d['accuracy_std']:.3f} | "
            f"{d['weighted_f1_mean']:.3f} ± {d['weighted_f1_std']:.3f} | {d['repeats']} |"
        )
    return "\n".join(out)


def per_view_table(per_view: dict[str, Scores]) -> str:
    """Markdown table: one row per camera view (degrees)."""
    out = [
        "| view (deg) | windows | accuracy | balanced accuracy | macro-F1 |",
        "|---|---|---|---|---|",
    ]
    for view, s in per_view.items():
        out.append(
            f"| {view} | {s.n} | {s.accuracy:.3f} | {s.balanced_accuracy:.3f} | {s.macro_f1:.3f} |"
        )
    return "\n".join(out)


def per_group_table(per_group: dict[str, Scores], group: str) -> str:
    """Markdown table: one row per held-out group (e.g. action family), with per-class recall."""
    labels = next(iter(per_group.values())).labels if per_group else ()
    out = [
        f"| held-out {group} | windows | balanced accuracy | macro-F1 | "
        + " | ".join(f"recall {lab}" for lab in labels)
        + " |",
        "|---" * (4 + len(labels)) + "|",
    ]
    for g, sc in per_group.items():
        recalls = " | ".join(fmt(sc.recall.get(lab, float("nan"))) for lab in labels)
        out.append(f"| {g} | {sc.n} | {sc.balanced_accuracy:.3f} | {sc.macro_f1:.3f} | {recalls} |")
    return "\n".join(out)


def predicted_shares(scores: Scores) -> str:
    """One line: each class's share of the predictions against its true share."""
    cm = np.array(scores.confusion, dtype=float)
    n = max(cm.sum(), 1.0)
    parts = [
        f"{lab} {cm[:, k].sum() / n:.2f} (true {cm[k].sum() / n:.2f})"
        for k, lab in enumerate(scores.labels)
    ]
    return "Share of predictions: " + ", ".join(parts) + "."


def single_label_lines(single: dict[str, tuple[str, float, int]], group: str) -> list[str]:
    """Bullets for held-out groups with one label only (not in the pooled figure)."""
    return [
        f"- {group} {g}: {n} windows, all {lab}; {r:.2f} of them predicted {lab}"
        for g, (lab, r, n) in single.items()
    ]


def cluster_table(rows: Sequence[dict[str, Any]]) -> str:
    """The study's table format: linkage × clusters with silhouette and Davies-Bouldin."""
    out = [
        "| linkage | clusters | silhouette | Davies-Bouldin | adjusted Rand (vs labels) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['linkage']} | {r['clusters']} | {fmt(r['silhouette'])} | "
            f"{fmt(r['davies_bouldin'])} | {fmt(r['adjusted_rand'])} |"
        )
    return "\n".join(out)


@dataclass
class Run:
    """What one `train` command measured, for its report."""

    recipe: Recipe
    data: Data
    table: WindowTable
    evaluation: Evaluation
    seed_eval: Evaluation | None
    second_eval: Evaluation | None
    video_eval: Evaluation | None
    rows: list[tuple[str, Any]]
    study: list[tuple[str, dict[str, float]]]
    clusters: list[dict[str, Any]]
    sample: tuple[npt.NDArray[Any], npt.NDArray[Any]]  # standardised windows and labels
    results: dict[str, Any]
    model_path: Path
    card_path: Path
    report_dir: Path
    license_note: str | None = None
    second_group: str | None = None  # the protocol beside the headline (`secondary_group`)
    second_video: Evaluation | None = None  # that protocol on --test-data


def write_report(run: Run) -> None:
    """report.md, results.json and the figures in `run.report_dir`, each written atomically."""
    recipe, data, table, results = run.recipe, run.data, run.table, run.results
    evaluation, seed_eval, video_eval = run.evaluation, run.seed_eval, run.video_eval
    directory = run.report_dir
    directory.mkdir(parents=True, exist_ok=True)
    protocol = f"leave-one-{data.group}-out"
    confusion_png(
        evaluation.scores, directory / "confusion.png", f"{recipe.feature_set}, {protocol}"
    )
    if seed_eval is not None:
        confusion_png(seed_eval.scores, directory / "confusion_seed.png", f"seed, {protocol}")
    if video_eval is not None:
        confusion_png(
            video_eval.scores,
            directory / "confusion_test_data.png",
            f"{recipe.feature_set}, --test-data",
        )
    if run.clusters:
        dendrogram_png(run.sample[0], list(run.sample[1]), directory / "dendrogram.png")
    pca_png(*run.sample, directory / "pca.png")

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
        scores_table(run.rows),
        "",
        "Majority class: the training fold's largest class, predicted for every test window. "
        "Chance: random guesses with the test windows' class frequencies.",
        "",
        *_held_out_lines(evaluation, data.group),
        f"### Per class ({recipe.feature_set})",
        "",
        per_class_table(evaluation.scores),
        "",
        confusion_table(evaluation.scores),
        "",
        "![confusion](confusion.png)",
        "",
    ]
    if seed_eval is not None:
        md += [
            "### Per class (seed, the study's features)",
            "",
            per_class_table(seed_eval.scores),
            "",
            "![confusion seed](confusion_seed.png)",
            "",
        ]
    if video_eval is not None:
        md += [
            f"## --test-data (the video path), same leave-one-{data.group}-out folds",
            "",
            scores_table(
                [
                    (recipe.feature_set, video_eval.scores),
                    ("majority class", video_eval.majority),
                    ("chance", video_eval.chance),
                ]
            ),
            "",
            per_class_table(video_eval.scores),
            "",
            *_held_out_lines(video_eval, data.group),
        ]
        if video_eval.per_view:
            md += [per_view_table(video_eval.per_view), ""]
        md += ["![confusion test data](confusion_test_data.png)", ""]
    if run.second_eval is not None and run.second_group is not None:
        g = run.second_group
        md += [f"## Leave-one-{g}-out (beside the headline: a whole {g} never seen)", ""]
        md += [scores_table([(recipe.feature_set, run.second_eval.scores)]), ""]
        md += _held_out_lines(run.second_eval, g)
        if run.second_video is not None:
            md += [f"On --test-data (the video path), leave-one-{g}-out:", ""]
            md += [scores_table([(recipe.feature_set, run.second_video.scores)]), ""]
            md += _held_out_lines(run.second_video, g)
    if run.study:
        md += [
            "## The study's protocol (repeated stratified splits over windows; groups ignored, "
            "so overlapping windows of one clip leak into the test set "
            "and the figures are optimistic)",
            "",
            study_table(run.study),
            "",
        ]
    if run.clusters:
        md += [
            f"## Clustering (agglomerative, standardised '{recipe.feature_set}' features, "
            f"{results['clustering']['windows']} windows stratified by label)",
            "",
            cluster_table(run.clusters),
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
    if run.license_note:
        md += ["## Licence", "", run.license_note, ""]
    write_text_atomic(directory / "report.md", "\n".join(md))
    write_text_atomic(directory / "results.json", json.dumps(results, indent=2, default=str) + "\n")


def _held_out_lines(ev: Evaluation, group: str) -> list[str]:
    """Per held-out group table, prediction shares and the one-label groups, as Markdown."""
    lines = [predicted_shares(ev.scores), ""]
    if ev.unfamiliar and any(ev.unfamiliar.values()):
        shares = ", ".join(f"{g} {v:.2f}" for g, v in ev.unfamiliar.items())
        lines += [
            f"Share of windows the fold's model finds unlike every movement it knows (shown "
            f'"uncertain" live), per held-out {group}: {shares}.',
            "",
        ]
    if ev.familiar_scores is not None and ev.unfamiliar_scores is not None:
        lines += [
            f"Balanced accuracy of the windows the check lets through: "
            f"{ev.familiar_scores.balanced_accuracy:.3f} ({ev.familiar_scores.n} windows); "
            f"of those it flags: {ev.unfamiliar_scores.balanced_accuracy:.3f} "
            f"({ev.unfamiliar_scores.n} windows).",
            "",
        ]
    if ev.per_dataset:
        parts = ", ".join(f"{d} {sc.balanced_accuracy:.3f}" for d, sc in ev.per_dataset.items())
        lines += [f"Per dataset (balanced accuracy): {parts}.", ""]
    if ev.per_group:
        lines = [per_group_table(ev.per_group, group), "", *lines]
    if ev.per_group and ev.single_label:
        lines += [
            "Held out too, but not in the pooled figure (one label only, so no balanced accuracy):",
            "",
            *single_label_lines(ev.single_label, group),
            "",
        ]
    return lines
