"""Motion-capture datasets: BVH clips with style labels and the person who performed them.

Two layouts, both `data/*.bvh`:
- Bandai-Namco (see ../shared/data/bandai-namco-motion-1/SOURCE.md): a `.json` beside each
  clip holding {"content": i, "style": j}, indices into `cfg/content_label.txt` and
  `cfg/style_label.txt`; the performer is told by the skeleton (`performers.performer_of`).
- A labelled table (`offline.datasets.mocap_table`, as ../shared/data/cmu-emotion): one
  `labels.csv` row per clip naming its person, label, style and content, and a
  `joint_map.json` body map.

Each clip becomes one `Movement` per virtual camera view: the 3D skeleton from forward
kinematics (metres, y up) read through a body map (`offline.mocap.body.from_bvh`, the
Bandai-Namco joint names by default) and its projection into that camera's image plane,
optionally with per-frame jitter so that image-plane features learn to tolerate landmark
noise. `list_clips` is the one reader of this layout (the renderer uses it too).
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from offline.datasets.clip import Clip
from offline.datasets.mocap_table import list_table_clips, table_of
from offline.datasets.movement import Movement
from offline.datasets.performers import performer_of
from offline.datasets.views import view_movements
from offline.labels import STYLE_LABELS
from offline.mocap.body import BANDAI, BodyMap, from_bvh
from offline.mocap.bvh import DEFAULT_UNIT_M, BVHError, BVHNotFinite, clip_files, read_bvh
from pipeline.io import read_json, read_text

# Style names of the Bandai-Namco data -> our label names. Other styles keep their own name.
DEFAULT_STYLES = ("happy", "sad", "angry", "normal")


@dataclass(frozen=True, slots=True)
class MocapOptions:
    """How mocap clips are turned into movements.

    Attributes:
        styles: which styles to read (file label names, e.g. "happy"); default the
            emotions; None: every style.
        views_deg: camera yaws around the subject, degrees (one movement per view).
        distance_m: camera distance, metres.
        image_jitter: per-frame Gaussian noise on image-plane joints, as a fraction of the
            body's image height (PoseLandmarker's 2D error is about 0.02).
        world_jitter_m: per-frame Gaussian noise on 3D joints, metres.
        seed: random seed for the jitter.
        body: which BVH joint is which body part (`BodyMap.from_json` for another
            skeleton than Bandai-Namco's); None: the dataset's own `joint_map.json` if it
            has one, else Bandai-Namco's.
        unit_m: metres per BVH file unit (0.01: centimetres, as in the Bandai-Namco files).
    """

    styles: tuple[str, ...] | None = DEFAULT_STYLES
    views_deg: tuple[float, ...] = (0.0,)
    distance_m: float = 3.0
    image_jitter: float = 0.0
    world_jitter_m: float = 0.0
    seed: int = 0
    body: BodyMap | None = None
    unit_m: float = DEFAULT_UNIT_M


def dataset_body(root: str | Path, joint_map: str | Path | None = None) -> BodyMap:
    """The body map a mocap dataset is read with: `joint_map` when given (`--joint-map`),
    else the dataset's own `joint_map.json` if it has one, else Bandai-Namco's."""
    own = Path(joint_map) if joint_map is not None else Path(root) / "joint_map.json"
    return BodyMap.from_json(own) if joint_map is not None or own.is_file() else BANDAI


def list_clips(root: str | Path, styles: Seq[str] | None = None) -> list[Clip]:
    """The labelled clips of a motion-capture folder (either layout), sorted by file name.

    `styles`: Bandai-Namco style names to keep (a table keeps the rows whose label is
    that style's emotion, or whose style has that name); None keeps every clip.

    Raises:
        FileNotFoundError: `root` or its label files are missing.
        ValueError: a label file points outside the label lists, or an unknown style is asked for.
    """
    root = Path(root)
    data = root / "data"
    if not data.is_dir():
        raise FileNotFoundError(f"no data/ folder in {root} (expected the Bandai-Namco layout)")
    if table_of(root) is not None:
        return list_table_clips(root, styles)
    contents = label_names(root / "cfg" / "content_label.txt")
    style_names = label_names(root / "cfg" / "style_label.txt")
    if styles is not None:
        unknown = sorted(set(styles) - set(style_names))
        if unknown:
            raise ValueError(f"unknown style(s) {unknown}; {root} has {sorted(style_names)}")
    clips = []
    for bvh in clip_files(data):  # a FIFO or folder named *.bvh is refused, never opened
        meta = bvh.with_suffix(".json")
        if not meta.is_file():
            raise FileNotFoundError(f"{bvh.name} has no label file {meta.name}")
        try:
            labels = read_json(meta, "label file")
            content, style = (
                contents[_index(labels, "content")],
                style_names[_index(labels, "style")],
            )
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise ValueError(
                f"label file {meta}: bad label file ({type(e).__name__}: {e}); it must be "
                '{"content": i, "style": j}, indices into the lines of cfg/*_label.txt'
            ) from None
        if styles is None or style in styles:
            clips.append(Clip(bvh, content, style, performer_of(bvh), STYLE_LABELS.get(style)))
    return clips


def _index(labels: object, key: str) -> int:
    """`labels[key]` as a line index: a non-negative int (not a bool, float or negative)."""
    if not isinstance(labels, dict):
        raise TypeError(f"expected a JSON object, got {type(labels).__name__}")
    value = labels[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key!r} must be a non-negative integer index, got {value!r}")
    return value


def label_names(path: Path) -> list[str]:
    """Label names from a cfg file, without the `dataset-1_` prefix."""
    if not path.is_file():
        raise FileNotFoundError(f"label file not found: {path}")
    lines = [ln.strip() for ln in read_text(path, "label list").splitlines() if ln.strip()]
    return [ln.split("_", 1)[1] if "_" in ln else ln for ln in lines]


def read_mocap(
    root: str | Path,
    options: MocapOptions | None = None,
    *,
    skipped: dict[str, str] | None = None,
) -> list[Movement]:
    """Read a Bandai-Namco-layout folder into movements (one per clip and view).

    A clip whose motion holds NaN or infinite values (`BVHNotFinite`) is no data: it is
    left out and put in `skipped` (file name -> why); without `skipped`, it is an error.

    Raises:
        ValueError: no clips, a malformed clip, or (without `skipped`) a non-finite one,
            or every clip skipped; the message names the files.
    """
    options = options or MocapOptions()
    clips = list_clips(root, options.styles)
    if options.body is None:
        options = replace(options, body=dataset_body(root))
    if not clips:
        asked = "" if options.styles is None else f" with styles {list(options.styles)}"
        raise ValueError(f"no clips{asked} in {root}")
    rng = np.random.default_rng(options.seed)
    movements = []
    left_out: dict[str, str] = {}
    for clip in clips:
        try:
            movements.extend(clip_sequences(clip, options, rng))
        except BVHNotFinite as e:
            if skipped is None:
                raise ValueError(str(e)) from None
            left_out[clip.path.name] = str(e).removeprefix(f"{clip.path}: ")
    if skipped is not None:
        skipped.update(left_out)
    if not movements:
        items = ", ".join(f"{k} ({v})" for k, v in list(left_out.items())[:3])
        raise ValueError(f"no usable clips in {root}: all {len(clips)} skipped, e.g. {items}")
    return movements


def clip_sequences(clip: Clip, options: MocapOptions, rng: np.random.Generator) -> list[Movement]:
    """One clip seen from each of `options.views_deg`."""
    try:
        motion = read_bvh(clip.path, unit_m=options.unit_m)
    except BVHNotFinite:
        raise
    except BVHError as e:
        raise ValueError(str(e)) from None
    world = from_bvh(motion, options.body or BANDAI)
    label = clip.movement_label
    groups = {"content": clip.content, "clip": clip.path.stem, "person": clip.person}
    return view_movements(
        world,
        motion.t_s,
        label,
        groups,
        clip.path.stem,
        options,
        rng,
        fps=1.0 / motion.frame_time_s,
    )
