"""How far a window is from every movement the model knows: the mean distance to its
nearest reference windows, in the model's own standardised (content-projected) space.

The reference holds training windows and ordinary movement of many other people. A
window past the threshold is unlike all of it (lying down, a frozen or jittering
skeleton, an action no one in the data did): the live app then says "uncertain" instead
of a label. The threshold is calibrated on people held out: a quantile of the same
distance from windows of one person to the reference windows of everyone else
(`offline.training.classifiers.attach_novelty`), so a new person moving ordinarily is
familiar, and what is far from every person is not. The reference windows and the
threshold are kept on the model's `ContentProjection`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pipeline.types import Float64Arr, FloatArr


def squared_norms(reference: FloatArr) -> FloatArr:
    """(M,) |r|^2 of each reference row: computed once per model, not per window (it is
    most of a one-window query's cost)."""
    out: FloatArr = np.add.reduce(reference * reference, axis=1)
    return out


def knn_distance(
    reference: FloatArr,
    query: npt.NDArray[np.floating],  # type: ignore[type-arg]
    k: int,
    reference_sq: FloatArr | None = None,
) -> Float64Arr:
    """(N,) mean Euclidean distance from each query row to its k nearest reference rows,
    by |q|^2 - 2 q.r + |r|^2 (one matrix product; no Python loop over rows).
    `reference_sq`: `squared_norms(reference)`, when the caller keeps it."""
    q = np.asarray(query, np.float32)
    r2 = squared_norms(reference) if reference_sq is None else reference_sq
    d2 = np.add.reduce(q * q, axis=1)[:, None] - 2.0 * (q @ reference.T) + r2[None, :]
    k = min(k, reference.shape[0])
    nearest = np.partition(np.maximum(d2, 0.0), k - 1, axis=1)[:, :k]
    out: Float64Arr = np.sqrt(nearest.astype(np.float64)).mean(axis=1)
    return out
