"""The novelty distance: exact k-nearest mean distances, and the projection's cached norms
change nothing but the speed (and never reach the model file)."""

from __future__ import annotations

import pickle

import numpy as np

from pipeline.novelty import knn_distance, squared_norms
from pipeline.projection import ContentProjection


def _brute(reference: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    d = np.linalg.norm(query[:, None, :].astype(np.float64) - reference[None], axis=2)
    return np.sort(d, axis=1)[:, :k].mean(axis=1)


def test_knn_distance_is_the_mean_of_the_k_nearest() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(200, 7)).astype(np.float32)
    query = rng.normal(size=(5, 7)).astype(np.float32)
    expected = _brute(reference, query, 3)
    np.testing.assert_allclose(knn_distance(reference, query, 3), expected, rtol=1e-4)
    with_norms = knn_distance(reference, query, 3, squared_norms(reference))
    np.testing.assert_array_equal(with_norms, knn_distance(reference, query, 3))
    # k larger than the reference: the mean over all of it
    np.testing.assert_allclose(
        knn_distance(reference[:2], query, 5), _brute(reference[:2], query, 2), rtol=1e-4
    )


def test_projection_caches_norms_but_does_not_save_them() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 6))
    projection = ContentProjection(1).fit(x, contents=np.repeat(["a", "b", "c"], 100))
    projection.novelty_reference_ = projection.transform(x).astype(np.float32)
    projection.novelty_k_ = 4
    first = projection.novelty(x[:10])
    assert first is not None
    assert "_reference_sq" in projection.__dict__  # kept for the next window
    np.testing.assert_array_equal(projection.novelty(x[:10]), first)
    assert "_reference_sq" not in projection.__getstate__()
    loaded = pickle.loads(pickle.dumps(projection))
    np.testing.assert_array_equal(loaded.novelty(x[:10]), first)
    # a replaced reference is not scored against the old norms
    projection.novelty_reference_ = projection.novelty_reference_[:50].copy()
    expected = knn_distance(projection.novelty_reference_, projection.transform(x[:10]), 4)
    np.testing.assert_array_equal(projection.novelty(x[:10]), expected)
