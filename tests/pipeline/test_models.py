"""Tests for pipeline/models.py: classifiers, the model file and its card."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io as sio

from offline.training.classifiers import (  # models are built offline, loaded live
    BALANCING,
    MODEL_FACTORIES,
    fit_classifier,
    make_classifier,
)
from pipeline import models
from pipeline.features import FEATURE_VERSIONS, feature_count
from pipeline.models import (
    EmotionModel,
    ModelError,
    card_path,
    load_model,
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
    path = tmp_path / "emotion.skops"
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
    assert sorted(p.name for p in saved.parent.iterdir()) == ["emotion.card.json", "emotion.skops"]


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
    with pytest.raises(FileNotFoundError, match="model file not found: .*none.skops"):
        load_model(tmp_path / "none.skops")


def _write_with_card(path: Path, payload: object) -> None:
    """Write any payload (skops) under `path` with a card whose hash matches it."""
    sio.dump(payload, path)
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
    path = tmp_path / "other.skops"
    _write_with_card(path, payload)
    with pytest.raises(ModelError, match="is not a PosEmotion model"):
        load_model(path)


def test_pickle_of_a_class_that_does_not_exist(tmp_path: Path) -> None:
    # protocol 2 pickle of `nonexistent_module.Thing()`
    path = tmp_path / "alien.joblib"
    path.write_bytes(b"\x80\x02cnonexistent_module\nThing\nq\x00)\x81q\x01.")
    with pytest.raises(ModelError, match="not a skops model file.*--trust-pickle"):
        load_model(path, require_card=False)
    with pytest.raises(ModelError, match="not a readable model file"):
        load_model(path, require_card=False, trust_pickle=True)
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
        else "not a readable model file|not a PosEmotion model|not a skops model file"
    )
    with pytest.raises(ModelError, match=match):
        load_model(saved, require_card=require_card)


def test_another_feature_version(tmp_path: Path, fitted: EmotionModel) -> None:
    path = tmp_path / "old.skops"
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
    path = tmp_path / "legacy.skops"
    save_model(EmotionModel(fitted.pipeline, CLASSES, "legacy", fitted.window, N_FEATURES,
                            feature_version=1), path)  # fmt: skip
    only = r"only \['effort', 'image', 'motion'"
    with pytest.raises(ModelError, match=r"feature set 'legacy' .* " + only):
        load_model(path)


def test_another_feature_count(tmp_path: Path) -> None:
    """A model whose vectors are not what this code's vectorize gives is refused."""
    x, y = _data()
    pipeline = make_classifier("rf", "none", seed=0).fit(x[:, :6], y)
    path = tmp_path / "short.skops"
    save_model(EmotionModel(pipeline, CLASSES, "motion", WindowSpec(), 6), path)
    with pytest.raises(
        ModelError, match=rf"expects 6 features, but feature set 'motion' gives {N_FEATURES} here"
    ):
        load_model(path)


def test_a_classifier_fitted_on_another_feature_count_is_refused(tmp_path: Path) -> None:
    """#19 items 8, 19: a header saying the right count over a classifier fitted on 10
    features loaded, then failed mid-run ("operands could not be broadcast")."""
    x, y = _data()
    pipeline = make_classifier("rf", "none", seed=0).fit(x[:, :10], y)
    header = EmotionModel(pipeline, CLASSES, "motion", WindowSpec(), 10).header()
    path = tmp_path / "ten.skops"
    _write_with_card(path, {**header, "n_features": N_FEATURES, "pipeline": pipeline})
    with pytest.raises(ModelError, match=rf"expects 10 features, its header says {N_FEATURES}"):
        load_model(path)


def test_a_classifier_with_numbers_for_classes_is_refused(tmp_path: Path, fitted) -> None:
    """#19 item 19: integer classes gave "'0' is not in list"."""
    x, y = _data()
    numbers = np.unique(y, return_inverse=True)[1]
    pipeline = make_classifier("rf", "none", seed=0).fit(x, numbers)
    path = tmp_path / "numbers.skops"
    payload = {**fitted.header(), "classes": ["0", "1", "2"], "pipeline": pipeline}
    _write_with_card(path, payload)
    with pytest.raises(ModelError, match=r"classes \[0, 1, 2\] are not names"):
        load_model(path)


def test_another_joint_set(tmp_path: Path, fitted: EmotionModel) -> None:
    path = tmp_path / "joints.skops"
    save_model(EmotionModel(fitted.pipeline, CLASSES, "motion", fitted.window, N_FEATURES,
                            joints=("head", "tail")), path)  # fmt: skip
    with pytest.raises(ModelError, match=r"uses joints \['head', 'tail'\]"):
        load_model(path)


def test_failed_save_keeps_the_old_model(saved: Path, fitted: EmotionModel, monkeypatch) -> None:
    before = saved.read_bytes(), card_path(saved).read_bytes()

    def broken_dump(obj: object, filename: object, **kwargs: object) -> None:
        Path(filename).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(sio, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        save_model(fitted, saved)
    assert (saved.read_bytes(), card_path(saved).read_bytes()) == before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["emotion.card.json", "emotion.skops"]
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
            r"`balance` must be one of \['none', 'weights', 'content', 'person', 'smote', "
            r"'undersample'\]",
        ),
        ("SVM", "none", r"`model` must be one of"),
    ],
)
def test_make_classifier_rejects_unknown_names(name: str, balance: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_classifier(name, balance)


# --- issue #11: a model file that cannot run code; schema; model and card as one pair


def test_model_files_are_skops_and_old_pickles_need_trust(saved, fitted, tmp_path) -> None:
    assert saved.read_bytes()[:4] == b"PK\x03\x04"  # a skops (zip) archive, not a pickle
    old = tmp_path / "old.joblib"
    payload = {**fitted.header(), "pipeline": fitted.pipeline, "metadata": {}}
    joblib.dump(payload, old)
    card_path(old).write_text(json.dumps({"sha256": hashlib.sha256(old.read_bytes()).hexdigest()}))
    with pytest.raises(ModelError, match="pickle can run code.*--trust-pickle"):
        load_model(old)
    assert load_model(old, trust_pickle=True).classes == CLASSES


class Untrusted:  # defined in a test module: not ours to trust
    pass


def test_untrusted_types_are_refused_before_loading(tmp_path) -> None:
    path = tmp_path / "evil.skops"
    _write_with_card(path, {"format": models.FORMAT, "pipeline": Untrusted()})
    with pytest.raises(ModelError, match=r"types this code does not trust \(.*Untrusted"):
        load_model(path)


def _crafted(path: Path, module: str, name: str, args: tuple) -> None:
    """A skops model file whose pipeline is `module.name(*args)`: skops resolves the name as
    an attribute of the module and calls it (`ConstructorFromReduceNode`); with a card."""
    data = sio.dumps({"format": models.FORMAT, "pipeline": args})
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        files = {n: z.read(n) for n in z.namelist()}
    schema = json.loads(files["schema.json"])
    schema["content"]["pipeline"] = {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": schema["content"]["pipeline"],
        "__id__": 1,
    }
    files["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, content in files.items():
            z.writestr(n, content)
    card_path(path).write_text(
        json.dumps({"sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    )


OWN_MODULES = ("pipeline.models", "pipeline.projection")
OWN_NAMES = [
    (module, name)
    for module in OWN_MODULES
    for name in sorted(vars(importlib.import_module(module)))
]


@pytest.mark.parametrize(("module", "name"), OWN_NAMES, ids=[f"{m}.{n}" for m, n in OWN_NAMES])
def test_a_file_naming_any_function_or_name_of_our_modules_is_refused(
    tmp_path, monkeypatch, module, name
) -> None:
    """#19 item 1: every name in our modules (functions, imported helpers, constants), not
    only classes, was trusted by its module, so a file could call any of them."""
    if f"{module}.{name}" in models.TRUSTED_TYPES:
        pytest.skip("a trusted estimator class")  # see the test below
    loads = []
    monkeypatch.setattr(sio, "load", lambda *a, **k: loads.append(a) or {})
    path = tmp_path / "crafted.skops"
    _crafted(path, module, name, (str(tmp_path / "x"), b"data"))
    with pytest.raises(ModelError, match=rf"types this code does not trust \(.*{module}\.{name}"):
        load_model(path)
    assert loads == []  # refused before skops built anything from the file


def test_only_exact_estimator_classes_of_ours_are_trusted() -> None:
    ours = sorted(t for t in models.TRUSTED_TYPES if t.startswith("pipeline."))
    assert ours == ["pipeline.projection.ContentProjection"]
    assert not models._allowed("pipeline.models.write_bytes_atomic")
    assert not models._allowed("pipeline.projection.knn_distance")
    assert not models._allowed("pipeline.projection.ContentProjection.fit")


def test_a_crafted_file_cannot_write_a_pickle_and_then_load_it(tmp_path) -> None:
    """The audit's chain: write_bytes_atomic(pickle) through one file, then
    _read_payload(that pickle, True) through another; neither runs."""
    marker, dropped = tmp_path / "ran", tmp_path / "evil.pkl"

    class Touch:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    first, second = tmp_path / "a.skops", tmp_path / "b.skops"
    _crafted(first, "pipeline.models", "write_bytes_atomic", (str(dropped), pickle.dumps(Touch())))
    _crafted(second, "pipeline.models", "_read_payload", (str(dropped), True))
    for path in (first, second):
        with pytest.raises(ModelError, match="does not trust"):
            load_model(path)
    assert not dropped.exists() and not marker.exists()


def test_every_model_train_py_makes_holds_only_trusted_types() -> None:
    x, y = _data(seed=6, n=60)
    clips, contents = np.arange(60) % 12, np.arange(60) % 4
    # every classifier, both first steps, and each balancing that adds a step
    kinds = [(name, "content", 0) for name in sorted(MODEL_FACTORIES)]
    kinds += [("rf", balance, 2) for balance in BALANCING if balance != "content"]
    for name, balance, projection in kinds:
        pipeline = make_classifier(name, balance, seed=0, projection=projection)
        fit_classifier(pipeline, x, y, balance, clips=clips, contents=contents)
        found = sio.get_untrusted_types(data=sio.dumps({"pipeline": pipeline}))
        assert [t for t in found if not models._allowed(t)] == [], (name, balance)


def test_the_shipped_model_loads() -> None:
    assert load_model(models.DEFAULT_MODEL).classes


@pytest.mark.parametrize(
    "change, pattern",
    [
        (lambda p: p.pop("feature_version"), "no 'feature_version' field"),
        (lambda p: p.update(window="abc"), "bad 'window' field"),
        (lambda p: p.update(window={"window_s": "x"}), "invalid window settings"),
        (lambda p: p.update(n_features="12"), "bad 'n_features' field"),
        (lambda p: p.update(feature_version=True), "bad 'feature_version' field"),
        (lambda p: p.update(pipeline="not an estimator"), "no fitted classifier"),
        (lambda p: p.update(pipeline=None), "no fitted classifier"),
        (lambda p: p.update(classes=["Sad", "Happy", "Angry"]), "its classifier knows"),
        (lambda p: p.update(classes=[1, 2, 3]), "not distinct names"),
        (lambda p: p.update(joints="abc"), "bad .joints. field"),
        (lambda p: p.update(pose=[1]), "bad 'pose' or 'metadata'"),
    ],
)
def test_payload_fields_are_checked_against_the_schema(tmp_path, fitted, change, pattern) -> None:
    payload = {**fitted.header(), "pipeline": fitted.pipeline, "metadata": {}}
    change(payload)
    path = tmp_path / "bad.skops"
    _write_with_card(path, payload)
    with pytest.raises(ModelError, match=pattern):
        load_model(path)


def test_a_save_killed_between_card_and_model_is_finished_on_load(saved, fitted) -> None:
    """The card is renamed first; a kill before the model's rename leaves the new model's
    temporary file, which the next load moves into place."""
    newer = EmotionModel(fitted.pipeline, CLASSES, "motion", fitted.window, N_FEATURES,
                         metadata={"trained_on": "newer"})  # fmt: skip
    other = saved.parent / "other" / saved.name
    save_model(newer, other)
    pid_gone = 2**22 + 1
    os.replace(other, saved.parent / f".{saved.name}.~posemotion-{pid_gone}.abcd1234.tmp")
    os.replace(card_path(other), card_path(saved))  # the state after the card's rename
    assert load_model(saved).metadata["trained_on"] == "newer"
    assert sorted(p.name for p in saved.parent.iterdir() if p.is_file()) == [
        "emotion.card.json", "emotion.skops"]  # fmt: skip


def test_an_error_between_card_and_model_restores_the_old_card(saved, fitted, monkeypatch):
    before = saved.read_bytes(), card_path(saved).read_bytes()
    real = os.replace

    def replace(src, dst):
        if Path(dst) == saved:
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="No space"):
        save_model(fitted, saved)
    monkeypatch.undo()
    assert (saved.read_bytes(), card_path(saved).read_bytes()) == before
    assert load_model(saved).classes == CLASSES


def test_save_refuses_a_path_that_is_not_a_regular_file(tmp_path, fitted) -> None:
    fifo = tmp_path / "pipe.skops"
    os.mkfifo(fifo)
    with pytest.raises(ModelError, match="not a regular file"):
        save_model(fitted, fifo)
    assert fifo.is_fifo() and not card_path(fifo).exists()
    with pytest.raises(ModelError, match="not a regular file"):
        save_model(fitted, tmp_path)


@pytest.mark.parametrize("kind", ["directory", "fifo"])
@pytest.mark.parametrize("which", ["model", "card"])
def test_a_folder_or_fifo_is_named_as_such_not_as_missing(saved: Path, kind, which) -> None:
    """#19 item 17: a directory or FIFO given as the model (or at its card's path) was
    reported "not found" (and a FIFO card would block the read)."""
    target = saved if which == "model" else card_path(saved)
    target.unlink()
    if kind == "directory":
        target.mkdir()
    else:
        os.mkfifo(target)
    shown = "a directory" if kind == "directory" else "not a regular file \\(a FIFO or device\\)"
    with pytest.raises(
        ModelError, match=rf"model {'path' if which == 'model' else 'card'} .* is {shown}"
    ):
        load_model(saved)


def test_a_deeply_nested_card_is_one_clear_error(saved: Path) -> None:
    """#19 item 16: "maximum recursion depth exceeded", naming no file."""
    card_path(saved).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelError, match=r"model card .*emotion.card.json is nested too deeply"):
        load_model(saved)
