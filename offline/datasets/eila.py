"""The study's EiLA video dataset: people in videos, boxed per frame and labelled by annotators.

Layout::

    <root>/annotations/annotations.csv
    <root>/videos/<Video Tag>.mp4

CSV columns: `Video Tag`, `Clip Id`, `Labels`, `Frame Number`, `X`, `Y`, `Width`, `Height`,
`Person Id` (others are ignored). `X`, `Y` are the box's top-left corner and `Width`,
`Height` its size, all in percent of the frame's width / height (y down). `Frame Number`
is the 0-based frame index in the video. `Labels` is a Python literal list of each
annotator's label list, e.g. `[['Happy'], ['Happy', 'Neutral'], ['Happy']]`, parsed with
`ast.literal_eval` (never `eval`).

A segment is one (`Video Tag`, `Clip Id`, `Person Id`): its rows, sorted by frame number,
become one `Movement` (t_s = frame / fps). Pose runs on the person's box (padded by
`PoseSettings.crop_padding`), so other people in the frame are ignored; image-plane joints
are mapped back to the whole frame (image heights, y up) as in the live app.

Label: the most frequent label over all rows and annotators of the segment, counted with
`collections_extended.bag`; `No annotation` is ignored. Tie rule: among the labels tied
for the highest count, the one that comes first in `EMOTIONS` (Happy, Sad, Fear, Surprise,
Disgust, Anger, Neutral) wins, so an emotion beats Neutral; tied segments are listed in
the report. A segment with only `No annotation` is skipped and reported.
"""

from __future__ import annotations

import ast
import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from collections_extended import bag

from offline.datasets.folders import VIDEO_EXTENSIONS, video_sequences
from offline.datasets.movement import Movement
from offline.datasets.registry import DatasetReport
from offline.keypoints.cache import KeypointCache
from offline.keypoints.run import VideoJob, extract_streams
from offline.keypoints.stream import StreamRequest
from offline.labels import EMOTION_NAMES, EMOTIONS
from offline.progress import Progress
from pipeline.io import read_text
from pipeline.pose import PoseSettings
from pipeline.validate import FRAME_NUMBERS

COLUMNS = (
    "Video Tag", "Clip Id", "Labels", "Frame Number", "X", "Y", "Width", "Height", "Person Id",
)  # fmt: skip
BOX_COLUMNS = ("X", "Y", "Width", "Height")
BOX_PERCENT = (-1000.0, 1000.0)  # a box value, percent of the frame: ten frames either way
IGNORED_LABEL = "no annotation"
_MAX_LISTED = 10  # rows named in one error message


class AnnotationError(ValueError):
    """A malformed annotations.csv; the message names the file, the problem and the rows."""


@dataclass(frozen=True)
class Segment:
    """One person in one clip of one video.

    Attributes:
        tag, clip, person: `Video Tag`, `Clip Id`, `Person Id`.
        frames: (N,) increasing frame indices.
        boxes: (N, 4) person boxes (x0, y0, x1, y1) as fractions of frame width/height.
        label: majority label, or None if every annotation was `No annotation`.
        tied: True when the tie rule decided `label`.
    """

    tag: str
    clip: str
    person: str
    frames: npt.NDArray[np.int64]
    boxes: npt.NDArray[np.float64]
    label: str | None
    tied: bool = False

    @property
    def name(self) -> str:
        return f"{self.tag}/{self.clip}/{self.person}"

    @property
    def groups(self) -> dict[str, str]:
        t = self.tag
        return {"video": t, "clip": f"{t}/{self.clip}", "person": f"{t}/{self.person}"}


def majority_label(labels: Iterable[str]) -> tuple[str | None, bool]:
    """The most frequent canonical label and whether the tie rule decided it.

    Counts with `collections_extended.bag`; a tie goes to the label first in `EMOTIONS`.
    Returns (None, False) for no labels.
    """
    counts = bag(labels)
    if not counts:
        return None, False
    top = max(n for _, n in counts.counts())
    best = [label for label, n in counts.counts() if n == top]
    return min(best, key=EMOTIONS.index), len(best) > 1


def parse_labels(text: str) -> list[str]:
    """All labels of one `Labels` cell, canonical names, `No annotation` dropped.

    Raises:
        ValueError: not a list (of lists) of strings, or a label outside `EMOTIONS`.
    """
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as e:
        raise ValueError(f"`Labels` must be a list of label lists, got {text!r}") from e
    if not isinstance(value, list | tuple):
        raise ValueError(f"`Labels` must be a list of label lists, got {text!r}")
    flat: list[object] = []
    for item in value:  # one annotator's labels (a bare string counts as one label)
        flat.extend(item if isinstance(item, list | tuple) else [item])
    out = []
    for label in flat:
        if not isinstance(label, str):
            raise ValueError(f"`Labels` must hold strings, got {label!r} in {text!r}")
        key = label.strip().lower()
        if key == IGNORED_LABEL:
            continue
        if key not in EMOTION_NAMES:
            raise ValueError(f"unknown label {label!r}")
        out.append(EMOTION_NAMES[key])
    return out


@lru_cache(maxsize=4096)
def _parse_labels_cached(text: str) -> tuple[str, ...]:
    return tuple(parse_labels(text))  # many rows repeat the same cell


def read_annotations(csv_path: str | Path) -> list[Segment]:
    """Parse and check annotations.csv into segments (no video is opened).

    Raises:
        FileNotFoundError: no such file.
        AnnotationError: empty file, wrong delimiter, missing columns, or rows with a
            non-integer frame number, non-numeric or out-of-frame box, bad `Labels`
            literal or unknown label (all bad rows are named in one message).
    """
    path = Path(csv_path)
    text = read_text(path, "annotations", encoding="utf-8-sig")  # never a folder or FIFO
    if not text.strip():
        raise AnnotationError(f"{path} is empty; expected a header row with {_names(COLUMNS)}")
    reader = csv.reader(io.StringIO(text))
    lines = _csv_rows(reader, path)
    header = [h.strip() for h in next(lines)]
    _check_header(path, header)
    col = {name: header.index(name) for name in COLUMNS}
    problems: dict[str, list[str]] = defaultdict(list)
    rows: dict[tuple[str, str, str], list[tuple[int, tuple[float, ...], tuple[str, ...]]]] = {}
    n_rows = 0
    for values in lines:
        if not any(v.strip() for v in values):
            continue
        n_rows += 1
        line = reader.line_num
        cell = {name: (values[i].strip() if i < len(values) else "") for name, i in col.items()}
        empty = [c for c in ("Video Tag", "Clip Id", "Person Id") if not cell[c]]
        if empty:
            problems["`Video Tag`, `Clip Id` and `Person Id` must not be empty"].append(
                f"line {line} ({', '.join(empty)})"
            )
        frame = _frame_number(cell["Frame Number"])
        if frame is None:
            problems[f"`Frame Number` must be an integer {_range(FRAME_NUMBERS)}"].append(
                f"line {line} ({cell['Frame Number']!r})"
            )
        box = _box(cell)
        if box is None:
            problems[
                f"box (X, Y, Width, Height) must be numbers {_range(BOX_PERCENT)} (percent)"
            ].append(f"line {line}")
        elif not _box_in_frame(box):
            problems["box must have Width, Height > 0 and overlap the frame (0-100 %)"].append(
                f"line {line} {box}"
            )
        try:
            labels = _parse_labels_cached(cell["Labels"])
        except ValueError as e:
            problems[
                f"bad `Labels` (valid labels: {', '.join(EMOTIONS)}, or 'No annotation')"
            ].append(f"line {line}: {e}")
            labels = ()
        if frame is not None and box is not None and not empty:
            key = (cell["Video Tag"], cell["Clip Id"], cell["Person Id"])
            rows.setdefault(key, []).append((frame, box, labels))
    if n_rows == 0:
        raise AnnotationError(f"{path} has a header but no rows")
    if problems:
        raise AnnotationError(
            f"{path}: "
            + "; ".join(f"{what}: {_shorten(where)}" for what, where in problems.items())
        )
    return [_segment(key, seg_rows) for key, seg_rows in rows.items()]


def _csv_rows(reader: Iterator[list[str]], path: Path) -> Iterator[list[str]]:
    """The rows of `reader`; a row the csv module cannot read (a cell over its 128 KiB
    field limit, an unclosed quote) is an AnnotationError naming the file and line."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            line = getattr(reader, "line_num", "?")
            raise AnnotationError(
                f"{path}: line {line} cannot be read as CSV ({e}); an annotation cell is "
                "short: fix that line (an unclosed quote?) or the file"
            ) from None


def _check_header(path: Path, header: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in header]
    if not missing:
        return
    line = ",".join(header)
    for delimiter in (";", "\t", "|"):
        if sum(c in [h.strip() for h in line.split(delimiter)] for c in COLUMNS) >= 2:
            raise AnnotationError(
                f"{path}: the delimiter looks wrong (found {delimiter!r}); "
                f"save the file comma-separated with columns {_names(COLUMNS)}"
            )
    raise AnnotationError(f"{path} is missing columns {_names(missing)}; found {_names(header)}")


def _frame_number(text: str) -> int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    low, high = FRAME_NUMBERS
    return int(value) if value.is_integer() and low <= value <= high else None


def _range(limits: tuple[float, float]) -> str:
    return f"from {limits[0]:.0f} to {limits[1]:.0f}"


def _box(cell: dict[str, str]) -> tuple[float, ...] | None:
    try:
        box = tuple(float(cell[c].rstrip("%")) for c in BOX_COLUMNS)
    except ValueError:
        return None
    low, high = BOX_PERCENT
    return box if all(low <= v <= high for v in box) else None  # NaN too


def _box_in_frame(box: tuple[float, ...]) -> bool:
    x, y, w, h = box
    return w > 0 and h > 0 and x < 100 and y < 100 and x + w > 0 and y + h > 0


def _segment(
    key: tuple[str, str, str], rows: list[tuple[int, tuple[float, ...], tuple[str, ...]]]
) -> Segment:
    """Rows of one segment -> frames in order, boxes as fractions, majority label.

    A frame listed twice keeps its first box; the labels of every row count.
    """
    first: dict[int, tuple[float, ...]] = {}
    for frame, box, _ in rows:
        first.setdefault(frame, box)
    frames = np.array(sorted(first), np.int64)
    xywh = np.array([first[f] for f in frames.tolist()], np.float64) / 100.0
    boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    label, tied = majority_label(label for *_, labels in rows for label in labels)
    return Segment(*key, frames=frames, boxes=boxes, label=label, tied=tied)


def video_path(root: Path, tag: str) -> Path:
    """`<root>/videos/<tag>.mp4` (or `<root>/videos/<tag>` if the tag has a video suffix)."""
    videos = root / "videos"
    return videos / tag if Path(tag).suffix.lower() in VIDEO_EXTENSIONS else videos / f"{tag}.mp4"


def read_eila(
    root: str | Path,
    *,
    cache: KeypointCache | None = None,
    pose_model: str | Path | None = None,
    settings: PoseSettings | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
) -> tuple[list[Movement], DatasetReport]:
    """Read an EiLA-layout dataset into one `Movement` per labelled segment.

    Args:
        root: the folder holding `annotations/annotations.csv` and `videos/`.
        cache: keypoint cache (a second run skips pose); None to always extract.
        pose_model: PoseLandmarker .task bundle; None for the built-in one.
        settings: pose settings (crop padding, thresholds).
        n_jobs: videos processed in parallel (joblib).
        progress: told how pose extraction advances (`offline.progress`).

    Returns:
        The movements (source "video", groups video / clip / person) and a report of
        missing videos, frames past the end or unreadable, skipped segments and ties.

    Raises:
        FileNotFoundError: no annotations.csv.
        AnnotationError: a malformed annotations.csv (see `read_annotations`).
    """
    root = Path(root)
    segments = read_annotations(root / "annotations" / "annotations.csv")
    report = DatasetReport()
    labelled = []
    for seg in segments:
        if seg.label is None:
            report.skipped[seg.name] = "no label (only 'No annotation')"
        else:
            labelled.append(seg)
            if seg.tied:
                report.ties.append(seg.name)
    by_video: dict[str, list[StreamRequest]] = defaultdict(list)
    for seg in labelled:
        by_video[seg.tag].append(StreamRequest(seg.name, seg.frames, seg.boxes))
    jobs = [VideoJob(video_path(root, tag), tuple(reqs)) for tag, reqs in by_video.items()]
    keypoints, _ = extract_streams(
        jobs, cache=cache, pose_model=pose_model, settings=settings, n_jobs=n_jobs,
        progress=progress, report=report,
    )  # fmt: skip
    named = [(seg.name, seg.label or "", seg.groups) for seg in labelled]
    return video_sequences(named, keypoints, report), report


def _names(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _shorten(items: list[str]) -> str:
    more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return ", ".join(items[:_MAX_LISTED]) + more
