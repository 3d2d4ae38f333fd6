"""Classifiers and the model file format shared by `train.py` and `realtime/`.

A model file (`*.skops`, written with `skops.io`: loading it runs no code from the file)
holds a dict: the fitted scikit-learn pipeline, the class labels, the feature set and its
version, the window settings, the joint set and free-form metadata (training data,
evaluation figures, library versions). Beside it a JSON model card (`*.card.json`) repeats
the metadata and the file's sha256; the two are written as one atomic pair. `load_model`
checks the hash against the card and the file's types against `TRUSTED_TYPES` *before*
loading, checks every field of the payload, and refuses a feature set or window this code
does not compute the same way, so a model can never be fed features it was not trained on.
Old pickle (`.joblib`) files are read only when the caller trusts them (`trust_pickle`).
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import joblib
import numpy as np
import numpy.typing as npt

from pipeline import skeleton
from pipeline.features import FEATURE_VERSIONS, feature_count
from pipeline.forest import fast_predictor
from pipeline.io import (
    atomic_path,
    file_sha256,
    temporaries_of,
    write_bytes_atomic,
    write_text_atomic,
)
from pipeline.pose import PoseSettings
from pipeline.projection import ContentProjection
from pipeline.window import WindowSpec

FORMAT: Final[str] = "posemotion-model/1"
DEFAULT_MODEL: Final[Path] = Path(__file__).resolve().parents[1] / "models" / "emotion.skops"


class ModelError(ValueError):
    """A model file that cannot be used; the message says why and what to do."""


@dataclass
class EmotionModel:
    """A fitted classifier with everything needed to feed it the right features."""

    pipeline: Any
    classes: tuple[str, ...]
    feature_set: str
    window: WindowSpec
    n_features: int
    feature_version: int = -1
    joints: tuple[str, ...] = skeleton.JOINTS
    pose: PoseSettings = field(default_factory=PoseSettings)
    metadata: dict[str, Any] = field(default_factory=dict)

    _fast: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float64]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _order: list[int] = field(default_factory=list, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.feature_version < 0:
            self.feature_version = FEATURE_VERSIONS[self.feature_set]
        self._fast = fast_predictor(self.pipeline)
        # columns of the pipeline's probabilities (its sorted classes_) in `classes` order
        self._order = [list(self.pipeline.classes_).index(c) for c in self.classes]

    def predict_proba(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """(n_features,) or (N, n_features) -> (N, C) probabilities in `classes` order."""
        x = np.atleast_2d(vectors)
        if x.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} features, got {x.shape[1]}")
        proba = self._fast(x) if self._fast is not None else self.pipeline.predict_proba(x)
        return proba[:, self._order]

    def unfamiliar(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_] | None:
        """(N,) True where a window is further from every training window than the model's
        novelty threshold (`pipeline.novelty`); None for models without reference windows."""
        first = self.pipeline.steps[0][1] if hasattr(self.pipeline, "steps") else None
        if not isinstance(first, ContentProjection):
            return None
        distance = first.novelty(np.atleast_2d(vectors))
        if distance is None:
            return None
        return np.asarray(distance > first.novelty_threshold_)

    def header(self) -> dict[str, Any]:
        """What a reader must know to feed the model, as in the file and on the card."""
        return {
            "format": FORMAT,
            "classes": list(self.classes),
            "feature_set": self.feature_set,
            "feature_version": self.feature_version,
            "n_features": self.n_features,
            "window": self.window.to_dict(),
            "joints": list(self.joints),
            "pose": self.pose.to_dict(),
        }

    def card(self, sha256: str) -> dict[str, Any]:
        """The JSON model card for a file with this `sha256`."""
        return {**self.header(), "sha256": sha256, **self.metadata}


def card_path(model_path: str | Path) -> Path:
    """`models/emotion.skops` -> `models/emotion.card.json`."""
    p = Path(model_path)
    return p.with_name(p.stem + ".card.json")


# Types a model file may hold besides what skops trusts by itself (builtins, numpy arrays):
# checked by their exact full name before anything is loaded. Never a module prefix: skops
# resolves a name as an attribute of its module and may call it with arguments from the
# file, so a trusted module would let a file call every function imported there.
TRUSTED_TYPES: Final[frozenset[str]] = frozenset({
    "imblearn.pipeline.Pipeline",
    "imblearn.over_sampling._smote.base.SMOTE",
    "imblearn.under_sampling._prototype_selection._random_under_sampler.RandomUnderSampler",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._label.LabelBinarizer",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.tree._tree.Tree",
    "sklearn.svm._classes.SVC",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.neighbors._unsupervised.NearestNeighbors",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.bool_",
    "numpy.float32",
    "numpy.float64",
    "numpy.int32",
    "numpy.int64",
    "numpy.str_",
    "pipeline.projection.ContentProjection",  # the project's own estimator
})  # fmt: skip
_ZIP_MAGIC: Final[bytes] = b"PK\x03\x04"  # a skops file is a zip archive


def _allowed(type_name: str) -> bool:
    """Whether a type named in a model file may be loaded: exactly one of `TRUSTED_TYPES`."""
    return type_name in TRUSTED_TYPES


def _plain(value: Any) -> Any:
    """`value` as JSON-like builtins (Paths and other objects as strings), for the file."""
    return json.loads(json.dumps(value, default=str))


def save_model(model: EmotionModel, path: str | Path) -> Path:
    """Write the model (skops, loading runs no code) and its card as one atomic pair.

    Both are written under temporary names first; then the card is renamed into place,
    then the model. A process killed between the two renames leaves the new model's
    temporary file beside the new card, and `load_model` finishes the rename (see
    `recover_interrupted_save`); an error between them puts the previous card back. So a
    model and a card that do not belong together are never left in place. Returns the
    card's path.

    Raises:
        ModelError: `path` exists and is not a regular file (a folder, device or FIFO is
            never replaced).
    """
    import skops.io as sio

    path = Path(path)
    if path.exists() and not path.is_file():
        raise ModelError(f"{path} exists and is not a regular file; give another model path")
    payload = {
        **model.header(),
        "pipeline": model.pipeline,
        "metadata": _plain(model.metadata),
    }
    card = card_path(path)
    previous_card = card.read_bytes() if card.is_file() else None
    card_written = False
    try:
        with atomic_path(path) as tmp:
            sio.dump(payload, tmp, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
            digest = file_sha256(tmp)
            text = json.dumps(model.card(digest), indent=2, default=str) + "\n"
            write_text_atomic(card, text)
            card_written = True
    except BaseException:
        if card_written:  # the model was not renamed: the previous card belongs to it
            if previous_card is None:
                card.unlink(missing_ok=True)
            else:
                write_bytes_atomic(card, previous_card)
        raise
    return card


def recover_interrupted_save(path: str | Path) -> bool:
    """Finish a `save_model` killed between its two renames: when the card's sha256 is not
    the model file's but is that of our temporary file beside it (`temporaries_of`), move
    that file into place. Returns whether it did."""
    path = Path(path)
    try:
        card = json.loads(card_path(path).read_text(encoding="utf-8"))
        expected = card.get("sha256") if isinstance(card, dict) else None
        if not isinstance(expected, str) or (path.is_file() and file_sha256(path) == expected):
            return False
        for tmp in temporaries_of(path):
            if tmp.name.endswith(".tmp") and tmp.is_file() and file_sha256(tmp) == expected:
                os.replace(tmp, path)
                return True
    except (OSError, ValueError, RecursionError):
        return False
    return False


def _read_payload(path: Path, trust_pickle: bool) -> Any:
    """The file's payload: skops (only trusted types), or a pickle with `trust_pickle`."""
    import skops.io as sio

    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise ModelError(f"cannot read model file {path}: {e.strerror}") from None
    if magic == _ZIP_MAGIC:
        try:
            untrusted = sio.get_untrusted_types(file=path)
            refused = sorted(t for t in untrusted if not _allowed(t))
            if refused:
                raise ModelError(
                    f"{path} holds types this code does not trust ({', '.join(refused[:5])}); "
                    "it was not made by train.py: retrain the model with train.py"
                )
            return sio.load(path, trusted=untrusted)
        except ModelError:
            raise
        except Exception as e:  # noqa: BLE001 - zip, JSON and format errors all mean "corrupt"
            raise ModelError(
                f"{path} is not a readable model file ({type(e).__name__}: {e}); "
                "retrain it with train.py or restore it"
            ) from None
    if not trust_pickle:
        raise ModelError(
            f"{path} is not a skops model file (an old pickle/joblib model, or not a model): "
            "loading a pickle can run code, so it is refused; retrain it with train.py, or "
            "pass --trust-pickle if you trust where the file came from"
        )
    try:
        return joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, TypeError,
            AttributeError, ModuleNotFoundError, ImportError, OSError, zlib.error,
            struct.error) as e:  # fmt: skip
        raise ModelError(f"{path} is not a readable model file ({type(e).__name__}: {e})") from None


def _field(path: Path, payload: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """`payload[name]`, checked to be a `kind` (bools are not numbers here)."""
    if name not in payload:
        raise ModelError(f"{path} has no {name!r} field; retrain it with train.py")
    value = payload[name]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        value = None
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ModelError(
            f"{path} has a bad {name!r} field (expected {names}, got {payload[name]!r:.60}); "
            "retrain it with train.py"
        )
    return value


def load_model(
    path: str | Path, *, require_card: bool = True, trust_pickle: bool = False
) -> EmotionModel:
    """Load and check a model file.

    The file is a skops archive: its list of types is checked against `TRUSTED_TYPES`
    before anything is built, and loading it runs no code from the file. A pickle (an old
    `.joblib` model) is read only with `trust_pickle` (the CLIs' `--trust-pickle`). Every
    field of the payload is checked against the schema of `EmotionModel.header`.

    Raises:
        FileNotFoundError: no such model file.
        ModelError: no card or a card whose sha256 differs, not a model file, a field
            missing or of the wrong type, or a feature set / version / joint set this code
            does not compute.
    """
    path = Path(path)
    card_file = card_path(path)
    for what, file in (("model path", path), ("model card", card_file)):
        if file.exists() and not file.is_file():  # never opened: a FIFO would block
            kind = "a directory" if file.is_dir() else "not a regular file (a FIFO or device)"
            raise ModelError(f"{what} {file} is {kind}; give the model file")
    if card_file.is_file():
        recover_interrupted_save(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path} (train one with `python train.py`)")
    if require_card:
        if not card_file.is_file():
            raise ModelError(f"model card {card_file} is missing; re-save the model with train.py")
        try:
            card = json.loads(card_file.read_text())
        except RecursionError:
            raise ModelError(f"model card {card_file} is nested too deeply to be a card") from None
        except (OSError, ValueError) as e:
            raise ModelError(f"model card {card_file} is not valid JSON: {e}") from None
        digest = file_sha256(path)
        if not isinstance(card, dict) or card.get("sha256") != digest:
            raise ModelError(
                f"{path} does not match its card {card_file.name} (sha256 {digest[:12]}…); "
                "the file was changed or replaced: retrain or restore it"
            )
    payload = _read_payload(path, trust_pickle)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path} is not a PosEmotion model (expected format {FORMAT!r})")
    return _from_payload(path, payload)


def _from_payload(path: Path, payload: dict[str, Any]) -> EmotionModel:
    """The model of a payload, every field checked (one `ModelError` line per problem)."""
    feature_set = _field(path, payload, "feature_set", str)
    feature_version = _field(path, payload, "feature_version", int)
    n_features = _field(path, payload, "n_features", int)
    classes = _field(path, payload, "classes", (list, tuple))
    joints = _field(path, payload, "joints", (list, tuple))
    window_dict = _field(path, payload, "window", dict)
    pose_dict = payload.get("pose", {})  # files from before the card recorded it: defaults
    metadata = payload.get("metadata", {})
    if not isinstance(pose_dict, dict) or not isinstance(metadata, dict):
        raise ModelError(f"{path} has a bad 'pose' or 'metadata' field; retrain it with train.py")
    if FEATURE_VERSIONS.get(feature_set) != feature_version:
        raise ModelError(
            f"{path} was trained on feature set {feature_set!r} version "
            f"{feature_version}, but this code computes "
            + (
                f"version {FEATURE_VERSIONS[feature_set]}"
                if feature_set in FEATURE_VERSIONS
                else f"only {sorted(FEATURE_VERSIONS)}"
            )
            + "; retrain the model with this version of train.py"
        )
    if tuple(joints) != skeleton.JOINTS:
        raise ModelError(f"{path} uses joints {list(joints)}, expected {list(skeleton.JOINTS)}")
    try:
        window = WindowSpec.from_dict(window_dict)
    except (TypeError, ValueError) as e:
        raise ModelError(f"{path} has invalid window settings: {e}") from None
    n = feature_count(feature_set, window.n_frames)
    if n != n_features:
        raise ModelError(
            f"{path} expects {n_features} features, but feature set "
            f"{feature_set!r} gives {n} here; retrain it with this version of train.py"
        )
    if (
        not classes
        or not all(isinstance(c, str) for c in classes)
        or len(set(classes)) != len(classes)
    ):
        raise ModelError(f"{path} has no classes, or classes that are not distinct names")
    pipeline = payload.get("pipeline")
    known = getattr(pipeline, "classes_", None)
    if not callable(getattr(pipeline, "predict_proba", None)) or known is None:
        raise ModelError(
            f"{path} holds no fitted classifier with predict_proba; retrain it with train.py"
        )
    if not all(isinstance(k, str) for k in known):
        raise ModelError(f"{path}: its classifier's classes {list(known)[:5]} are not names; "
                         "retrain it with train.py")  # fmt: skip
    expects = getattr(pipeline, "n_features_in_", n_features)
    if not isinstance(expects, (int, np.integer)) or expects != n_features:
        raise ModelError(f"{path}: its classifier expects {expects!r:.40} features, its header "
                         f"says {n_features}; retrain it with train.py")  # fmt: skip
    if sorted(map(str, known)) != sorted(classes):
        raise ModelError(
            f"{path}: its classifier knows {sorted(map(str, known))}, its header says "
            f"{sorted(classes)}; retrain it with train.py"
        )
    try:
        pose = PoseSettings.from_dict(pose_dict)
    except (TypeError, ValueError) as e:
        raise ModelError(f"{path} has invalid pose settings: {e}") from None
    return EmotionModel(
        pipeline=pipeline,
        classes=tuple(classes),
        feature_set=feature_set,
        feature_version=feature_version,
        window=window,
        n_features=n_features,
        joints=tuple(joints),
        pose=pose,
        metadata=dict(metadata),
    )
