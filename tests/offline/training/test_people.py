"""Tests for people as the unit of evaluation: person groups in folds, the pooled
leave-one-person-out figure, person weights, the default protocol, and a novelty check
calibrated on people held out."""

from __future__ import annotations

import numpy as np
import pytest

from offline.datasets.movement import Movement
from offline.training.classifiers import attach_novelty, balanced_weights, make_classifier
from offline.training.evaluation import same_group
from offline.training.recipe import people_can_be_held_out
from offline.training.scores import evaluation_of
from pipeline.projection import ContentProjection
from tests.offline.training.test_evaluation import table_of


def test_same_group_matches_people_recorded_together_across_datasets() -> None:
    ids = np.array(["18", "19", "18+19", "180", "7", "7+18"])
    assert same_group(ids, "18+19").tolist() == [True, True, True, False, False, True]
    assert same_group(ids, "18").tolist() == [True, False, True, False, False, True]
    assert same_group(ids, "7").tolist() == [False, False, False, False, True, True]
    assert same_group(np.array([], str), "7").tolist() == []


def test_people_are_pooled_whatever_they_acted_and_scored_on_their_own_classes() -> None:
    y = np.array(["A", "A", "B", "B", "A", "A"])
    pred = np.array(["A", "B", "B", "B", "A", "B"])
    persons = np.array(["p1", "p1", "p1", "p1", "p2", "p2"])  # p2 acted A only
    table = table_of(np.zeros((6, 2)), y, {"person": persons})
    ev = evaluation_of(table, pred, pred, ("A", "B"), "person")
    assert ev.scores.n == 6  # p2 is in the pooled figure
    assert ev.scores.balanced_accuracy == pytest.approx((2 / 4 + 2 / 2) / 2)
    assert ev.per_group["p1"].balanced_accuracy == pytest.approx((1 / 2 + 1) / 2)
    assert ev.per_group["p2"].balanced_accuracy == pytest.approx(1 / 2)  # its one class
    assert not ev.single_label
    # an action seen with one label only is still set apart (no balanced accuracy)
    ev = evaluation_of(
        table_of(np.zeros((6, 2)), y, {"content": persons}), pred, pred, ("A", "B"), "content"
    )
    assert ev.scores.n == 4 and set(ev.single_label) == {"p2"}


def test_person_weights_make_people_equal_within_a_class() -> None:
    y = np.array(["A"] * 4 + ["B"] * 2)
    persons = np.array(["p1", "p1", "p1", "p2", "p1", "p2"])
    w = balanced_weights(y, np.arange(6), persons)
    assert w[:3].sum() == pytest.approx(w[3])  # p1's three windows weigh as p2's one
    assert w[:4].sum() == pytest.approx(w[4:].sum())  # classes equal


def _movement(label: str, person: str) -> Movement:
    t = np.arange(3) / 30.0
    return Movement(
        np.zeros((3, 13, 3), np.float32), np.zeros((3, 13, 2), np.float32),
        np.ones((3, 13), np.float32), t, label, {"person": person},
    )  # fmt: skip


def test_people_are_held_out_only_when_every_class_has_two_people() -> None:
    both = [_movement("A", "p1"), _movement("B", "p1"), _movement("A", "p2"), _movement("B", "p3")]
    assert people_can_be_held_out(both)
    assert not people_can_be_held_out([*both[:3], _movement("B", "p1")])  # B by p1 only
    nameless = Movement(**{**both[0].__dict__, "groups": {}})
    assert not people_can_be_held_out([*both, nameless])


def test_novelty_is_calibrated_on_people_held_out_not_on_clips() -> None:
    """Every person sits at their own offset: a threshold from other clips of the same
    person flags a new person; one from other people does not, and still flags a window
    far from every person."""
    rng = np.random.default_rng(0)
    n_people, per = 12, 40
    centres = rng.normal(0, 3.0, (n_people, 4))
    x = np.concatenate([c + rng.normal(0, 0.3, (per, 4)) for c in centres]).astype(np.float32)
    persons = np.repeat([f"p{i}" for i in range(n_people)], per)
    clips = np.char.add(persons, np.tile(["a", "b"], n_people * per // 2))
    new_person = (rng.normal(0, 3.0, 4) + rng.normal(0, 0.3, (50, 4))).astype(np.float32)
    far = np.full((1, 4), 40.0, np.float32)

    def flagged(groups: np.ndarray, rows: np.ndarray) -> float:
        pipe = make_classifier("et", projection=1)
        step = pipe.steps[0][1]
        assert isinstance(step, ContentProjection)
        step.fit(x, contents=np.array(["c"] * len(x)))
        attach_novelty(pipe, x, groups)
        return float((step.novelty(rows) > step.novelty_threshold_).mean())

    by_clip, by_person = flagged(clips, new_person), flagged(persons, new_person)
    assert by_clip > 0.5 and by_person < 0.2
    assert flagged(persons, far) == 1.0


def test_ordinary_movement_of_other_people_is_familiar() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (200, 3)).astype(np.float32)
    persons = np.repeat(["a", "b", "c", "d"], 50)
    everyday = (rng.normal(0, 1, (100, 3)) + [8, 0, 0]).astype(np.float32)
    pipe = make_classifier("et", projection=1)
    step = pipe.steps[0][1]
    step.fit(np.concatenate([x, everyday]), contents=np.array(["c"] * 300))
    attach_novelty(pipe, x, persons)
    before = float((step.novelty(everyday) > step.novelty_threshold_).mean())
    attach_novelty(pipe, x, persons, (everyday, np.repeat(["e", "f"], 50)))
    after = float((step.novelty(everyday) > step.novelty_threshold_).mean())
    assert before > 0.9 and after < 0.1
