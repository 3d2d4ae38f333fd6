"""Tree ensembles as flat arrays, for one-window predictions inside the frame budget.

scikit-learn's forest `predict_proba` calls every tree from Python (about 45 µs per tree
for one sample here: 9 ms for 200 trees, far over the live loop's 2 ms). Stacking all
trees into padded (n_trees, n_nodes) arrays lets one numpy step advance every tree at
once, so a prediction costs about one step per tree level. The result equals the
estimator's own `predict_proba` (tests compare them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class FlatForest:
    """A fitted RandomForest/ExtraTrees classifier as arrays.

    Attributes:
        feature: (n_trees, n_nodes) feature index tested at each node (0 at leaves).
        threshold: (n_trees, n_nodes) go left when x[feature] <= threshold (+inf at leaves).
        left, right: (n_trees, n_nodes) child node indices (a leaf points to itself).
        proba: (n_trees, n_nodes, n_classes) class fractions at each node.
        depth: the deepest tree's depth (number of steps to reach every leaf).
        classes: the estimator's `classes_`.
    """

    feature: npt.NDArray[np.intp]
    threshold: npt.NDArray[np.float64]
    left: npt.NDArray[np.intp]
    right: npt.NDArray[np.intp]
    proba: npt.NDArray[np.float64]
    depth: int
    classes: npt.NDArray[Any]

    @classmethod
    def from_estimator(cls, forest: Any) -> FlatForest:
        """Flatten a fitted scikit-learn forest classifier (single output)."""
        trees = [est.tree_ for est in forest.estimators_]
        n_nodes = max(t.node_count for t in trees)
        n_classes = len(forest.classes_)
        shape = (len(trees), n_nodes)
        feature = np.zeros(shape, np.intp)
        threshold = np.full(shape, np.inf)
        nodes = np.arange(n_nodes)
        left = np.tile(nodes, (len(trees), 1))
        right = left.copy()
        proba = np.zeros((*shape, n_classes))
        for k, t in enumerate(trees):
            n = t.node_count
            inner = t.children_left[:n] >= 0
            feature[k, :n][inner] = t.feature[:n][inner]
            threshold[k, :n][inner] = t.threshold[:n][inner]
            left[k, :n][inner] = t.children_left[:n][inner]
            right[k, :n][inner] = t.children_right[:n][inner]
            value = t.value[:n, 0, :n_classes]
            proba[k, :n] = value / np.maximum(value.sum(axis=1, keepdims=True), 1e-300)
        depth = max(int(t.max_depth) for t in trees)
        return cls(feature, threshold, left, right, proba, depth, np.asarray(forest.classes_))

    def predict_proba(self, x: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float64]:
        """(N, n_features) -> (N, n_classes), the mean of the trees' leaf fractions."""
        # scikit-learn compares float32 features against float64 thresholds; do the same.
        x = np.asarray(x, np.float32)
        n_trees, n_nodes = self.feature.shape
        feature, threshold = self.feature.ravel(), self.threshold.ravel()
        left, right = self.left.ravel(), self.right.ravel()
        offset = np.arange(n_trees) * n_nodes  # flat index of each tree's root
        node = np.broadcast_to(offset, (x.shape[0], n_trees)).copy()  # (N, n_trees)
        sample = np.arange(x.shape[0])[:, None] * x.shape[1]
        flat_x = x.ravel()
        for _ in range(self.depth):
            go_left = flat_x[sample + feature[node]] <= threshold[node]
            node = np.where(go_left, left[node], right[node]) + offset
        mean: npt.NDArray[np.float64] = self.proba.reshape(n_trees * n_nodes, -1)[node].mean(axis=1)
        return mean
