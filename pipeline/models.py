"""Classifiers and the model file format shared by `train.py` and `realtime/`.

A model file (`*.joblib`) holds a dict: the fitted scikit-learn pipeline, the class
labels, the feature set and its version, the window settings, the joint set and free-form
metadata (training data, evaluation figures, library versions). Beside it a JSON model
card (`*.card.json`) repeats the metadata and the file's sha256. `load_model` checks the
hash against the card *before* unpickling, and refuses a feature set or window this code
does not compute the same way, so a model can never be fed features it was not trained on.
"""

from __future__ import annotations

import json
import pickle
import struct
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
from pipeline.forest import FlatForest
from pipeline.io import atomic_path, file_sha256, write_text_atomic
from pipeline.pose import PoseSettings
from pipeline.window import WindowSpec

FORMAT: Final[str] = "posemotion-model/1"
DEFAULT_MODEL: Final[Path] = Path(__file__).resolve().parents[1] / "models" / "emotion.joblib"


class ModelError(ValueError):
    """A model file that cannot be used; the message says why and what to do."""


def _svm(seed: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    # Platt-scaled probabilities (what SVC(probability=True) did before scikit-learn 1.9).
    svc = SVC(C=3.0, gamma="scale", random_state=seed)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=3, ensemble=False)


def _rf(seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=300, min_samples_leaf=5, max_features="sqrt", random_state=seed, n_jobs=1
    )


def _et(seed: int) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier

    # Extremely randomised trees: the most accurate across held-out actions (README).
    # Leaves of >= 10 windows halve the shipped file (11 MB, not 21) at the same grouped
    # accuracy (0.793 vs 0.796 on mocap, 0.741 vs 0.747 on the video path).
    return ExtraTreesClassifier(
        n_estimators=300, min_samples_leaf=10, max_features="sqrt", random_state=seed, n_jobs=1
    )


def _mlp(seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=(64,), alpha=1.0, max_iter=2000, random_state=seed)


MODEL_FACTORIES: Final[dict[str, Callable[[int], Any]]] = {
    "svm": _svm,
    "rf": _rf,
    "et": _et,
    "mlp": _mlp,
}
BALANCING: Final[tuple[str, ...]] = ("none", "weights", "smote", "undersample")


def make_classifier(name: str, balance: str = "weights", seed: int = 0) -> Any:
    """A fresh pipeline: standard scaling -> (resampling) -> classifier.

    Args:
        name: one of `MODEL_FACTORIES` ("svm", "rf", "et", "mlp").
        balance: "none"; "weights" (fit with `balanced_weights` as sample weights);
            "smote" or "undersample" (imbalanced-learn, applied only when fitting; the
            study undersampled).
        seed: random seed.
    """
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import Pipeline
    from imblearn.under_sampling import RandomUnderSampler
    from sklearn.preprocessing import StandardScaler

    if name not in MODEL_FACTORIES:
        raise ValueError(f"`model` must be one of {sorted(MODEL_FACTORIES)}, got {name!r}")
    if balance not in BALANCING:
        raise ValueError(f"`balance` must be one of {list(BALANCING)}, got {balance!r}")
    steps: list[tuple[str, Any]] = [("scale", StandardScaler())]
    if balance == "smote":
        steps.append(("balance", SMOTE(random_state=seed)))
    elif balance == "undersample":
        steps.append(("balance", RandomUnderSampler(random_state=seed)))
    steps.append(("clf", MODEL_FACTORIES[name](seed)))
    return Pipeline(steps)


def balanced_weights(
    labels: npt.NDArray[Any], clips: npt.NDArray[Any] | None = None
) -> npt.NDArray[np.float64]:
    """Sample weights giving every class the same total weight (mean weight 1).

    With `clips` (one id per sample), every clip also weighs the same within its class,
    so one long recording cannot dominate its class.
    """
    labels = np.asarray(labels)
    if clips is None:
        clips = np.arange(labels.size)
    _, clip_index, clip_count = np.unique(clips, return_inverse=True, return_counts=True)
    w = 1.0 / clip_count[clip_index]
    _, label_index = np.unique(labels, return_inverse=True)
    w /= np.bincount(label_index, weights=w)[label_index]
    weights: npt.NDArray[np.float64] = w * labels.size / w.sum()
    return weights


def fit_classifier(
    pipeline: Any,
    x: npt.NDArray[np.float32],
    y: npt.NDArray[Any],
    balance: str = "weights",
    clips: npt.NDArray[Any] | None = None,
) -> Any:
    """Fit a `make_classifier` pipeline; with balance="weights", weighted by `balanced_weights`."""
    if balance == "weights":
        return pipeline.fit(x, y, clf__sample_weight=balanced_weights(y, clips))
    return pipeline.fit(x, y)


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
        self._fast = _fast_predictor(self.pipeline)
        # columns of the pipeline's probabilities (its sorted classes_) in `classes` order
        self._order = [list(self.pipeline.classes_).index(c) for c in self.classes]

    def predict_proba(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """(n_features,) or (N, n_features) -> (N, C) probabilities in `classes` order."""
        x = np.atleast_2d(vectors)
        if x.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} features, got {x.shape[1]}")
        proba = self._fast(x) if self._fast is not None else self.pipeline.predict_proba(x)
        return proba[:, self._order]

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


def _fast_predictor(
    pipeline: Any,
) -> Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float64]] | None:
    """scaler -> forest pipelines as numpy arithmetic + `FlatForest` (same probabilities,
    ~0.2 ms instead of ~13 ms for one window); None for other pipelines."""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.preprocessing import StandardScaler

    steps = [est for _, est in getattr(pipeline, "steps", []) if not hasattr(est, "fit_resample")]
    if len(steps) != 2 or type(steps[0]) is not StandardScaler:
        return None
    scaler, forest = steps
    if not isinstance(forest, (RandomForestClassifier, ExtraTreesClassifier)):
        return None
    if not (scaler.with_mean and scaler.with_std) or getattr(forest, "n_outputs_", 1) != 1:
        return None
    flat = FlatForest.from_estimator(forest)

    def predict(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        # StandardScaler.transform's arithmetic, with its rounding in the input's precision
        x = np.asarray(x)
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
        z = (x - scaler.mean_).astype(dtype, copy=False)
        return flat.predict_proba((z / scaler.scale_).astype(dtype, copy=False))

    return predict


def card_path(model_path: str | Path) -> Path:
    """`models/emotion.joblib` -> `models/emotion.card.json`."""
    p = Path(model_path)
    return p.with_name(p.stem + ".card.json")


def save_model(model: EmotionModel, path: str | Path) -> Path:
    """Write the model and its card atomically; returns the card's path."""
    payload = {**model.header(), "pipeline": model.pipeline, "metadata": model.metadata}
    with atomic_path(path) as tmp:
        joblib.dump(payload, tmp, compress=3)
        digest = file_sha256(tmp)
    card = card_path(path)
    write_text_atomic(card, json.dumps(model.card(digest), indent=2, default=str) + "\n")
    return card


def load_model(path: str | Path, *, require_card: bool = True) -> EmotionModel:
    """Load and check a model file.

    Raises:
        FileNotFoundError: no such model file.
        ModelError: no card or a card whose sha256 differs, not a model file, or a feature
            set / version / joint set this code does not compute.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path} (train one with `python train.py`)")
    card_file = card_path(path)
    if require_card:
        if not card_file.is_file():
            raise ModelError(f"model card {card_file} is missing; re-save the model with train.py")
        try:
            card = json.loads(card_file.read_text())
        except (OSError, ValueError) as e:
            raise ModelError(f"model card {card_file} is not valid JSON: {e}") from None
        digest = file_sha256(path)
        if not isinstance(card, dict) or card.get("sha256") != digest:
            raise ModelError(
                f"{path} does not match its card {card_file.name} (sha256 {digest[:12]}…); "
                "the file was changed or replaced: retrain or restore it"
            )
    try:
        payload = joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, TypeError,
            AttributeError, ModuleNotFoundError, ImportError, OSError, zlib.error,
            struct.error) as e:  # fmt: skip
        raise ModelError(f"{path} is not a readable model file ({type(e).__name__}: {e})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path} is not a PosEmotion model (expected format {FORMAT!r})")
    feature_set = payload["feature_set"]
    if FEATURE_VERSIONS.get(feature_set) != payload["feature_version"]:
        raise ModelError(
            f"{path} was trained on feature set {feature_set!r} version "
            f"{payload['feature_version']}, but this code computes "
            + (
                f"version {FEATURE_VERSIONS[feature_set]}"
                if feature_set in FEATURE_VERSIONS
                else f"only {sorted(FEATURE_VERSIONS)}"
            )
            + "; retrain the model with this version of train.py"
        )
    if tuple(payload["joints"]) != skeleton.JOINTS:
        raise ModelError(
            f"{path} uses joints {payload['joints']}, expected {list(skeleton.JOINTS)}"
        )
    window = WindowSpec.from_dict(payload["window"])
    n = feature_count(feature_set, window.n_frames)
    if n != int(payload["n_features"]):
        raise ModelError(
            f"{path} expects {payload['n_features']} features, but feature set "
            f"{feature_set!r} gives {n} here; retrain it with this version of train.py"
        )
    if not payload["classes"]:
        raise ModelError(f"{path} has no classes")
    try:  # files from before the card recorded them were made with the defaults
        pose = PoseSettings.from_dict(payload.get("pose", {}))
    except (TypeError, ValueError) as e:
        raise ModelError(f"{path} has invalid pose settings: {e}") from None
    return EmotionModel(
        pipeline=payload["pipeline"],
        classes=tuple(payload["classes"]),
        feature_set=feature_set,
        feature_version=payload["feature_version"],
        window=window,
        n_features=int(payload["n_features"]),
        joints=tuple(payload["joints"]),
        pose=pose,
        metadata=dict(payload.get("metadata", {})),
    )
