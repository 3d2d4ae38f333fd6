"""Tests for pipeline/models.py: classifiers, the model file and its card."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest

from pipeline import models
from pipeline.features import FEATURE_VERSIONS, feature_count
from pipeline.models import (
    BALANCING,
    MODEL_FACTORIES,
    EmotionModel,
    ModelError,
    card_path,
    fit_classifier,
    load_model,
    make_classifier,
    save_model,
)
from pipeline.window import WindowSpec

N_FEATURES = feature_count("motion", 24)  # what the models' feature set really gives
CLASSES = ("Sad", "Happy", "Neutral")  # deliberately not in sorted order


def _data(seed: int = 0, n: int = 90) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.array(["Happy", "Neutral", "Sad"] * (n // 3))
    x = (
        rng.normal(size=(n, N_FEATURES))
        + (y[:, None] == "Happy") * 1.5
        - (y[:, None] == "Sad") * 1.5
    )
    return x.astype(np.float32), y


@pytest.fixture(scope="module")
def fitted() -> EmotionModel:
    x, y = _data()
    pipeline = make_classifier("rf", "weights", seed=0).fit(x, y)
    return EmotionModel(
        pipeline=pipeline,
        classes=CLASSES,
        feature_set="motion",
        window=WindowSpec(window_s=2.0, n_frames=24),
        n_features=N_FEATURES,
        metadata={"trained_on": "synthetic", "accuracy": 0.9},
    )


@pytest.fixture
def saved(tmp_path: Path, fitted: EmotionModel) -> Path:
    path = tmp_path / "emotion.joblib"
    save_model(fitted, path)
    return path


def test_round_trip(saved: Path, fitted: EmotionModel) -> None:
    loaded = load_model(saved)
    x, _ = _data(seed=1, n=30)
    np.testing.assert_array_equal(loaded.predict_proba(x), fitted.predict_proba(x))
    assert loaded.classes == CLASSES and loaded.feature_set == "motion"
    assert loaded.feature_version == FEATURE_VERSIONS["motion"]
    assert loaded.window == WindowSpec(window_s=2.0, n_frames=24)
    assert loaded.n_features == N_FEATURES
    assert loaded.metadata == {"trained_on": "synthetic", "accuracy": 0.9}


def test_card_holds_the_files_hash_and_settings(saved: Path) -> None:
    card_file = card_path(saved)
    assert card_file == saved.with_name("emotion.card.json")
    card = json.loads(card_file.read_text())
    assert card["sha256"] == hashlib.sha256(saved.read_bytes()).hexdigest()
    assert card["classes"] == list(CLASSES) and card["feature_set"] == "motion"
    assert card["feature_version"] == FEATURE_VERSIONS["motion"]
    assert card["window"]["window_s"] == 2.0 and card["n_features"] == N_FEATURES
    assert card["trained_on"] == "synthetic"
    assert sorted(p.name for p in saved.parent.iterdir()) == ["emotion.card.json", "emotion.joblib"]


def test_probabilities_are_in_classes_order(fitted: EmotionModel) -> None:
    x, _ = _data(seed=2, n=30)
    proba = fitted.predict_proba(x)
    raw = fitted.pipeline.predict_proba(x)
    sklearn_order = list(fitted.pipeline.classes_)
    assert sklearn_order == sorted(CLASSES) != list(CLASSES)
    for k, name in enumerate(CLASSES):
        # the forest fast path sums the trees in another order: equal to rounding
        np.testing.assert_allclose(proba[:, k], raw[:, sklearn_order.index(name)], atol=1e-12)
    labels = np.array(CLASSES)[proba.argmax(1)]
    np.testing.assert_array_equal(labels, fitted.pipeline.predict(x))
    # a clearly "Happy" vector gets most of its probability in the "Happy" column
    happy = np.full(N_FEATURES, 3.0, np.float32)
    assert CLASSES[int(fitted.predict_proba(happy)[0].argmax())] == "Happy"


def test_predict_proba_shapes(fitted: EmotionModel) -> None:
    x, _ = _data(seed=3, n=6)
    assert fitted.predict_proba(x[0]).shape == (1, 3)
    np.testing.assert_allclose(fitted.predict_proba(x).sum(1), 1.0)
    with pytest.raises(ValueError, match=f"expected {N_FEATURES} features, got 5"):
        fitted.predict_proba(x[:, :5])


def test_card_hash_mismatch(saved: Path) -> None:
    card_file = card_path(saved)
    card = json.loads(card_file.read_text())
    card["sha256"] = "0" * 64
    card_file.write_text(json.dumps(card))
    with pytest.raises(ModelError, match="does not match its card emotion.card.json"):
        load_model(saved)


def test_changed_model_file_no_longer_matches_its_card(saved: Path) -> None:
    saved.write_bytes(saved.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(saved)


def test_missing_card(saved: Path) -> None:
    card_path(saved).unlink()
    with pytest.raises(ModelError, match=r"model card .*emotion.card.json is missing"):
        load_model(saved)
    assert load_model(saved, require_card=False).classes == CLASSES


def test_card_that_is_not_json(saved: Path) -> None:
    card_path(saved).write_text("{not json")
    with pytest.raises(ModelError, match="is not valid JSON"):
        load_model(saved)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="model file not found: .*none.joblib"):
        load_model(tmp_path / "none.joblib")


def _write_with_card(path: Path, payload: object) -> None:
    """Write any pickle under `path` with a card whose hash matches it."""
    joblib.dump(payload, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    card_path(path).write_text(json.dumps({"sha256": digest}))


@pytest.mark.parametrize(
    "payload",
    [
        {"pipeline": None, "classes": ["a"]},  # a dict without the format
        {"format": "other-model/3"},
        ["not", "a", "dict"],
        np.zeros(3),
    ],
)
def test_another_kind_of_pickle(tmp_path: Path, payload: object) -> None:
    path = tmp_path / "other.joblib"
    _write_with_card(path, payload)
    with pytest.raises(ModelError, match="is not a PosEmotion model"):
        load_model(path)


def test_pickle_of_a_class_that_does_not_exist(tmp_path: Path) -> None:
    # protocol 2 pickle of `nonexistent_module.Thing()`
    path = tmp_path / "alien.joblib"
    path.write_bytes(b"\x80\x02cnonexistent_module\nThing\nq\x00)\x81q\x01.")
    with pytest.raises(ModelError, match="not a readable model file"):
        load_model(path, require_card=False)
    with pytest.raises(ModuleNotFoundError):
        pickle.loads(path.read_bytes())  # the file really is that pickle


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage", "empty", "text"])
@pytest.mark.parametrize("require_card", [True, False])
def test_corrupt_file(saved: Path, damage: str, require_card: bool) -> None:
    data = saved.read_bytes()
    mid = len(data) // 2
    broken = {
        "truncated": data[:mid],
        "flipped": data[:mid] + bytes(b ^ 0xFF for b in data[mid : mid + 64]) + data[mid + 64 :],
        "garbage": np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "empty": b"",
        "text": b"hello, I am not a model\n",
    }[damage]
    saved.write_bytes(broken)
    match = (
        "does not match its card"
        if require_card
        else "not a readable model file|not a PosEmotion model"
    )
    with pytest.raises(ModelError, match=match):
        load_model(saved, require_card=require_card)


def test_another_feature_version(tmp_path: Path, fitted: EmotionModel) -> None:
    path = tmp_path / "old.joblib"
    current = FEATURE_VERSIONS["motion"]
    old = EmotionModel(fitted.pipeline, CLASSES, "motion", fitted.window, N_FEATURES,
                       feature_version=current + 7)  # fmt: skip
    save_model(old, path)
    with pytest.raises(
        ModelError,
        match=rf"set 'motion' version {current + 7}, but this code computes version {current}",
    ):
        load_model(path)


def test_an_unknown_feature_set(tmp_path: Path, fitted: EmotionModel) -> None:
    path = tmp_path / "legacy.joblib"
    save_model(EmotionModel(fitted.pipeline, CLASSES, "legacy", fitted.window, N_FEATURES,
                            feature_version=1), path)  # fmt: skip
    with pytest.raises(ModelError, match=r"feature set 'legacy' .* only \['image', 'motion'"):
        load_model(path)


def test_another_feature_count(tmp_path: Path) -> None:
    """A model whose vectors are not what this code's vectorize gives is refused."""
    x, y = _data()
    pipeline = make_classifier("rf", "none", seed=0).fit(x[:, :6], y)
    path = tmp_path / "short.joblib"
    save_model(EmotionModel(pipeline, CLASSES, "motion", WindowSpec(), 6), path)
    with pytest.raises(
        ModelError, match=rf"expects 6 features, but feature set 'motion' gives {N_FEATURES} here"
    ):
        load_model(path)


def test_another_joint_set(tmp_path: Path, fitted: EmotionModel) -> None:
    path = tmp_path / "joints.joblib"
    save_model(EmotionModel(fitted.pipeline, CLASSES, "motion", fitted.window, N_FEATURES,
                            joints=("head", "tail")), path)  # fmt: skip
    with pytest.raises(ModelError, match=r"uses joints \['head', 'tail'\]"):
        load_model(path)


def test_failed_save_keeps_the_old_model(saved: Path, fitted: EmotionModel, monkeypatch) -> None:
    before = saved.read_bytes(), card_path(saved).read_bytes()

    def broken_dump(obj: object, filename: object, **kwargs: object) -> None:
        Path(filename).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(models.joblib, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        save_model(fitted, saved)
    assert (saved.read_bytes(), card_path(saved).read_bytes()) == before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["emotion.card.json", "emotion.joblib"]
    monkeypatch.undo()
    assert load_model(saved).classes == CLASSES


@pytest.mark.parametrize("name", sorted(MODEL_FACTORIES))
@pytest.mark.parametrize("balance", BALANCING)
def test_make_classifier_fits_and_predicts(name: str, balance: str) -> None:
    x, y = _data(seed=4, n=150)
    y = y.copy()
    y[:30:3] = "Sad"  # imbalanced: 60 Sad, 50 Neutral, 40 Happy
    pipeline = make_classifier(name, balance, seed=0)
    assert pipeline.steps[0][0] == "scale" and pipeline.steps[-1][0] == "clf"
    resamples = balance in ("smote", "undersample")
    assert ("balance" in dict(pipeline.steps)) == resamples
    fit_classifier(pipeline, x, y, balance)
    proba = pipeline.predict_proba(x)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    assert (pipeline.predict(x) == y).mean() > 0.6  # learnt something (chance: 0.4)


def test_make_classifier_is_reproducible() -> None:
    x, y = _data(seed=5, n=60)
    a = make_classifier("rf", "smote", seed=3).fit(x, y).predict_proba(x)
    b = make_classifier("rf", "smote", seed=3).fit(x, y).predict_proba(x)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("name", "balance", "match"),
    [
        (
            "xgboost",
            "weights",
            r"`model` must be one of \['et', 'mlp', 'rf', 'svm'\], got 'xgboost'",
        ),
        (
            "svm",
            "oversample",
            r"`balance` must be one of \['none', 'weights', 'smote', 'undersample'\]",
        ),
        ("SVM", "none", r"`model` must be one of"),
    ],
)
def test_make_classifier_rejects_unknown_names(name: str, balance: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_classifier(name, balance)
