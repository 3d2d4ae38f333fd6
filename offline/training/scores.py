"""Scores of predictions: metrics (`Scores`, `score`, `chance_scores`) and one held-out
evaluation with its baselines and breakdowns per view, source and held-out group."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from offline.training.evaluation import WindowTable

StrArr = npt.NDArray[np.str_]
# People are pooled whatever they acted (a person's figure is over the classes that person
# acted); other held-out groups with one label only (an action recorded only as Neutral)
# have no balanced accuracy and are reported apart.
PERSON = "person"


@dataclass(frozen=True)
class Scores:
    """Classification metrics of one set of predictions."""

    labels: tuple[str, ...]
    accuracy: float
    balanced_accuracy: float
    macro_f1: float
    weighted_f1: float
    precision: dict[str, float]
    recall: dict[str, float]
    confusion: list[list[int]]  # rows: true label, columns: predicted, in `labels` order
    n: int
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "n_windows": self.n,
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "macro_f1": self.macro_f1,
            "weighted_f1": self.weighted_f1,
            "precision": self.precision,
            "recall": self.recall,
            "confusion": self.confusion,
            **self.extra,
        }


def score(y_true: StrArr, y_pred: StrArr, labels: Iterable[str] | None = None) -> Scores:
    """Accuracy, balanced accuracy, macro/weighted F1, per-class precision and recall."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_score,
        recall_score,
    )

    labels = tuple(labels) if labels is not None else tuple(sorted(set(y_true)))
    present = [lab for lab in labels if (y_true == lab).any()]
    kw: dict[str, Any] = {"labels": present, "zero_division": 0}
    return Scores(
        labels=labels,
        accuracy=float(accuracy_score(y_true, y_pred)),
        # = balanced_accuracy_score (mean recall over the true classes), without its
        # warnings for one-class test sets or predicted classes absent from the truth
        balanced_accuracy=float(
            recall_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0)
        ),
        macro_f1=float(f1_score(y_true, y_pred, average="macro", **kw)),
        weighted_f1=float(f1_score(y_true, y_pred, average="weighted", **kw)),
        precision=dict(
            zip(
                present,
                map(float, precision_score(y_true, y_pred, average=None, **kw)),
                strict=True,
            )
        ),
        recall=dict(
            zip(present, map(float, recall_score(y_true, y_pred, average=None, **kw)), strict=True)
        ),
        confusion=confusion_matrix(y_true, y_pred, labels=list(labels)).tolist(),
        n=int(len(y_true)),
    )


def chance_scores(y_true: StrArr) -> dict[str, float]:
    """Expected scores of guessing labels at random with the test set's class frequencies."""
    _, counts = np.unique(y_true, return_counts=True)
    p = counts / counts.sum()
    return {
        "accuracy": float((p**2).sum()),
        "balanced_accuracy": 1.0 / len(counts),
        "weighted_f1": float((p**2).sum()),
    }


@dataclass
class Evaluation:
    """Scores of one held-out-group evaluation, with its baselines and breakdowns.

    Attributes:
        scores: pooled over the held-out groups that hold two labels or more (every row
            when no group does, e.g. one video per group; every row when the groups are
            people); the headline figure.
        per_group: the same for each such held-out group (e.g. each action family; each
            person, over the classes that person acted).
        per_view, per_source, per_dataset: the pooled rows by camera view, by source
            (mocap skeletons / video) and by dataset.
        single_label: groups with one label only (e.g. contents that exist only as
            Neutral): their label and the fraction of their windows given it.
        unfamiliar: per held-out group, the share of its windows the fold's model finds
            unlike its training windows (shown "uncertain" live; `pipeline.novelty`).
        familiar_scores, unfamiliar_scores: the pooled rows the novelty check lets through
            (labelled live) and those it flags, scored apart.
    """

    scores: Scores
    majority: Scores
    chance: dict[str, float]
    per_view: dict[str, Scores] = field(default_factory=dict)
    per_source: dict[str, Scores] = field(default_factory=dict)
    per_dataset: dict[str, Scores] = field(default_factory=dict)
    per_group: dict[str, Scores] = field(default_factory=dict)
    single_label: dict[str, tuple[str, float, int]] = field(default_factory=dict)
    unfamiliar: dict[str, float] = field(default_factory=dict)
    familiar_scores: Scores | None = None
    unfamiliar_scores: Scores | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.scores.to_dict(),
            "majority_baseline": self.majority.to_dict(),
            "chance_baseline": self.chance,
            "per_view": {k: v.to_dict() for k, v in self.per_view.items()},
            "per_source": {k: v.to_dict() for k, v in self.per_source.items()},
            "per_dataset": {k: v.to_dict() for k, v in self.per_dataset.items()},
            "per_group": {k: v.to_dict() for k, v in self.per_group.items()},
            "unfamiliar_share": self.unfamiliar,
            "familiar_windows": None
            if self.familiar_scores is None
            else self.familiar_scores.to_dict(),
            "unfamiliar_windows": None
            if self.unfamiliar_scores is None
            else self.unfamiliar_scores.to_dict(),
            "single_label_groups": {
                k: {"label": lab, "recall": r, "n_windows": n}
                for k, (lab, r, n) in self.single_label.items()
            },
        }


def evaluation_of(
    test: WindowTable,
    pred: npt.NDArray[np.str_],
    majority: npt.NDArray[np.str_],
    labels: tuple[str, ...],
    group: str,
) -> Evaluation:
    ids = test.group(group)
    per_group: dict[str, Scores] = {}
    single: dict[str, tuple[str, float, int]] = {}
    for g in np.unique(ids):
        rows = ids == g
        present = np.unique(test.y[rows])
        if len(present) >= 2 or group == PERSON:
            per_group[str(g)] = score(test.y[rows], pred[rows], labels)
        else:
            single[str(g)] = (
                str(present[0]),
                float((pred[rows] == present[0]).mean()),
                int(rows.sum()),
            )
    keep = np.isin(ids, list(per_group)) if per_group and single else np.ones(len(test), bool)
    test, pred, majority = test.take(np.flatnonzero(keep)), pred[keep], majority[keep]
    per_view = {}
    if "view_deg" in test.groups and len(np.unique(test.groups["view_deg"])) > 1:
        for view in sorted(np.unique(test.groups["view_deg"]), key=float):
            rows = test.groups["view_deg"] == view
            per_view[str(view)] = score(test.y[rows], pred[rows], labels)
    return Evaluation(
        score(test.y, pred, labels),
        score(test.y, majority, labels),
        chance_scores(test.y),
        per_view,
        _breakdown(test.source, test.y, pred, labels),
        _breakdown(test.groups.get("dataset"), test.y, pred, labels),
        per_group,
        single,
    )


def _breakdown(
    keys: StrArr | None, y: StrArr, pred: StrArr, labels: tuple[str, ...]
) -> dict[str, Scores]:
    """Scores of the rows of each key (none when there is one key or no keys)."""
    if keys is None or len(np.unique(keys)) < 2:
        return {}
    found = np.unique(keys)
    return {str(k): score(y[keys == k], pred[keys == k], labels) for k in found}
