"""Feature tables, grouped cross-validation that cannot leak, and the study's protocol.

Windows of one group (a mocap content, a video) are never on both sides of a split:
`grouped_predictions` holds out one group at a time. The study's own protocol (repeated
stratified splits over windows, which lets overlapping windows of one clip leak into the
test set) is kept beside it so the two can be compared.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from offline import cluster
from offline.cluster import Executor
from offline.datasets.movement import Movement
from offline.progress import Progress
from offline.training.classifiers import fit_classifier, make_classifier
from offline.training.scores import Evaluation, evaluation_of, score
from pipeline.features import vectorize
from pipeline.projection import ContentProjection
from pipeline.window import WindowSpec

StrArr = npt.NDArray[np.str_]


@dataclass(frozen=True)
class WindowTable:
    """Feature vectors of many windows with their labels and group ids.

    Attributes:
        x: (N, F) float32 feature vectors.
        y: (N,) labels.
        groups: group key ("content", "video", "clip", "view_deg", ...) -> (N,) ids.
        clip: (N,) the movement each window came from (for per-clip weighting).
        source: (N,) "mocap" or "video".
    """

    x: npt.NDArray[np.float32]
    y: StrArr
    groups: dict[str, StrArr]
    clip: StrArr
    source: StrArr

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def take(self, rows: npt.NDArray[Any]) -> WindowTable:
        return WindowTable(
            self.x[rows],
            self.y[rows],
            {k: v[rows] for k, v in self.groups.items()},
            self.clip[rows],
            self.source[rows],
        )

    def group(self, key: str) -> StrArr:
        try:
            return self.groups[key]
        except KeyError:
            raise ValueError(
                f"group key {key!r} is not in this dataset (has: {sorted(self.groups)})"
            ) from None

    @staticmethod
    def concat(tables: Iterable[WindowTable]) -> WindowTable:
        tables = [t for t in tables if len(t)]
        if not tables:
            raise ValueError("no windows to concatenate")
        keys = set.intersection(*(set(t.groups) for t in tables))
        return WindowTable(
            np.concatenate([t.x for t in tables]),
            np.concatenate([t.y for t in tables]),
            {k: np.concatenate([t.groups[k] for t in tables]) for k in sorted(keys)},
            np.concatenate([t.clip for t in tables]),
            np.concatenate([t.source for t in tables]),
        )


def window_table(
    movements: Iterable[Movement], spec: WindowSpec, feature_set: str, stride_s: float
) -> WindowTable:
    """Cut every movement into windows every `stride_s` seconds and vectorize them."""
    rows: list[npt.NDArray[np.float32]] = []
    y: list[str] = []
    clip: list[str] = []
    source: list[str] = []
    group_rows: list[dict[str, str]] = []
    for seq in movements:
        for window in seq.windows(spec, stride_s):
            rows.append(vectorize(window, feature_set))
            y.append(seq.label)
            clip.append(seq.name)
            source.append(seq.source)
            group_rows.append(seq.groups)
    if not rows:
        raise ValueError(
            f"no usable {spec.window_s:g} s windows in the data (clips too short or "
            "too little of the body visible)"
        )
    keys = set.intersection(*(set(g) for g in group_rows))
    return WindowTable(
        np.stack(rows),
        np.array(y),
        {k: np.array([g[k] for g in group_rows]) for k in sorted(keys)},
        np.array(clip),
        np.array(source),
    )


def check_trainable(table: WindowTable, key: str, rows: WindowTable | None = None) -> None:
    """Refuse data a model cannot be trained on or evaluated by holding out `key` groups:
    fewer than two classes (in `table`, or in the `rows` fitted on when given), or a class
    whose windows all come from one group (leaving that group out leaves no example).

    Raises:
        ValueError: one line naming the classes found, or the classes with one group.
    """
    for what, t in (("training data", table), ("rows left to fit on", rows)):
        if t is None:
            continue
        found = sorted({str(c) for c in np.unique(t.y)})
        if len(found) < 2:
            hint = (
                ""
                if t is table
                else " after leaving out actions seen with one label only "
                "(--single-label-contents keeps them)"
            )
            raise ValueError(
                f"the {what} has {len(found)} class{'' if len(found) == 1 else 'es'} "
                f"({', '.join(found) or 'none'}){hint}; a model needs at least two: add "
                "data of another label (--data, --labels)"
            )
    ids = table.group(key)
    single = []
    for c in sorted({str(c) for c in np.unique(table.y)}):
        groups = np.unique(ids[table.y == c])
        if len(groups) < 2:
            single.append(f"{c} (only {key} {str(groups[0])!r})")
    if single:
        raise ValueError(
            f"class{'es' if len(single) > 1 else ''} {', '.join(single)} cannot be evaluated: "
            f"the evaluation holds out one {key} at a time, so each class needs windows from "
            f"at least two; add clips of another {key} or choose another --group"
        )


@dataclass(frozen=True)
class TrainSettings:
    """How a classifier is trained on a table.

    Attributes:
        model: classifier name (`classifiers.MODEL_FACTORIES`).
        balance: sample weighting or resampling (`classifiers.BALANCING`).
        seed: random seed.
        projection: content directions removed before the classifier
            (`pipeline.projection.ContentProjection`); 0: standard scaling only.
    """

    model: str = "et"
    balance: str = "person"
    seed: int = 0
    projection: int = 2


def contents_of(table: WindowTable) -> StrArr | None:
    """Each row's action as its source sees it ("mocap:walk", "video:walk"): the content
    projection removes what tells actions apart in skeletons and in PoseLandmarker's view
    alike, and weights balance both. None when the data names no action (videos: the
    projection then only standardises and the weights balance classes and clips)."""
    content = table.groups.get("content")
    if content is None:
        return None
    return np.char.add(np.char.add(table.source.astype(str), ":"), content.astype(str))


def fit_table(
    table: WindowTable,
    settings: TrainSettings,
    extra: WindowTable | None = None,
    aux: WindowTable | None = None,
) -> Any:
    """Fit a fresh pipeline on `table` (plus `extra` rows, e.g. mirrored copies); the
    content projection also sees `aux` (windows without emotion labels: other styles)."""
    data = table if extra is None or not len(extra) else WindowTable.concat([table, extra])
    pipeline = make_classifier(settings.model, settings.balance, settings.seed, settings.projection)
    contents, aux_contents = contents_of(data), contents_of(aux) if aux is not None else None
    rows = ordinary = None
    if aux is not None and len(aux) and contents is not None and aux_contents is not None:
        rows = (aux.x, aux_contents)
    persons = data.groups.get("person")
    if aux is not None and len(aux) and "person" in aux.groups:
        ordinary = (aux.x, aux.groups["person"])
    return fit_classifier(
        pipeline, data.x, data.y, settings.balance, data.clip, contents, rows, persons, ordinary
    )


def single_label_contents(table: WindowTable) -> npt.NDArray[np.bool_]:
    """Rows of contents that carry one label only while the table has several (e.g.
    actions recorded only as Neutral): trained on, they teach "an unfamiliar action is
    that label" rather than anything about the label itself."""
    if "content" not in table.groups or len(np.unique(table.y)) < 2:
        return np.zeros(len(table), bool)
    content = table.groups["content"]
    keys, index = np.unique(content, return_inverse=True)
    n_labels = np.array([len(np.unique(table.y[content == k])) for k in keys])
    return np.asarray(n_labels[index] == 1)


def grouped_predictions(
    train: WindowTable,
    test: WindowTable,
    key: str,
    settings: TrainSettings,
    augment: WindowTable | None = None,
    progress: Progress | None = None,
    executor: Executor | None = None,
    aux: WindowTable | None = None,
    unfamiliar: npt.NDArray[np.bool_] | None = None,
) -> tuple[StrArr, StrArr]:
    """Hold out one `key` group at a time: fit on `train` (+ `augment`) rows of the other
    groups, predict the `test` rows of the held-out group.

    `train` and `test` may be the same table (plain leave-one-group-out) or differ (train
    on mocap, test on the video path). Returns (predictions, majority-class baseline
    predictions) for every row of `test`. `aux` rows (content projection only) of the
    held-out group are left out of its fold too. `unfamiliar` (an (N,) array for the rows
    of `test`), when given, is filled with the fold models' novelty flags.

    Each fold is one unit of `executor` (default: the open cluster session's engine, else
    this process); the fits use `settings.seed`, so where they run does not change them.
    """
    pred = np.empty(len(test), dtype=object)
    majority = np.empty(len(test), dtype=object)
    held_out = np.unique(test.group(key))
    train_groups = train.group(key)
    for g in held_out:
        if not (train_groups != g).any():
            raise ValueError(f"cannot hold out {key} {g!r}: no other {key} to train on")
    task = f"held-out {key}"
    if progress is not None:
        progress(task, 0, len(held_out))
    ex = executor if executor is not None else cluster.current(1)
    fold = _Folds(train, test, key, settings, augment, aux)
    for done, (i, (fold_pred, fold_majority, fold_unfamiliar)) in enumerate(
        ex.map_unordered(_fold, list(held_out), fold), start=1
    ):
        te = test.group(key) == held_out[i]
        pred[te] = fold_pred
        majority[te] = fold_majority
        if unfamiliar is not None:
            unfamiliar[te] = fold_unfamiliar
        if progress is not None and done < len(held_out):
            progress(task, done, len(held_out))
    if progress is not None:
        progress(task, len(held_out), len(held_out))
    return pred.astype(str), majority.astype(str)


@dataclass(frozen=True)
class _Folds:
    """What every held-out-group fold reads (sent to each worker once)."""

    train: WindowTable
    test: WindowTable
    key: str
    settings: TrainSettings
    augment: WindowTable | None
    aux: WindowTable | None = None


def _fold(f: _Folds, g: str) -> tuple[npt.NDArray[Any], str, npt.NDArray[np.bool_]]:
    """Fit without group `g`; its test rows' predictions, the fold's majority label, and
    which test rows the fold's model finds unfamiliar (all False without a projection)."""
    extra = f.augment.take(f.augment.group(f.key) != g) if f.augment is not None else None
    fold = f.train.take(f.train.group(f.key) != g)
    aux = f.aux
    if aux is not None and f.key in aux.groups:  # nothing of the held-out group at all
        aux = aux.take(~same_group(aux.groups[f.key], g))
    model = fit_table(fold, f.settings, extra, aux)
    x = f.test.x[f.test.group(f.key) == g]
    predicted = model.predict(x)
    labels, counts = np.unique(fold.y, return_counts=True)
    return predicted, str(labels[np.argmax(counts)]), unfamiliar_rows(model, x)


def same_group(ids: StrArr, group: str) -> npt.NDArray[np.bool_]:
    """Rows of `ids` that belong to `group`, where people recorded together are one group
    named "18+19": such a group also matches "18" and "19" (their clips in another
    dataset), and "18" matches "18+19"."""
    members = set(group.split("+"))
    keys, index = np.unique(ids, return_inverse=True)
    hit = np.array([k == group or bool(members & set(str(k).split("+"))) for k in keys], bool)
    return hit[index] if len(keys) else np.zeros(len(ids), bool)


def unfamiliar_rows(model: Any, x: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """(N,) the windows a fitted pipeline's content projection finds unfamiliar."""
    first = model.steps[0][1] if hasattr(model, "steps") else None
    if not isinstance(first, ContentProjection):
        return np.zeros(len(x), bool)
    distance = first.novelty(x)
    if distance is None:
        return np.zeros(len(x), bool)
    return np.asarray(distance > first.novelty_threshold_)


def grouped_evaluation(
    train: WindowTable,
    tests: list[WindowTable],
    group: str,
    settings: TrainSettings,
    augment: WindowTable | None,
    labels: tuple[str, ...],
    progress: Progress | None = None,
    executor: Executor | None = None,
    aux: WindowTable | None = None,
) -> list[Evaluation]:
    """Score each of `tests` with the same held-out-group fold models (each fitted once)."""
    joined = WindowTable.concat(tests) if len(tests) > 1 else tests[0]
    flags = np.zeros(len(joined), bool)
    pred_all, majority_all = grouped_predictions(
        train, joined, group, settings, augment, progress, executor, aux, flags
    )
    out, start = [], 0
    for test in tests:
        rows = slice(start, start + len(test))
        start += len(test)
        ev = evaluation_of(test, pred_all[rows], majority_all[rows], labels, group)
        ids, flagged, pred = test.group(group), flags[rows], pred_all[rows]
        ev.unfamiliar = {str(g): float(flagged[ids == g].mean()) for g in np.unique(ids)}
        for name, keep in (("familiar_scores", ~flagged), ("unfamiliar_scores", flagged)):
            if keep.any() and flagged.any():
                setattr(ev, name, score(test.y[keep], pred[keep], labels))
        out.append(ev)
    return out


def study_protocol(
    table: WindowTable,
    settings: TrainSettings,
    repeats: int = 100,
    test_size: float = 0.2,
    n_jobs: int = 1,
    executor: Executor | None = None,
) -> dict[str, float]:
    """The study's protocol: `repeats` stratified random splits over windows (groups
    ignored, so it is optimistic), mean and std of accuracy and weighted F1.

    Each split is one unit of `executor` (default: the open cluster session's engine,
    else `n_jobs` local processes)."""
    from sklearn.model_selection import StratifiedShuffleSplit

    splitter = StratifiedShuffleSplit(
        n_splits=repeats, test_size=test_size, random_state=settings.seed
    )
    splits = list(splitter.split(table.x, table.y))
    ex = executor if executor is not None else cluster.current(n_jobs)
    results = [(0.0, 0.0)] * len(splits)
    for i, r in ex.map_unordered(_split, splits, (table, settings)):
        results[i] = r
    acc, f1 = np.array(results).T
    return {
        "repeats": repeats,
        "accuracy_mean": float(acc.mean()),
        "accuracy_std": float(acc.std()),
        "weighted_f1_mean": float(f1.mean()),
        "weighted_f1_std": float(f1.std()),
    }


def _split(
    shared: tuple[WindowTable, TrainSettings],
    split: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]],
) -> tuple[float, float]:
    """Accuracy and weighted F1 of one split of the study's protocol."""
    from sklearn.metrics import accuracy_score, f1_score

    table, settings = shared
    tr, te = split
    model = fit_table(table.take(tr), settings)
    pred = model.predict(table.x[te])
    return (
        float(accuracy_score(table.y[te], pred)),
        float(f1_score(table.y[te], pred, average="weighted")),
    )
