"""What a trained model's card says: its licence and acknowledgements, and the evaluation
figures (headline protocol first, then the secondary one), with the library versions."""

from __future__ import annotations

import platform
from typing import Any

from offline.training.evaluation import WindowTable
from offline.training.scores import Evaluation

LICENSE_NOTE = (
    "Trained on the Bandai-Namco-Research-Motiondataset-1 (Bandai Namco Research Inc., "
    "CC BY-NC 4.0, https://github.com/BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset). "
    "The model may be used for non-commercial purposes only."
)
CMU_NOTE = (
    "The data used in this project was obtained from mocap.cs.cmu.edu. The database was "
    "created with funding from NSF EIA-0196217."
)


def license_note(notes: list[str]) -> str:
    """The licence and acknowledgements a model owes its motion-capture training data."""
    text = "\n".join(notes).lower()
    parts = [LICENSE_NOTE] if "bandai" in text or "cmu" not in text else []
    return " ".join(parts + ([CMU_NOTE] if "cmu" in text else []))


def secondary_group(group: str, table: WindowTable) -> str | None:
    """The protocol reported beside the headline: action families beside people, contents
    beside families (optimistic), none otherwise or when the data names no action."""
    second = {"person": "family", "family": "content"}.get(group)
    return second if second is not None and second in table.groups else None


def card_evaluation(
    group: str,
    evaluation: Evaluation,
    video_eval: Evaluation | None,
    second: str | None = None,
    second_eval: Evaluation | None = None,
    second_video: Evaluation | None = None,
) -> dict[str, Any]:
    """The model card's evaluation entry: the headline held-out-group figures first (for
    motion capture: people), on the training data and on the video path; then the
    secondary protocol (`secondary_group`: action families, or contents) likewise."""

    def summary(ev: Evaluation, key: str) -> dict[str, Any]:
        out = {
            "balanced_accuracy": ev.scores.balanced_accuracy,
            "accuracy": ev.scores.accuracy,
            "macro_f1": ev.scores.macro_f1,
            "recall": ev.scores.recall,
            f"per_{key}_balanced_accuracy": {
                g: s.balanced_accuracy for g, s in ev.per_group.items()
            },
        }
        if ev.per_dataset:
            out["per_dataset_balanced_accuracy"] = {
                d: s.balanced_accuracy for d, s in ev.per_dataset.items()
            }
        if ev.per_view:
            out["per_view_balanced_accuracy"] = {
                v: s.balanced_accuracy for v, s in ev.per_view.items()
            }
        if ev.unfamiliar:
            out["unfamiliar_share"] = ev.unfamiliar
        return out

    out: dict[str, Any] = {"protocol": f"leave-one-{group}-out", **summary(evaluation, group)}
    out["majority_balanced_accuracy"] = evaluation.majority.balanced_accuracy
    out["chance_balanced_accuracy"] = evaluation.chance["balanced_accuracy"]
    if video_eval is not None:
        out["test_data_balanced_accuracy"] = video_eval.scores.balanced_accuracy
        out["test_data"] = summary(video_eval, group)
    if second is not None and second_eval is not None:
        name = f"leave_one_{second}_out" + ("_optimistic" if second == "content" else "")
        out[name] = summary(second_eval, second)
        if second_video is not None:
            out[name]["test_data"] = summary(second_video, second)
    return out


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model file depends on, for its card."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("numpy", "scikit-learn", "imbalanced-learn", "mediapipe", "joblib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out
