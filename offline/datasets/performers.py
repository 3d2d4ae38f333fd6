"""Who performed a motion-capture clip: the person group that evaluation holds out.

A model is judged on people it never saw, so every movement carries a `person` group.
Where a dataset names its performers (a table's `subject` column, a skeleton file's
`group`, a video sidecar's `person`) that name is used. The Bandai-Namco files name no
performer, but each capture session left its own skeleton in the BVH header (the rest
offsets: hips height, head end site): clips with the same header are one performer.
In `bandai-namco-motion-1` that gives three (hash the header's OFFSET lines to see it):
P1 performed every angry, happy and sad clip and 8 of the normal ones, P2 the other 8
normal clips (bow, bye, call x2, dash, run, walk-back, walk), P0 the other styles
(active, childish, chimpira, giant, masculinity, old, tired); two normal clips
(respond, dance-short) have headers of their own and stay groups of their own.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

# Header signatures (`skeleton_signature`) of the Bandai-Namco performers named above.
KNOWN_SKELETONS: Final[dict[str, str]] = {
    "649e05f9": "bandai-P1",
    "4974c4e0": "bandai-P2",
    "f7959f7f": "bandai-P0",
}
_HEADER_LIMIT: Final[int] = 1 << 20  # bytes: a BVH hierarchy is a few kilobytes


def skeleton_signature(path: str | Path) -> str:
    """8 hex digits identifying a BVH file's skeleton: its hierarchy's OFFSET lines
    (rounded to 0.1 file units, so float printing does not split a performer)."""
    offsets = []
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read(_HEADER_LIMIT)
    for line in text.splitlines():
        words = line.split()
        if words and words[0].upper() == "MOTION":
            break
        if len(words) >= 4 and words[0].upper() == "OFFSET":
            try:
                offsets.append(" ".join(f"{float(v):.1f}" for v in words[1:4]))
            except ValueError:
                offsets.append(" ".join(words[1:4]))
    return hashlib.sha1("\n".join(offsets).encode()).hexdigest()[:8]


def performer_of(path: str | Path) -> str:
    """The person group of a BVH clip whose dataset names no performer: a known
    Bandai-Namco performer, else `skeleton-<signature>` (one group per skeleton)."""
    signature = skeleton_signature(path)
    return KNOWN_SKELETONS.get(signature, f"skeleton-{signature}")


def scene_partners(rows: list[tuple[str, str]]) -> dict[str, str]:
    """Person -> group, joining people recorded together in one scene.

    `rows` are (person, scene) where `scene` identifies a take (e.g. the trial number,
    description and length): two people with a clip of the same scene were recorded
    together (a conversation, a quarrel), and one's movement answers the other's, so they
    are one group, named by their sorted names joined with "+" ("18+19")."""
    parent: dict[str, str] = {}

    def root(p: str) -> str:
        while parent.setdefault(p, p) != p:
            p = parent[p]
        return p

    by_scene: dict[str, str] = {}
    for person, scene in rows:
        root(person)
        if scene in by_scene:
            a, b = root(by_scene[scene]), root(person)
            if a != b:
                parent[max(a, b)] = min(a, b)
        else:
            by_scene[scene] = person
    members: dict[str, list[str]] = {}
    for p in parent:
        members.setdefault(root(p), []).append(p)
    names = {r: "+".join(sorted(m, key=_natural)) for r, m in members.items()}
    return {p: names[root(p)] for p in parent}


def _natural(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (1 << 30, name)
