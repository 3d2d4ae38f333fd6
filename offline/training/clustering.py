"""The study's clustering analysis: agglomerative clustering of window feature vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

LINKAGES = ("ward", "average", "complete")
CLUSTER_COUNTS = (7, 5, 3)


def subsample(
    n: int, labels: npt.NDArray[Any], max_samples: int, seed: int = 0
) -> npt.NDArray[np.intp]:
    """Row indices of at most `max_samples` rows, stratified by label (agglomerative
    clustering needs O(n^2) memory). Every label keeps at least one row when
    `max_samples` allows it; the rest are shared in proportion to the label counts."""
    if max_samples < 1:
        raise ValueError(f"`max_samples` must be >= 1, got {max_samples}")
    if n <= max_samples:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    values, counts = np.unique(labels, return_counts=True)
    if max_samples >= values.size:
        quota = 1 + _allocate(counts - 1, max_samples - values.size)
    else:
        quota = _allocate(counts, max_samples)
    keep = [
        rng.choice(np.flatnonzero(labels == lab), size=k, replace=False)
        for lab, k in zip(values, quota, strict=True)
    ]
    return np.sort(np.concatenate(keep))


def _allocate(counts: npt.NDArray[np.intp], total: int) -> npt.NDArray[np.intp]:
    """Split `total` (<= counts.sum()) in proportion to `counts` (largest remainders)."""
    if total <= 0:
        return np.zeros_like(counts)
    exact = total * counts / counts.sum()
    quota = np.floor(exact).astype(np.intp)
    order = np.argsort(quota - exact, kind="stable")  # largest remainder first
    quota[order[: total - int(quota.sum())]] += 1
    return np.asarray(quota, np.int64)


def cluster_scores(
    x: npt.NDArray[np.floating[Any]],
    labels: npt.NDArray[Any],
    linkages: Sequence[str] = LINKAGES,
    counts: Sequence[int] = CLUSTER_COUNTS,
) -> list[dict[str, Any]]:
    """Silhouette, Davies-Bouldin and adjusted Rand index (against `labels`) for each
    linkage and cluster count that the data allow (2 <= k < number of windows).

    `x` should already be standardised (as the classifiers see it).
    """
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, silhouette_score

    rows = []
    for linkage in linkages:
        for k in counts:
            if not 2 <= k < len(x):
                continue
            assigned = AgglomerativeClustering(n_clusters=k, linkage=linkage).fit_predict(x)
            found = len(np.unique(assigned))
            rows.append(
                {
                    "linkage": linkage,
                    "clusters": k,
                    "silhouette": float(silhouette_score(x, assigned))
                    if found > 1
                    else float("nan"),
                    "davies_bouldin": float(davies_bouldin_score(x, assigned))
                    if found > 1
                    else float("nan"),
                    "adjusted_rand": float(adjusted_rand_score(labels, assigned)),
                }
            )
    return rows
