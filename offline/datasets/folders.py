"""Folders of labelled videos, one subfolder per label: `<root>/<label>/*.mp4`.

For people who record their own data with a webcam. Folder names map to the canonical
labels case-insensitively, with common spellings accepted (`angry` -> Anger,
`normal` -> Neutral, `happiness` -> Happy, ...; see `LABEL_ALIASES`). Each whole video is
one `Movement` (training cuts windows from it), grouped by its path relative to `<root>`
plus every string or number of an optional sidecar `<video stem>.json` beside it (the
renderer writes `clip`, `content`, `style`, `view_deg`, `distance_m`, `renderer`), as
strings: {"video": "happy/walk_01.mp4", "content": "walk", "view_deg": "35", ...}.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from offline.datasets.movement import Movement
from offline.datasets.registry import DatasetReport
from offline.keypoints.cache import KeypointCache
from offline.keypoints.run import VideoJob, extract_streams
from offline.keypoints.stream import KeypointStream, StreamRequest
from offline.labels import EMOTIONS, LABEL_ALIASES, canonical_label
from offline.progress import Progress
from pipeline.io import read_json
from pipeline.pose import PoseSettings

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


@dataclass(frozen=True)
class LabelledVideo:
    """One video file with its label and evaluation groups."""

    path: Path
    label: str
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.groups["video"]


def read_sidecar(video: Path) -> dict[str, str]:
    """String and number fields of `<video stem>.json` beside `video`, as strings ({} if none).

    Raises:
        ValueError: the sidecar is not a JSON object.
    """
    sidecar = video.with_suffix(".json")
    if not sidecar.is_file():
        return {}
    try:
        data = read_json(sidecar, "sidecar")
    except ValueError as e:  # not UTF-8, not JSON or nested too deeply
        raise ValueError(f"{e}; fix or delete it") from None
    if not isinstance(data, dict):
        raise ValueError(f"sidecar {sidecar} must hold a JSON object, got {type(data).__name__}")
    return {
        str(k): _as_text(v)
        for k, v in data.items()
        if isinstance(v, str | int | float) and not isinstance(v, bool)
    }


def _as_text(value: str | int | float) -> str:
    """35 -> "35", 35.0 -> "35", 2.5 -> "2.5", "walk" -> "walk"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def scan_folders(root: str | Path) -> list[LabelledVideo]:
    """Every video under `<root>/<label>/` (searched recursively), sorted by path.

    `root` may also be a dataset folder holding `videos/<label>/`. Hidden folders and
    non-video files are ignored.

    Raises:
        FileNotFoundError: `root` does not exist.
        ValueError: unknown label folders (all named), a bad sidecar, or no videos at all.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"video folder not found: {root}")
    if (root / "videos").is_dir():
        root = root / "videos"
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [p.name for p in folders if p.name.strip().lower() not in LABEL_ALIASES]
    if unknown:
        raise ValueError(
            f"{root}: unknown label folders {', '.join(map(repr, unknown))}; "
            f"name each folder after an emotion: {', '.join(EMOTIONS)}"
        )
    videos = []
    for folder in folders:
        label = canonical_label(folder.name)
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file():
                relative = path.relative_to(root).as_posix()
                groups = {**read_sidecar(path), "video": relative}
                videos.append(LabelledVideo(path, label, groups))
    if not videos:
        raise ValueError(
            f"no videos found under {root}; expected {root}/<label>/*.mp4 with <label> one "
            f"of {', '.join(EMOTIONS)}"
        )
    return videos


def read_folders(
    root: str | Path,
    *,
    cache: KeypointCache | None = None,
    pose_model: str | Path | None = None,
    settings: PoseSettings | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
) -> tuple[list[Movement], DatasetReport]:
    """Read a folder-per-label video dataset into one `Movement` per video.

    Args:
        root: the folder holding `<label>/` subfolders (or `videos/<label>/`).
        cache: keypoint cache (a second run skips pose); None to always extract.
        pose_model: PoseLandmarker .task bundle; None for the built-in one.
        settings: pose settings.
        n_jobs: videos processed in parallel (joblib).
        progress: told how pose extraction advances (`offline.progress`).

    Returns:
        The movements (source "video", whole frames) and a report of unreadable videos,
        frames and videos with nobody in them.
    """
    videos = scan_folders(root)
    jobs = [VideoJob(v.path, (StreamRequest(v.name),)) for v in videos]
    report = DatasetReport()
    keypoints, _ = extract_streams(
        jobs, cache=cache, pose_model=pose_model, settings=settings, n_jobs=n_jobs,
        progress=progress, report=report,
    )  # fmt: skip
    labelled = [(v.name, v.label, v.groups) for v in videos]
    return video_sequences(labelled, keypoints, report), report


def video_sequences(
    labelled: Iterable[tuple[str, str, dict[str, str]]],
    keypoints: Mapping[str, KeypointStream],
    report: DatasetReport,
) -> list[Movement]:
    """One `Movement` (source "video") per (name, label, groups) stream whose keypoints
    found someone; each other stream goes into `report.skipped` with the reason."""
    movements = []
    for name, label, groups in labelled:
        stream = keypoints.get(name)
        if stream is None:
            report.skipped[name] = "video missing or unreadable"
        elif stream.frames.size == 0:
            report.skipped[name] = "none of its frames could be decoded"
        elif not stream.found.any():
            report.skipped[name] = "no person found"
        else:
            movements.append(
                Movement(
                    *stream.joints(), stream.t_s, label, dict(groups), source="video", name=name
                )
            )
    return movements
