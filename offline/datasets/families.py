"""Action families: contents that are the same action done a little differently.

The headline evaluation holds out one family at a time, so that a held-out walk is never
scored by a model that trained on three other walks. Families are defined here once, for
the Bandai-Namco contents (both datasets), and apply wherever a movement has a `content`
group (motion capture, and videos rendered from it); any other content is a family of its
own. Waves are grouped with `bye` (waving goodbye) and `byebye`, so that a model scored
on held-out goodbyes has seen no wave of any style.
"""

from __future__ import annotations

from typing import Final

_FAMILY_CONTENTS: Final[dict[str, tuple[str, ...]]] = {
    "walk": ("walk", "walk-back", "walk-left", "walk-right", "walk-turn-left", "walk-turn-right"),
    "run": ("run", "dash"),
    "bow": ("bow",),
    "bye": ("bye", "byebye", "wave-both-hands", "wave-left-hand", "wave-right-hand"),
    "raise": ("raise-up-both-hands", "raise-up-left-hand", "raise-up-right-hand"),
}
FAMILY_OF: Final[dict[str, str]] = {
    content: family for family, contents in _FAMILY_CONTENTS.items() for content in contents
}


def action_family(content: str) -> str:
    """The action family of a content name ("walk-back" -> "walk"); unknown contents are a
    family of their own."""
    return FAMILY_OF.get(content, content)


def with_family(groups: dict[str, str]) -> dict[str, str]:
    """`groups` plus its `family` (from its `content`), unchanged when it has no content."""
    if "content" not in groups or "family" in groups:
        return groups
    return {**groups, "family": action_family(groups["content"])}
