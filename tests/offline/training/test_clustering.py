"""Tests for pipeline/clustering.py: stratified sub-sampling and the clustering scores."""

from __future__ import annotations

import numpy as np
import pytest

from offline.training.clustering import LINKAGES, cluster_scores, subsample


def blobs(n_per: int, centres: np.ndarray, spread: float = 0.1, seed: int = 0):
    """(n_per * C, D) points around each centre and their (C,) blob labels."""
    rng = np.random.default_rng(seed)
    x = np.concatenate(
        [c + spread * rng.standard_normal((n_per, centres.shape[1])) for c in centres]
    )
    labels = np.repeat(np.array([f"L{k}" for k in range(len(centres))]), n_per)
    return x, labels


# --- subsample ----------------------------------------------------------------------------


def test_small_data_is_kept_whole() -> None:
    labels = np.array(["a", "b", "a"])
    np.testing.assert_array_equal(subsample(3, labels, 3), [0, 1, 2])
    np.testing.assert_array_equal(subsample(3, labels, 100), [0, 1, 2])


@pytest.mark.parametrize(
    ("counts", "max_samples"),
    [
        ((1, 3, 3), 4),  # rounding each label up would keep 5
        ((250, 250, 250, 250), 10),
        ((1, 1, 8), 2),  # fewer samples than labels
        ((1, 1, 1, 1, 1, 95), 5),
        ((600, 300, 100), 500),
        ((7, 5, 3, 2, 1), 9),
    ],
)
def test_subsample_is_bounded_and_stratified(counts: tuple[int, ...], max_samples: int) -> None:
    labels = np.repeat(np.array([f"c{k}" for k in range(len(counts))]), counts)
    labels = np.random.default_rng(1).permutation(labels)
    keep = subsample(labels.size, labels, max_samples, seed=2)
    assert len(keep) == max_samples  # never more (and here exactly as many)
    assert len(np.unique(keep)) == len(keep) and (np.diff(keep) > 0).all()
    assert 0 <= keep.min() and keep.max() < labels.size
    kept = {c: int((labels[keep] == c).sum()) for c in np.unique(labels)}
    for k, c in enumerate(counts):
        share = max_samples * c / labels.size
        if max_samples >= len(counts):
            assert kept[f"c{k}"] >= 1  # every label represented
            assert abs(kept[f"c{k}"] - share) <= 1 + (share < 1), (kept, share)
        else:
            assert kept[f"c{k}"] <= np.ceil(share)


def test_subsample_is_seeded() -> None:
    labels = np.repeat(np.array(["a", "b", "c"]), [400, 300, 300])
    a = subsample(1000, labels, 100, seed=5)
    np.testing.assert_array_equal(a, subsample(1000, labels, 100, seed=5))
    assert not np.array_equal(a, subsample(1000, labels, 100, seed=6))
    assert [int((labels[a] == c).sum()) for c in "abc"] == [40, 30, 30]


def test_subsample_needs_a_positive_size() -> None:
    with pytest.raises(ValueError, match=r"`max_samples` must be >= 1, got 0"):
        subsample(10, np.array(["a"] * 10), 0)


# --- cluster_scores -------------------------------------------------------------------------


def test_three_separated_blobs_are_found() -> None:
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x, labels = blobs(12, centres)
    rows = cluster_scores(x, labels)
    assert [(r["linkage"], r["clusters"]) for r in rows] == [
        (link, k) for link in LINKAGES for k in (7, 5, 3)
    ]
    for r in rows:
        assert -1.0 <= r["silhouette"] <= 1.0
        assert r["davies_bouldin"] >= 0.0
        assert -1.0 <= r["adjusted_rand"] <= 1.0
    for r in (r for r in rows if r["clusters"] == 3):
        assert r["adjusted_rand"] == pytest.approx(1.0)  # the blobs are the labels
        assert r["silhouette"] > 0.9 and r["davies_bouldin"] < 0.1
    # splitting blobs apart lowers the silhouette and the agreement with the labels
    ward = {r["clusters"]: r for r in rows if r["linkage"] == "ward"}
    assert ward[7]["silhouette"] < ward[3]["silhouette"]
    assert ward[7]["adjusted_rand"] < ward[3]["adjusted_rand"]


def test_unrelated_labels_give_an_adjusted_rand_near_zero() -> None:
    x, _ = blobs(30, np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]))
    shuffled = np.random.default_rng(0).choice(["a", "b", "c"], size=len(x))
    rows = cluster_scores(x, shuffled, linkages=("ward",), counts=(3,))
    assert abs(rows[0]["adjusted_rand"]) < 0.1


@pytest.mark.parametrize(
    ("n", "expected"),
    [(8, [7, 5, 3]), (6, [5, 3]), (4, [3]), (3, []), (2, []), (1, [])],
)
def test_cluster_counts_the_data_cannot_allow_are_skipped(n: int, expected: list[int]) -> None:
    x = np.random.default_rng(0).standard_normal((n, 3))
    labels = np.array(["a", "b"] * n)[:n]
    rows = cluster_scores(x, labels, linkages=("average",))
    assert [r["clusters"] for r in rows] == expected
    for r in rows:
        assert np.isfinite(r["silhouette"]) and -1 <= r["silhouette"] <= 1


def test_one_requested_count_below_two_is_skipped() -> None:
    x, labels = blobs(5, np.array([[0.0], [5.0]]))
    assert [r["clusters"] for r in cluster_scores(x, labels, ("ward",), (1, 2))] == [2]
