"""One motion-capture clip and its labels, as both mocap layouts list it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Clip:
    """One BVH file and its labels.

    Attributes:
        path: the .bvh file.
        content: the action ("walk", "bow", ...). style: the dataset's style name.
        person: who performed it (the group a person-held-out evaluation holds out).
        label: the canonical emotion, or None for a style that is no emotion (auxiliary).
    """

    path: Path
    content: str
    style: str
    person: str = ""
    label: str | None = None

    @property
    def movement_label(self) -> str:
        """The label its movements carry: the emotion, else the style's own name."""
        return self.label or self.style.capitalize()
