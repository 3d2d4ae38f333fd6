"""Classifier pipelines and how they are fitted: projection or scaling -> (resampling) ->
classifier, with sample weights that keep any class, action or clip from dominating.

Only training builds models; the live app loads fitted ones (`pipeline.models`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from pipeline.projection import ContentProjection


def _svm(seed: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    # Platt-scaled probabilities (what SVC(probability=True) did before scikit-learn 1.9).
    svc = SVC(C=3.0, gamma="scale", random_state=seed)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=3, ensemble=False)


def _rf(seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=300, min_samples_leaf=5, max_features="sqrt", random_state=seed, n_jobs=1
    )


def _et(seed: int) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier

    # Extremely randomised trees, every feature tried at each split (max_features=1.0),
    # leaves of >= 2 % of the training windows: low capacity read held-out people best
    # (leave-one-person-out 0.48 with leaves of 1.3-2.6 %, 0.44 with 0.3 %; README
    # "Directions measured"). A fraction: the capacity does not change with the data's size.
    return ExtraTreesClassifier(
        n_estimators=200, min_samples_leaf=0.02, max_features=1.0, random_state=seed, n_jobs=1
    )


def _mlp(seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=(64,), alpha=1.0, max_iter=2000, random_state=seed)


MODEL_FACTORIES: Final[dict[str, Callable[[int], Any]]] = {
    "svm": _svm,
    "rf": _rf,
    "et": _et,
    "mlp": _mlp,
}
# "content": classes equal, actions (contents) equal within a class, clips equal within an
# action; "person": classes equal, people equal within a class, clips equal within a
# person; "weights": classes equal, clips equal within a class.
BALANCING: Final[tuple[str, ...]] = (
    "none", "weights", "content", "person", "smote", "undersample",
)  # fmt: skip


def make_classifier(name: str, balance: str = "content", seed: int = 0, projection: int = 0) -> Any:
    """A fresh pipeline: scaling (or the content projection) -> (resampling) -> classifier.

    Args:
        name: one of `MODEL_FACTORIES` ("svm", "rf", "et", "mlp").
        balance: one of `BALANCING`; "smote" / "undersample" resample when fitting only.
        seed: random seed.
        projection: content directions removed (`ContentProjection`); 0 scales only.
    """
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import Pipeline
    from imblearn.under_sampling import RandomUnderSampler
    from sklearn.preprocessing import StandardScaler

    if name not in MODEL_FACTORIES:
        raise ValueError(f"`model` must be one of {sorted(MODEL_FACTORIES)}, got {name!r}")
    if balance not in BALANCING:
        raise ValueError(f"`balance` must be one of {list(BALANCING)}, got {balance!r}")
    if projection < 0:
        raise ValueError(f"`projection` must be >= 0 directions, got {projection}")
    first = ContentProjection(projection) if projection else StandardScaler()
    steps: list[tuple[str, Any]] = [("project" if projection else "scale", first)]
    if balance == "smote":
        steps.append(("balance", SMOTE(random_state=seed)))
    elif balance == "undersample":
        steps.append(("balance", RandomUnderSampler(random_state=seed)))
    steps.append(("clf", MODEL_FACTORIES[name](seed)))
    return Pipeline(steps)


def balanced_weights(
    labels: npt.NDArray[Any],
    clips: npt.NDArray[Any] | None = None,
    contents: npt.NDArray[Any] | None = None,
) -> npt.NDArray[np.float64]:
    """Sample weights giving every class the same total weight (mean weight 1).

    With `clips` (one id per sample), every clip also weighs the same within its class (or
    within its content); with `contents`, every (class, content) cell weighs the same within
    its class, so no action dominates a class.
    """
    labels = np.asarray(labels).astype(str)
    if clips is None:
        clips = np.arange(labels.size)
    cells = labels
    if contents is not None:
        cells = np.char.add(np.char.add(labels, "|"), np.asarray(contents).astype(str))
    _, clip_index, clip_count = np.unique(clips, return_inverse=True, return_counts=True)
    w = 1.0 / clip_count[clip_index]
    _, cell_index = np.unique(cells, return_inverse=True)
    w /= np.bincount(cell_index, weights=w)[cell_index]
    _, label_index = np.unique(labels, return_inverse=True)
    w /= np.bincount(label_index, weights=w)[label_index]
    weights: npt.NDArray[np.float64] = w * labels.size / w.sum()
    return weights


def fit_classifier(
    pipeline: Any,
    x: npt.NDArray[np.float32],
    y: npt.NDArray[Any],
    balance: str = "content",
    clips: npt.NDArray[Any] | None = None,
    contents: npt.NDArray[Any] | None = None,
    projection_rows: tuple[npt.NDArray[np.float32], npt.NDArray[Any]] | None = None,
    persons: npt.NDArray[Any] | None = None,
    ordinary: tuple[npt.NDArray[np.float32], npt.NDArray[Any]] | None = None,
) -> Any:
    """Fit a `make_classifier` pipeline on (x, y).

    Args:
        balance: "weights" / "content" / "person" fit with `balanced_weights` as sample
            weights (classes equal; then contents, or people, equal within a class).
        clips, contents: one clip id and one content id per row (for the weights and the
            projection).
        projection_rows: (features, content ids) of further windows the content projection
            is fitted on besides `x` (other styles, other datasets without emotion labels);
            the classifier never sees them.
        persons: who performed each row (the person weights; the novelty threshold is
            calibrated on people held out from the reference). None: each clip.
        ordinary: (features, person ids) of unlabelled movement by other people (everyday
            actions, other styles) that the novelty check counts as familiar.
    """
    steps = getattr(pipeline, "steps", [])
    first = steps[0][1] if steps else None
    if isinstance(first, ContentProjection):
        px, pc = x, contents
        if projection_rows is not None and len(projection_rows[0]) and contents is not None:
            px = np.concatenate([x, projection_rows[0]])
            pc = np.concatenate([np.asarray(contents), projection_rows[1]])
        first.fit(px, contents=pc)
        rest, x_in = pipeline[1:], np.asarray(first.transform(x))
    else:
        rest, x_in = pipeline, np.asarray(x)
    if balance == "weights":
        rest.fit(x_in, y, clf__sample_weight=balanced_weights(y, clips))
    elif balance == "content":
        rest.fit(x_in, y, clf__sample_weight=balanced_weights(y, clips, contents))
    elif balance == "person":
        cells = persons if persons is not None else contents
        rest.fit(x_in, y, clf__sample_weight=balanced_weights(y, clips, cells))
    else:
        rest.fit(x_in, y)
    if clips is not None:
        attach_novelty(pipeline, x, persons if persons is not None else clips, ordinary)
    return pipeline


NOVELTY_K: Final[int] = 5
NOVELTY_QUANTILE: Final[float] = 0.99
_NOVELTY_REFERENCE: Final[int] = 4000  # windows kept on the model (about 2 MB)
_NOVELTY_PROBES: Final[int] = 600


def attach_novelty(
    pipeline: Any,
    x: npt.NDArray[np.float32],
    persons: npt.NDArray[Any],
    ordinary: tuple[npt.NDArray[np.float32], npt.NDArray[Any]] | None = None,
    seed: int = 0,
) -> None:
    """Keep reference windows on the model's content projection, with a threshold past
    which a window is unlike every movement the model knows.

    The reference is (up to 4000 of) the training windows plus `ordinary` movement of
    other people (everyday actions and other styles, no emotion labels), so what is
    familiar is how people move, not only how the training performers did. The threshold
    is calibrated on *people held out*: the 99th percentile of the distance from a window
    to its 5 nearest reference windows of *other* people. A new person moving ordinarily
    is then as familiar as a training performer was to the others; a pose, a stillness
    or a jitter no person showed is not. No-op without a `ContentProjection`."""
    steps = getattr(pipeline, "steps", [])
    first = steps[0][1] if steps else None
    if not isinstance(first, ContentProjection) or len(x) <= NOVELTY_K:
        return
    from pipeline.novelty import knn_distance

    rows, owners = np.asarray(x), np.asarray(persons).astype(str)
    if ordinary is not None and len(ordinary[0]):
        rows = np.concatenate([rows, ordinary[0]])
        owners = np.concatenate([owners, np.asarray(ordinary[1]).astype(str)])
    rng = np.random.default_rng(seed)
    keep = rng.permutation(len(rows))[:_NOVELTY_REFERENCE]
    reference = first.transform(rows[keep]).astype(np.float32)
    ref_owner = owners[keep]
    distances = []
    for i in keep[:_NOVELTY_PROBES]:  # a probe against the reference windows of other people
        others = reference[ref_owner != owners[i]]
        if len(others) >= NOVELTY_K:
            z = first.transform(rows[i : i + 1])
            distances.append(float(knn_distance(others, z, NOVELTY_K)[0]))
    if not distances:
        return
    first.novelty_reference_ = reference
    first.novelty_k_ = NOVELTY_K
    first.novelty_threshold_ = float(np.quantile(distances, NOVELTY_QUANTILE))
