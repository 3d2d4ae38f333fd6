"""Training reports: Markdown tables and figures (confusion matrix, dendrogram, PCA)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from offline.training.evaluation import Scores
from pipeline.io import atomic_path


def _pyplot() -> Any:
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


def dendrogram_png(x: npt.NDArray[np.floating], labels: Sequence[str], path: Path) -> None:
    """Ward dendrogram of the (sub-sampled, standardised) windows, truncated to 40 leaves."""
    from scipy.cluster.hierarchy import dendrogram, linkage

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    dendrogram(linkage(x, method="ward"), truncate_mode="lastp", p=40, ax=ax,
               leaf_rotation=90, no_labels=False)  # fmt: skip
    ax.set_title(f"Ward linkage of {len(x)} windows ({', '.join(sorted(set(labels)))})", fontsize=9)
    ax.set_ylabel("distance")
    _save(fig, path)


def pca_png(x: npt.NDArray[np.floating], labels: npt.NDArray[Any], path: Path) -> None:
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


def fmt(value: float) -> str:
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
