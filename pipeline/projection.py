"""The content projection: standardised features with the directions along which *actions*
differ removed, so that a classifier trained on it reads how a movement is done rather
than which movement it is.

Fitted once in training on windows of many actions in many styles (emotions and other
styles, e.g. proud, tired, elderly): the mean feature vector of each action (content),
taken over all its styles, varies mostly along a few directions; those are what an
action looks like, and the `n_components` strongest of them are projected out
("nuisance attribute projection"). Live, it is one fixed linear map, part of the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline.novelty import knn_distance, squared_norms
from pipeline.types import Float64Arr


class ContentProjection(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Standardise, then remove the top `n_components` directions of the content means.

    `fit(x, contents=ids)` takes one content id per row (e.g. "walk", "wave-left-hand");
    without ids (or with `n_components=0`) it only standardises, like `StandardScaler`.

    Attributes (after fitting):
        mean_, scale_: (F,) standardisation, in the features' own units.
        components_: (k, F) removed unit directions, in standardised units.
        projection_: (F, F) identity minus the removed directions' outer products.
        novelty_reference_, novelty_k_, novelty_threshold_: training windows in the
            projected space, neighbours averaged and the distance past which a window is
            unfamiliar (`pipeline.novelty`); set by training, absent on older models.
    """

    def __init__(self, n_components: int = 2) -> None:
        self.n_components = n_components

    def fit(
        self, x: npt.ArrayLike, y: Any = None, *, contents: npt.ArrayLike | None = None
    ) -> ContentProjection:
        data = np.asarray(x, np.float64)
        self.mean_ = data.mean(axis=0)
        scale = data.std(axis=0)
        self.scale_ = np.where(scale < 1e-12, 1.0, scale)
        n_features = data.shape[1]
        self.components_ = np.zeros((0, n_features))
        if contents is not None and self.n_components > 0:
            ids = np.asarray(contents)
            if ids.shape[0] != data.shape[0]:
                raise ValueError(f"{ids.shape[0]} content ids for {data.shape[0]} rows")
            z = (data - self.mean_) / self.scale_
            keys = np.unique(ids)
            means = np.stack([z[ids == k].mean(axis=0) for k in keys])
            means -= means.mean(axis=0)
            _, _, vt = np.linalg.svd(means, full_matrices=False)
            self.components_ = vt[: min(self.n_components, len(keys) - 1)]
        self.projection_ = np.eye(n_features) - self.components_.T @ self.components_
        self.n_features_in_ = n_features
        return self

    def transform(self, x: npt.ArrayLike) -> Float64Arr:
        """(N, F) features -> (N, F) standardised, content directions removed."""
        z = (np.asarray(x, np.float64) - self.mean_) / self.scale_
        out: Float64Arr = z @ self.projection_
        return out

    def novelty(self, x: npt.ArrayLike) -> Float64Arr | None:
        """(N,) distance of each window to its nearest training windows (None if the model
        has no reference windows)."""
        reference = getattr(self, "novelty_reference_", None)
        if reference is None:
            return None
        cached = self.__dict__.get("_reference_sq")
        if cached is None or cached[0] is not reference:
            cached = self.__dict__["_reference_sq"] = (reference, squared_norms(reference))
        return knn_distance(reference, self.transform(x), int(self.novelty_k_), cached[1])

    def __getstate__(self) -> dict[str, Any]:
        """The fitted state without the cached norms (they are recomputed on first use)."""
        state: dict[str, Any] = super().__getstate__()
        state = dict(state)
        state.pop("_reference_sq", None)
        return state
