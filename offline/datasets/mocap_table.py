"""Motion capture labelled in a spreadsheet: `data/*.bvh` + `labels.csv` + `joint_map.json`.

The layout any BVH library takes once someone lists its clips in a table (as
../shared/data/cmu-emotion does; ../shared/data/cmu-everyday lists its clips in
`everyday.csv`, with no labels). The table is `labels.csv`, else the folder's only
`*.csv`; it has a header row and one row per clip:

- `clip`: the file name in `data/` without `.bvh` (required);
- `label`: the emotion (Anger, Happy, Neutral, Sad or another name `offline.labels`
  accepts), or empty (or no such column) for a clip of another style or of no style
  asked for: auxiliary data, never a label;
- `person` (or `subject`): who performed it; the person-held-out evaluation holds out
  one person at a time. People recorded together in one scene (the same trial number,
  description and length, e.g. two partners of a quarrel) are joined into one group;
- `style` (how it is done, e.g. "jaunty"), `content` (or `kind`: the action: walk,
  stand, ...), `description`, `frames`: optional.

`joint_map.json` is the skeleton's body map (`offline.mocap.body.BodyMap.from_json`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from offline.datasets.clip import Clip
from offline.datasets.performers import performer_of, scene_partners
from offline.labels import LABEL_ALIASES, STYLE_LABELS, canonical_label
from pipeline.io import check_regular_file, read_text

TABLE: Final[str] = "labels.csv"
PERSON_COLUMNS: Final[tuple[str, ...]] = ("person", "subject", "group")


def table_of(root: str | Path) -> Path | None:
    """The clip table of a folder with `data/`: `labels.csv`, else its only `*.csv`."""
    root = Path(root)
    if not (root / "data").is_dir():
        return None
    if (root / TABLE).exists():
        return root / TABLE
    tables = sorted(root.glob("*.csv"))
    return tables[0] if len(tables) == 1 else None


def list_table_clips(root: str | Path, styles: Sequence[str] | None = None) -> list[Clip]:
    """The clips `labels.csv` lists, sorted by file name.

    `styles` (Bandai-Namco style names, e.g. happy sad angry normal) keeps the rows whose
    label is one of their emotions or whose style has one of those names; None keeps all.

    Raises:
        FileNotFoundError: the table or a clip it names is missing.
        ValueError: a malformed table (no `clip` column, a clip listed twice, an unknown
            label); the message names the file and row.
    """
    root = Path(root)
    path = table_of(root) or root / TABLE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a file (the table of clips and labels)")
    rows = list(csv.DictReader(io.StringIO(read_text(path, "label table"))))
    header = set(rows[0]) if rows else set()
    if "clip" not in header:
        raise ValueError(f"{path}: the header must name the column `clip` (and `label`)")
    person_key = next((k for k in PERSON_COLUMNS if k in header), None)
    wanted = None
    if styles is not None:
        wanted = {STYLE_LABELS.get(s, s) for s in styles} | set(styles)
    parsed: list[tuple[Clip, str]] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        name = (row.get("clip") or "").strip()
        if not name or name in seen:
            why = "has no clip name" if not name else f"lists clip {name!r} again"
            raise ValueError(f"{path} line {line} {why}")
        seen.add(name)
        bvh = root / "data" / f"{name}.bvh"
        if bvh.exists():  # a folder or FIFO is named as such, never opened
            check_regular_file(bvh, f"{path} line {line}: clip {name!r}:")
        if not bvh.is_file():
            raise FileNotFoundError(f"{path} line {line}: clip {name!r} has no file {bvh}")
        text = (row.get("label") or "").strip()
        try:
            label = canonical_label(text) if text else None
        except ValueError:
            raise ValueError(
                f"{path} line {line}: label {text!r} is not an emotion; use one of "
                f"{', '.join(sorted(set(LABEL_ALIASES.values())))} or leave it empty"
            ) from None
        style = (row.get("style") or "").strip() or (text.lower() if text else "unlabelled")
        person = (row.get(person_key) or "").strip() if person_key else ""
        content = (row.get("content") or row.get("kind") or "").strip() or "unknown"
        scene = "|".join([name.rsplit("_", 1)[-1], row.get("description") or name,
                          row.get("frames") or ""])  # fmt: skip
        parsed.append((Clip(bvh, content, style, person or performer_of(bvh), label), scene))
    # partners are found over the whole table, so choosing styles cannot change a group
    partners = scene_partners([(c.person, scene) for c, scene in parsed])
    clips = [
        Clip(c.path, c.content, c.style, partners[c.person], c.label)
        for c, _ in parsed
        if wanted is None or c.label in wanted or c.style in wanted
    ]
    return sorted(clips, key=lambda c: c.path.name)
