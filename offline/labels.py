"""Emotion label names: the one table of canonical names and accepted spellings, and the
one canonicaliser every dataset reader and command-line option uses."""

from __future__ import annotations

from typing import Final

# Canonical label names; dataset readers map their own spellings onto these.
EMOTIONS: Final[tuple[str, ...]] = (
    "Happy",
    "Sad",
    "Fear",
    "Surprise",
    "Disgust",
    "Anger",
    "Neutral",
)
EMOTION_NAMES = {e.lower(): e for e in EMOTIONS}  # exact names, any case
# Spellings also accepted in folder names (lower case).
LABEL_ALIASES: dict[str, str] = {
    **EMOTION_NAMES,
    "happiness": "Happy", "joy": "Happy", "joyful": "Happy",
    "sadness": "Sad",
    "fearful": "Fear", "afraid": "Fear", "scared": "Fear",
    "surprised": "Surprise",
    "disgusted": "Disgust",
    "angry": "Anger",
    "normal": "Neutral", "calm": "Neutral",
}  # fmt: skip


def canonical_label(name: str) -> str:
    """The canonical emotion for a label or folder name (case-insensitive, aliases accepted).

    Raises:
        ValueError: an unknown name; the message lists the valid ones.
    """
    label = LABEL_ALIASES.get(name.strip().lower())
    if label is None:
        raise ValueError(
            f"label folder {name!r} is not an emotion; use one of {', '.join(EMOTIONS)} "
            f"(or {', '.join(sorted(k for k in LABEL_ALIASES if k.title() not in EMOTIONS))})"
        )
    return label


# Motion-capture styles that are emotions (Bandai-Namco `cfg/style_label.txt` names).
STYLE_LABELS: Final[dict[str, str]] = {
    "happy": "Happy",
    "sad": "Sad",
    "angry": "Anger",
    "normal": "Neutral",
}


def label_option(name: str) -> str:
    """A `--labels` value (a canonical name or a mocap style name, any case) as the
    canonical label; other names (folder aliases such as "joy" included) are returned as
    given, for the caller to report."""
    return {**EMOTION_NAMES, **STYLE_LABELS}.get(name.strip().lower(), name)


def style_names(labels: tuple[str, ...]) -> list[str]:
    """Mocap style names for labels given either way ("Anger" or "angry" -> "angry")."""
    by_label = {v.lower(): k for k, v in STYLE_LABELS.items()}
    return [by_label.get(lab.strip().lower(), lab.strip().lower()) for lab in labels]
