"""Tests for pipeline/evaluation.py (and the weighting in pipeline/models.py it relies on):
window tables, grouped predictions that never leak, metrics, baselines, the study's protocol."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from offline.datasets.movement import Movement
from offline.training import evaluation
from offline.training.classifiers import balanced_weights, fit_classifier
from offline.training.evaluation import (
    TrainSettings,
    WindowTable,
    fit_table,
    grouped_predictions,
    study_protocol,
    window_table,
)
from offline.training.scores import chance_scores, score
from pipeline.features import vectorize
from pipeline.window import WindowSpec


def table_of(
    x: np.ndarray, y: list[str] | np.ndarray, groups: dict[str, Any], clip: Any = None
) -> WindowTable:
    n = len(y)
    return WindowTable(
        np.asarray(x, np.float32),
        np.asarray(y),
        {k: np.asarray(v) for k, v in groups.items()},
        np.asarray(clip if clip is not None else [f"clip{i}" for i in range(n)]),
        np.array(["mocap"] * n),
    )


# --- metrics ------------------------------------------------------------------------------

Y_TRUE = np.array(["A", "A", "A", "B", "B", "C"])
Y_PRED = np.array(["A", "A", "B", "B", "C", "C"])


def test_score_by_hand() -> None:
    s = score(Y_TRUE, Y_PRED, ("A", "B", "C"))
    # confusion (rows true, columns predicted): A [2 1 0], B [0 1 1], C [0 0 1]
    assert s.confusion == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert s.accuracy == pytest.approx(4 / 6)
    assert s.recall == pytest.approx({"A": 2 / 3, "B": 1 / 2, "C": 1.0})
    assert s.precision == pytest.approx({"A": 1.0, "B": 1 / 2, "C": 1 / 2})
    assert s.balanced_accuracy == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    f1 = {"A": 4 / 5, "B": 1 / 2, "C": 2 / 3}  # 2 p r / (p + r)
    assert s.macro_f1 == pytest.approx(sum(f1.values()) / 3)
    assert s.weighted_f1 == pytest.approx((3 * f1["A"] + 2 * f1["B"] + 1 * f1["C"]) / 6)
    assert s.n == 6 and s.labels == ("A", "B", "C")


def test_confusion_follows_the_given_label_order() -> None:
    s = score(Y_TRUE, Y_PRED, ("C", "A", "B"))
    assert s.confusion == [[1, 0, 0], [0, 2, 1], [1, 0, 1]]
    assert s.labels == ("C", "A", "B")
    assert score(Y_TRUE, Y_PRED).labels == ("A", "B", "C")  # default: sorted true labels


def test_a_listed_class_without_windows_gets_a_zero_row_and_no_recall() -> None:
    s = score(Y_TRUE, Y_PRED, ("A", "B", "C", "Fear"))
    assert s.confusion[3] == [0, 0, 0, 0] and [row[3] for row in s.confusion] == [0, 0, 0, 0]
    assert "Fear" not in s.recall and "Fear" not in s.precision
    assert s.macro_f1 == pytest.approx(score(Y_TRUE, Y_PRED, ("A", "B", "C")).macro_f1)


def test_balanced_accuracy_is_sklearns_without_its_warnings() -> None:
    import warnings

    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. evaluating a model on one emotion's videos
        for _ in range(50):
            n = int(rng.integers(1, 20))
            y_true = rng.choice(list("ABC"), n)
            y_pred = rng.choice(list("ABCD"), n)
            s = score(y_true, y_pred, tuple("ABCD"))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = balanced_accuracy_score(y_true, y_pred)
            assert s.balanced_accuracy == pytest.approx(expected)
        one = score(np.array(["A", "A"]), np.array(["A", "A"]), ("A", "B"))
    assert one.balanced_accuracy == 1.0 and one.confusion == [[2, 0], [0, 0]]


def test_scores_to_dict() -> None:
    d = score(Y_TRUE, Y_PRED).to_dict()
    assert d["n_windows"] == 6 and d["labels"] == ["A", "B", "C"]
    assert d["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert set(d) >= {"accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "precision"}


def test_chance_scores_by_hand_and_by_simulation() -> None:
    y = np.array(["A"] * 6 + ["B"] * 3 + ["C"])
    chance = chance_scores(y)
    assert chance == pytest.approx(
        {"accuracy": 0.46, "balanced_accuracy": 1 / 3, "weighted_f1": 0.46}
    )  # 0.6² + 0.3² + 0.1²
    rng = np.random.default_rng(0)  # guessing with the test set's class frequencies
    y_true = rng.choice(["A", "B", "C"], p=[0.6, 0.3, 0.1], size=50_000)
    guess = rng.choice(["A", "B", "C"], p=[0.6, 0.3, 0.1], size=y_true.size)
    s = score(y_true, guess)
    assert s.accuracy == pytest.approx(chance["accuracy"], abs=0.01)
    assert s.balanced_accuracy == pytest.approx(chance["balanced_accuracy"], abs=0.01)
    assert s.weighted_f1 == pytest.approx(chance["weighted_f1"], abs=0.01)


# --- class weights ------------------------------------------------------------------------


def test_balanced_weights_give_each_class_the_same_total() -> None:
    y = np.array(["A"] * 6 + ["B"] * 2 + ["C"] * 12)
    w = balanced_weights(y)
    totals = [w[y == c].sum() for c in "ABC"]
    np.testing.assert_allclose(totals, totals[0])
    assert w.mean() == pytest.approx(1.0)
    for c in "ABC":  # without clips every sample of a class weighs the same
        assert np.ptp(w[y == c]) == pytest.approx(0.0)


def test_balanced_weights_give_each_clip_of_a_class_the_same_total() -> None:
    y = np.array(["A"] * 10 + ["B"] * 5)
    clips = np.array(["a1"] * 8 + ["a2"] * 2 + ["b1"] + ["b2"] * 4)  # one long recording
    w = balanced_weights(y, clips)
    assert w[y == "A"].sum() == pytest.approx(w[y == "B"].sum())
    assert w[clips == "a1"].sum() == pytest.approx(w[clips == "a2"].sum())
    assert w[clips == "b1"].sum() == pytest.approx(w[clips == "b2"].sum())
    for c in ("a1", "a2", "b1", "b2"):  # and within a clip every window the same
        assert np.ptp(w[clips == c]) == pytest.approx(0.0)
    assert w.mean() == pytest.approx(1.0)
    assert w[clips == "a2"][0] == pytest.approx(4 * w[clips == "a1"][0])


def test_fit_classifier_passes_the_weights_to_the_classifier() -> None:
    class Recorder:
        def fit(self, x: Any, y: Any, **kwargs: Any) -> Recorder:
            self.kwargs = kwargs
            return self

    x = np.zeros((4, 2), np.float32)
    y = np.array(["A", "A", "A", "B"])
    clips = np.array(["c1", "c1", "c2", "c3"])
    fitted = fit_classifier(Recorder(), x, y, "weights", clips)
    np.testing.assert_allclose(fitted.kwargs["clf__sample_weight"], balanced_weights(y, clips))
    assert fit_classifier(Recorder(), x, y, "none", clips).kwargs == {}
    assert fit_classifier(Recorder(), x, y, "smote", clips).kwargs == {}
    contents = np.array(["walk", "bow", "bow", "walk"])
    fitted = fit_classifier(Recorder(), x, y, "content", clips, contents)
    w = fitted.kwargs["clf__sample_weight"]
    np.testing.assert_allclose(w, balanced_weights(y, clips, contents))
    # class A: its walk clip weighs as much as its two bow clips together
    assert w[0] == pytest.approx(w[1] + w[2]) and w[:3].sum() == pytest.approx(w[3])


def test_content_projection_removes_what_tells_actions_apart() -> None:
    """Two actions differ along feature 0, two styles along feature 1: after the projection
    with one direction removed, feature 0 carries nothing and feature 1 is kept."""
    from pipeline.projection import ContentProjection

    rng = np.random.default_rng(0)
    action = np.repeat([0.0, 5.0], 200)
    style = np.tile(np.repeat([-1.0, 1.0], 100), 2)
    x = np.stack([action, style, rng.normal(size=400)], axis=1) + rng.normal(0, 0.1, (400, 3))
    contents = np.where(action > 0, "run", "walk")
    z = ContentProjection(1).fit(x, contents=contents).transform(x)
    assert abs(np.corrcoef(z[:, 0], action)[0, 1]) < 0.2 or np.std(z[:, 0]) < 1e-6
    assert abs(np.corrcoef(z[:, 1], style)[0, 1]) > 0.95
    plain = ContentProjection(1).fit(x).transform(x)  # no contents: standardisation only
    np.testing.assert_allclose(plain, (x - x.mean(0)) / x.std(0))


def test_single_label_contents_are_the_actions_seen_with_one_label_only() -> None:
    table = table_of(
        np.zeros((5, 2)), ["A", "B", "A", "A", "B"],
        {"content": ["walk", "walk", "kick", "kick", "bow"]},
    )  # fmt: skip
    assert list(evaluation.single_label_contents(table)) == [False, False, True, True, True]


# --- window_table -------------------------------------------------------------------------


def make_seq(
    synthetic_sequence,
    n_frames: int,
    label: str,
    groups: dict,
    name: str,
    motion: str = "wave",
    visibility: float = 1.0,
) -> Movement:
    s = synthetic_sequence(n_frames, 30.0, motion)
    vis = np.full_like(s.visibility, visibility)
    return Movement(s.world, s.image, vis, s.t_s, label, groups, "mocap", name)


def test_window_table_has_a_row_per_window_with_its_groups(synthetic_sequence) -> None:
    spec = WindowSpec(window_s=1.0, n_frames=10)
    a = make_seq(synthetic_sequence, 90, "Happy", {"content": "wave", "clip": "a", "x": "1"}, "a")
    b = make_seq(synthetic_sequence, 60, "Sad", {"content": "walk", "clip": "b"}, "b", "walk")
    table = window_table([a, b], spec, "motion", stride_s=0.5)
    # a: frames 0..2.967 s; windows end on frames from 1 s - half a resampled frame on,
    # every 0.5 s: 0.967, 1.467, 1.967, 2.467, 2.967 s. b (0..1.967 s): the first three.
    assert len(table) == 8 == len(a.windows(spec, 0.5)) + len(b.windows(spec, 0.5))
    assert list(table.y) == ["Happy"] * 5 + ["Sad"] * 3
    assert list(table.clip) == ["a"] * 5 + ["b"] * 3
    assert sorted(table.groups) == ["clip", "content"]  # keys every movement has
    assert list(table.group("content")) == ["wave"] * 5 + ["walk"] * 3
    assert list(table.source) == ["mocap"] * 8
    expected = [vectorize(w, "motion") for w in a.windows(spec, 0.5) + b.windows(spec, 0.5)]
    np.testing.assert_array_equal(table.x, np.stack(expected))
    assert table.x.dtype == np.float32


def test_window_table_without_usable_windows(synthetic_sequence) -> None:
    spec = WindowSpec(window_s=1.0, n_frames=10)
    short = make_seq(synthetic_sequence, 20, "Happy", {"content": "w"}, "short")  # 0.63 s
    unseen = make_seq(synthetic_sequence, 90, "Sad", {"content": "w"}, "unseen", visibility=0.0)
    with pytest.raises(ValueError, match=r"no usable 1 s windows in the data"):
        window_table([short, unseen], spec, "motion", 0.2)
    with pytest.raises(ValueError, match=r"no usable"):
        window_table([], spec, "motion", 0.2)


def test_table_take_concat_and_group() -> None:
    t = table_of(
        np.arange(8).reshape(4, 2), list("AABB"), {"content": list("pqrs"), "v": list("0000")}
    )
    part = t.take(np.array([3, 1]))
    assert list(part.y) == ["B", "A"] and list(part.group("content")) == ["s", "q"]
    np.testing.assert_array_equal(part.x, [[6, 7], [2, 3]])
    other = table_of(np.zeros((1, 2)), ["C"], {"content": ["z"]})
    both = WindowTable.concat([t, other, t.take(np.array([], int))])
    assert len(both) == 5 and sorted(both.groups) == ["content"]
    with pytest.raises(
        ValueError, match=r"group key 'person' is not in this dataset \(has: \['content', 'v'\]\)"
    ):
        t.group("person")
    with pytest.raises(ValueError, match="no windows to concatenate"):
        WindowTable.concat([t.take(np.array([], int))])


# --- grouped predictions never leak ----------------------------------------------------------

GROUPS = ("g0", "g1", "g2", "g3")


def marked_tables() -> tuple[WindowTable, WindowTable]:
    """A table whose rows carry their group in x[:, 0] and a mirrored twin (x[:, 1] = 1)."""
    g = np.repeat(np.arange(len(GROUPS)), [5, 3, 4, 7])
    y = np.where(g % 2 == 0, "A", "B")
    x = np.column_stack([g, np.zeros(g.size), np.arange(g.size)])
    table = table_of(x, y, {"content": np.array(GROUPS)[g]})
    mirrored = table_of(x + [0, 1, 0], y, {"content": np.array(GROUPS)[g]})
    return table, mirrored


class SpyFit:
    """Stands in for `fit_table`: records each fold; its model answers with what it saw."""

    def __init__(self) -> None:
        self.calls: list[tuple[WindowTable, WindowTable | None]] = []
        self.aux_calls: list[WindowTable | None] = []

    def __call__(
        self,
        table: WindowTable,
        settings: TrainSettings,
        extra: WindowTable | None = None,
        aux: WindowTable | None = None,
    ):
        self.calls.append((table, extra))
        self.aux_calls.append(aux)
        rows = [table] + ([extra] if extra is not None else [])
        seen_groups = sorted({g for t in rows for g in t.groups["content"]})
        seen_marks = sorted({int(m) for t in rows for m in t.x[:, 0]})

        class Model:
            def predict(self, x: np.ndarray) -> np.ndarray:
                return np.array([f"{seen_groups}|{seen_marks}"] * len(x))

        return Model()


def test_held_out_group_is_in_no_training_or_augmentation_row(monkeypatch) -> None:
    table, mirrored = marked_tables()
    spy = SpyFit()
    monkeypatch.setattr(evaluation, "fit_table", spy)
    pred, _ = grouped_predictions(table, table, "content", TrainSettings(), mirrored)
    assert len(spy.calls) == len(GROUPS)  # one fold per group
    held = []
    for fold, extra in spy.calls:
        missing = set(GROUPS) - set(fold.groups["content"])
        assert len(missing) == 1
        g = missing.pop()
        held.append(g)
        k = GROUPS.index(g)
        assert k not in fold.x[:, 0] and g not in extra.groups["content"] and k not in extra.x[:, 0]
        # everything else is used: all other rows and all their mirrored copies
        assert len(fold) == int((table.groups["content"] != g).sum())
        assert len(extra) == len(fold) and (extra.x[:, 1] == 1).all() and (fold.x[:, 1] == 0).all()
    assert sorted(held) == list(GROUPS)
    for i, g in enumerate(table.groups["content"]):  # each row predicted by a model blind to g
        others = [x for x in GROUPS if x != g]
        marks = [GROUPS.index(x) for x in others]
        assert pred[i] == f"{others}|{marks}"


def test_a_real_classifier_cannot_recall_held_out_groups() -> None:
    """Groups sit on a line with alternating labels. A leak-free model predicts each group
    from its neighbours (the other label): all wrong. Any leak, of a row or of a mirrored
    copy, would let the trees memorise the group and get it right."""
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(6), 10)
    x = np.column_stack([g + rng.normal(0, 0.05, g.size), rng.normal(0, 1, g.size)])
    y = np.where(g % 2 == 0, "A", "B")
    groups = {"content": np.array([f"g{k}" for k in g])}
    table = table_of(x, y, groups)
    copies = table_of(x + rng.normal(0, 0.01, x.shape), y, groups)  # near-identical "mirrors"
    # a forest with small leaves, which can memorise a group (the line is the signal)
    settings = TrainSettings(model="rf", seed=0, projection=0)
    pred, _ = grouped_predictions(table, table, "content", settings, copies)
    assert (pred == y).mean() < 0.1
    leaky = fit_table(table, settings, copies).predict(table.x)  # what a leak would give
    assert (leaky == y).mean() > 0.95


def test_majority_baseline_comes_from_the_training_fold(monkeypatch) -> None:
    monkeypatch.setattr(evaluation, "fit_table", SpyFit())
    y = ["A"] * 10 + ["B"] * 8  # A is the majority overall ...
    groups = {"content": ["g0"] * 10 + ["g1"] * 4 + ["g2"] * 4}
    table = table_of(np.zeros((18, 1)), y, groups)
    _, majority = grouped_predictions(table, table, "content", TrainSettings())
    # ... but without g0 the training fold is all B
    assert list(majority) == ["B"] * 10 + ["A"] * 8


def test_train_and_test_tables_may_differ(monkeypatch) -> None:
    spy = SpyFit()
    monkeypatch.setattr(evaluation, "fit_table", spy)
    train, _ = marked_tables()
    test = table_of(np.zeros((3, 3)), ["A", "B", "A"], {"content": ["g1", "new", "g1"]})
    seen: list[Any] = []
    pred, majority = grouped_predictions(
        train, test, "content", TrainSettings(), progress=lambda *report: seen.append(report)
    )
    # one fold per test group, reported through the progress callback, then completion
    assert seen == [("held-out content", i, 2) for i in range(3)]
    assert pred[1] == f"{list(GROUPS)}|{[0, 1, 2, 3]}"  # a group unknown to training: all rows
    assert pred[0] == pred[2] == "['g0', 'g2', 'g3']|[0, 2, 3]"
    assert majority[1] == "B"  # 10 B rows (g1, g3) beat 9 A rows (g0, g2)


def test_a_single_group_cannot_be_held_out() -> None:
    table = table_of(np.zeros((4, 1)), list("ABAB"), {"content": ["only"] * 4})
    with pytest.raises(ValueError, match=r"cannot hold out content 'only': no other content"):
        grouped_predictions(table, table, "content", TrainSettings())
    with pytest.raises(ValueError, match=r"group key 'video' is not in this dataset"):
        grouped_predictions(table, table, "video", TrainSettings())


def test_fit_table_trains_on_the_table_and_the_extra_rows() -> None:
    # enough rows per class for the shipped leaf size (100 windows)
    table = table_of(
        np.array([[0.0], [0.1], [1.0], [1.1]] * 120), list("AABB") * 120, {"c": ["x"] * 480}
    )
    extra = table_of(np.array([[5.0], [5.1]] * 120), ["C", "C"] * 120, {"c": ["y"] * 240})
    model = fit_table(table, TrainSettings(model="et"), extra)
    assert list(model.classes_) == ["A", "B", "C"]
    assert list(model.predict(np.array([[0.05], [1.05], [5.05]], np.float32))) == ["A", "B", "C"]
    assert list(fit_table(table, TrainSettings(model="et")).classes_) == ["A", "B"]


# --- the study's protocol -------------------------------------------------------------------


def test_study_protocol_mean_and_std_over_the_repeats(monkeypatch) -> None:
    """Stratified random splits over windows; the model is a stub whose errors depend on
    the rows, so each split scores differently and the summary can be checked."""
    from sklearn.metrics import accuracy_score, f1_score

    y = np.array(["A"] * 20 + ["B"] * 10 + ["C"] * 10)
    table = table_of(np.arange(40)[:, None], y, {"content": ["x"] * 40})
    splits: list[tuple[set[int], np.ndarray]] = []

    def stub_fit(train: WindowTable, settings: TrainSettings, extra=None):
        class Model:
            def predict(self, x: np.ndarray) -> np.ndarray:
                ids = x[:, 0].astype(int)
                splits.append((set(train.x[:, 0].astype(int)), ids))
                return np.where(ids % 3 == 0, "A", y[ids])  # every third row says A

        return Model()

    monkeypatch.setattr(evaluation, "fit_table", stub_fit)
    result = study_protocol(table, TrainSettings(seed=1), repeats=7, test_size=0.2)
    assert len(splits) == 7 and result["repeats"] == 7
    acc, f1 = [], []
    for train_ids, test_ids in splits:
        assert not train_ids & set(test_ids) and len(train_ids | set(test_ids)) == 40
        assert sorted(np.unique(y[test_ids], return_counts=True)[1]) == [2, 2, 4]  # stratified
        pred = np.where(test_ids % 3 == 0, "A", y[test_ids])
        acc.append(accuracy_score(y[test_ids], pred))
        f1.append(f1_score(y[test_ids], pred, average="weighted"))
    assert len({tuple(sorted(t)) for _, t in splits}) > 1  # different splits
    assert result["accuracy_mean"] == pytest.approx(np.mean(acc))
    assert result["accuracy_std"] == pytest.approx(np.std(acc)) and result["accuracy_std"] > 0
    assert result["weighted_f1_mean"] == pytest.approx(np.mean(f1))
    assert result["weighted_f1_std"] == pytest.approx(np.std(f1))


def test_study_protocol_with_a_real_classifier() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat(np.array(["A", "B"]), 200)  # enough for the shipped leaf size (100)
    x = np.where(y[:, None] == "A", 0.0, 3.0) + rng.normal(0, 0.3, (400, 2))
    table = table_of(x, y, {"content": ["x"] * 400})
    result = study_protocol(table, TrainSettings(model="et"), repeats=2)
    assert result["repeats"] == 2 and result["accuracy_mean"] == pytest.approx(1.0)
    assert result["accuracy_std"] == pytest.approx(0.0)


def test_auxiliary_rows_of_the_held_out_group_are_left_out(monkeypatch) -> None:
    """The content projection's extra windows obey the same rule: no window of the
    held-out family (any style, any dataset) is in its fold."""
    spy = SpyFit()
    monkeypatch.setattr(evaluation, "fit_table", spy)
    train, _ = marked_tables()
    aux = table_of(np.zeros((4, 3)), ["Proud"] * 4, {"content": ["g0", "g1", "g2", "zz"]})
    grouped_predictions(train, train, "content", TrainSettings(), aux=aux)
    missing = [{"g0", "g1", "g2"} - set(a.groups["content"]) for a in spy.aux_calls]
    assert all("zz" in a.groups["content"] for a in spy.aux_calls)  # other actions stay
    assert sorted(len(m) for m in missing) == [0, 1, 1, 1]  # g3 has no auxiliary rows
    assert set().union(*missing) == {"g0", "g1", "g2"}


# --- data a model cannot be trained on or evaluated by (issue #11, item 4) ---------------


@pytest.mark.parametrize(
    ("y", "content", "pattern"),
    [
        (["Sad"] * 4, ["walk", "walk", "bow", "bow"], r"training data has 1 class \(Sad\); "
         r"a model needs at least two"),
        ([], [], r"has 0 classes \(none\)"),
        (["Sad", "Sad", "Happy", "Happy"], ["walk", "bow", "walk", "walk"],
         r"^class Happy \(only content 'walk'\) cannot be evaluated: .* another content"),
        (["Sad", "Happy"], ["walk", "walk"],
         r"^classes Happy \(only content 'walk'\), Sad \(only content 'walk'\) cannot"),
    ],
)  # fmt: skip
def test_check_trainable_refuses_one_class_or_a_class_in_one_group(y, content, pattern) -> None:
    table = table_of(np.zeros((len(y), 2)), np.array(y, dtype=str), {"content": content})
    with pytest.raises(ValueError, match=pattern):
        evaluation.check_trainable(table, "content")


def test_check_trainable_names_single_label_contents_when_they_leave_one_class() -> None:
    y = ["Sad", "Sad", "Neutral", "Neutral"]
    table = table_of(np.zeros((4, 2)), y, {"content": ["walk", "bow", "run", "sit"]})
    evaluation.check_trainable(table, "content")  # two classes, each in two contents
    rows = table.take(np.array([0, 1]))
    with pytest.raises(ValueError, match=r"rows left to fit on has 1 class \(Sad\) after "
                       r"leaving out actions seen with one label only"):  # fmt: skip
        evaluation.check_trainable(table, "content", rows)
