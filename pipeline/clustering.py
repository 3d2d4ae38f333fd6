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
    clustering needs O(n^2) memory)."""
    if n <= max_samples:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    keep = []
    for lab in np.unique(labels):
        rows = np.flatnonzero(labels == lab)
        k = max(1, round(max_samples * rows.size / n))
        keep.append(rng.choice(rows, size=min(k, rows.size), replace=False))
    return np.sort(np.concatenate(keep))


def cluster_scores(
    x: npt.NDArray[np.floating],
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
                    "silhouette": float(silhouette_score(x, assigned)) if found > 1 else float("nan"),
                    "davies_bouldin": float(davies_bouldin_score(x, assigned)) if found > 1 else float("nan"),
                    "adjusted_rand": float(adjusted_rand_score(labels, assigned)),
                }
            )
    return rows
