"""One entry point for the four dataset kinds: detect a folder's kind and read it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from offline.datasets.mocap import MocapOptions, read_mocap
from offline.datasets.mocap_table import table_of
from offline.datasets.movement import Movement
from offline.datasets.skeletons import is_skeleton_folder, read_skeletons
from offline.keypoints.cache import KeypointCache
from offline.keypoints.report import ExtractionReport, shorten
from offline.labels import EMOTIONS, label_option, style_names
from offline.progress import Progress
from pipeline.pose import PoseSettings

KINDS = ("mocap", "eila", "folders", "skeletons")
# The evaluation's default grouping: windows of one group never fall on both sides.
DEFAULT_GROUP = {"mocap": "content", "eila": "video", "folders": "video", "skeletons": "group"}


def detect_kind(path: str | Path) -> str:
    """ "mocap" (Bandai-Namco layout, or data/*.bvh + labels.csv), "eila"
    (annotations/annotations.csv), "skeletons"
    (*.npz skeleton files) or "folders" (videos/<label>/*.mp4).

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the folder matches none of the layouts.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {path}")
    if (path / "data").is_dir() and (
        (path / "cfg" / "style_label.txt").is_file() or table_of(path) is not None
    ):
        return "mocap"
    if (path / "annotations" / "annotations.csv").exists():  # a folder is named by the reader
        return "eila"
    if is_skeleton_folder(path):
        return "skeletons"
    if any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir()):
        return "folders"
    raise ValueError(
        f"{path} is not a dataset: expected data/*.bvh + cfg/ or labels.csv (motion capture), "
        "annotations/annotations.csv + videos/ (EiLA), videos/<label>/*.mp4, or *.npz "
        "skeleton files (see offline/datasets/skeletons.py)"
    )


@dataclass
class DatasetReport(ExtractionReport):
    """A video dataset's extraction report plus what the reader could not use.

    Attributes (besides `ExtractionReport`'s):
        skipped: stream/segment/file name -> why no movement was made from it.
        ties: segments whose label was decided by a tie rule (see the reader).
        items: what `skipped` names ("streams", "BVH clips", ...).
        videos: the dataset was read through pose (else no keypoints line).
    """

    skipped: dict[str, str] = field(default_factory=dict)
    ties: list[str] = field(default_factory=list)
    items: str = "streams"
    videos: bool = True

    def lines(self) -> list[str]:
        """The extraction's summary (videos only), then `problems()`."""
        return [*(super().lines()[:1] if self.videos else []), *self.problems()]

    def problems(self) -> list[str]:
        """What could not be used: the extraction's problems, skipped items, tie rules."""
        out = super().lines()[1:]
        if self.skipped:
            items = [f"{k} ({v})" for k, v in self.skipped.items()]
            out.append(f"{len(items)} {self.items} skipped: {shorten(items)}")
        if self.ties:
            out.append(f"{len(self.ties)} labels decided by the tie rule: {shorten(self.ties)}")
        return out


@dataclass(frozen=True)
class ReadOptions:
    """Settings for reading any dataset kind.

    Attributes:
        labels: keep only these labels (canonical names or mocap style names); None = all
            (for motion capture: the emotion styles).
        mocap: how mocap clips become movements (views, jitter).
        cache_dir: keypoint cache folder for video datasets.
        pose_model: PoseLandmarker .task for video datasets; None = built-in.
        pose: PoseLandmarker settings for video datasets (the recipe's, recorded on the card).
        n_jobs: videos processed in parallel.
        progress: told how pose extraction advances (`offline.progress`); None for
            nothing. Not part of equality or hashing: it changes no result.
    """

    labels: tuple[str, ...] | None = None
    mocap: MocapOptions = field(default_factory=MocapOptions)
    cache_dir: Path | None = None
    pose_model: Path | None = None
    pose: PoseSettings = field(default_factory=PoseSettings)
    n_jobs: int = 1
    progress: Progress | None = field(default=None, compare=False)


def read_dataset(
    path: str | Path, kind: str = "auto", options: ReadOptions | None = None
) -> tuple[list[Movement], str, DatasetReport | None]:
    """Read a dataset of any kind; returns (movements, kind, video report or None)."""
    options = options or ReadOptions()
    kind = detect_kind(path) if kind == "auto" else kind
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {['auto', *KINDS]}, got {kind!r}")
    report: DatasetReport | None = None
    wanted = None
    if options.labels is not None and kind != "mocap":  # checked before any pose runs
        wanted = {label_option(lab) for lab in options.labels}
        unknown = wanted - set(EMOTIONS)
        if unknown:
            raise ValueError(f"unknown label(s) {sorted(unknown)}; valid: {', '.join(EMOTIONS)}")
    if kind == "mocap":
        mocap = options.mocap
        if options.labels is not None:
            mocap = replace(mocap, styles=tuple(style_names(options.labels)))
        bad: dict[str, str] = {}  # clips with NaN or infinite values: reported, never data
        movements = read_mocap(path, mocap, skipped=bad)
        report = DatasetReport(skipped=bad, items="BVH clips", videos=False) if bad else None
    elif kind == "skeletons":
        skipped: dict[str, str] = {}
        movements = read_skeletons(path, options.mocap, skipped=skipped)
        report = DatasetReport(skipped=skipped, items="skeleton files", videos=False)
        report = report if skipped else None
    else:
        from offline.datasets.eila import read_eila
        from offline.datasets.folders import read_folders

        reader = read_eila if kind == "eila" else read_folders
        cache = KeypointCache(options.cache_dir) if options.cache_dir else KeypointCache()
        movements, report = reader(
            path,
            cache=cache,
            pose_model=options.pose_model,
            settings=options.pose,
            n_jobs=options.n_jobs,
            progress=options.progress,
        )
    if wanted is not None:
        movements = [m for m in movements if m.label in wanted]
    if not movements:
        # say why (missing videos, nobody found, ...): the report is never printed otherwise
        why = "; ".join(report.problems()) if report is not None else ""
        asked = f" with labels {list(options.labels)}" if options.labels is not None else ""
        raise ValueError(
            f"no usable labelled movements{asked} in {path}" + (f": {why}" if why else "")
        )
    return movements, kind, report
