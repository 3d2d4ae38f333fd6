"""FlatForest must give exactly the probabilities of the scikit-learn forest it flattens."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

from offline.training.classifiers import fit_classifier, make_classifier
from pipeline.forest import FlatForest
from pipeline.models import EmotionModel
from pipeline.window import WindowSpec


def _data(n: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    x = rng.normal(size=(n, 12)) + y[:, None] * 0.4
    return x.astype(np.float32), np.array(["abcdefg"[k] for k in y])


@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize(
    "forest",
    [
        RandomForestClassifier(n_estimators=40, random_state=0),
        ExtraTreesClassifier(
            n_estimators=40, min_samples_leaf=3, max_features="sqrt", random_state=1
        ),
        RandomForestClassifier(n_estimators=5, max_depth=3, random_state=2),
    ],
)
def test_flat_forest_equals_sklearn(forest, n_classes: int) -> None:
    x, y = _data(400, n_classes, seed=n_classes)
    weights = np.random.default_rng(0).random(len(y))  # uneven leaf values
    forest.fit(x, y, sample_weight=weights)
    flat = FlatForest.from_estimator(forest)
    x_test, _ = _data(300, n_classes, seed=99)
    np.testing.assert_allclose(flat.predict_proba(x_test), forest.predict_proba(x_test), atol=1e-12)
    np.testing.assert_array_equal(flat.classes, forest.classes_)
    # a single sample, and values exactly on thresholds (ties go left, as in scikit-learn)
    on_threshold = x_test[:1].copy()
    tree = forest.estimators_[0].tree_
    on_threshold[0, tree.feature[0]] = np.float32(tree.threshold[0])
    np.testing.assert_allclose(
        flat.predict_proba(on_threshold), forest.predict_proba(on_threshold), atol=1e-12
    )


@pytest.mark.parametrize("name", ["et", "rf"])
def test_emotion_model_uses_the_flat_forest(name: str) -> None:
    x, y = _data(300, 4, seed=5)
    pipeline = fit_classifier(make_classifier(name, "smote"), x, y, "smote")
    model = EmotionModel(pipeline, ("d", "c", "b", "a"), "motion", WindowSpec(), x.shape[1])
    assert model._fast is not None
    x_test, _ = _data(50, 4, seed=6)
    expected = pipeline.predict_proba(x_test)[:, ::-1]  # classes_ are a, b, c, d
    np.testing.assert_allclose(model.predict_proba(x_test), expected, atol=1e-12)
    np.testing.assert_allclose(model.predict_proba(x_test.astype(np.float64)), expected, atol=1e-12)
