"""What decides a model (`Recipe`), where the work runs (`Resources`), and the data a recipe
reads: datasets -> labelled movements -> window tables.

Every default is stated once, here; `train.py` builds its options from these dataclasses.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from offline.datasets.families import with_family
from offline.datasets.mocap import DEFAULT_STYLES, MocapOptions, dataset_body
from offline.datasets.movement import Movement
from offline.datasets.registry import DEFAULT_GROUP, ReadOptions, detect_kind, read_dataset
from offline.keypoints.report import shorten
from offline.labels import style_names
from offline.mocap.body import BodyMap
from offline.mocap.bvh import DEFAULT_UNIT_M
from offline.progress import Progress, no_progress
from offline.render import DEFAULT_RENDER_DIR, plan_dataset, render_jobs
from offline.training.evaluation import (
    TrainSettings,
    WindowTable,
    single_label_contents,
    window_table,
)
from pipeline.features import DEFAULT_FEATURE_SET
from pipeline.pose import PoseSettings
from pipeline.window import WindowSpec

# Virtual camera yaws (degrees) for 2D features of motion capture; includes the rendered views.
ALL_VIEWS = (-90.0, -60.0, -35.0, 0.0, 35.0, 60.0, 90.0)
# Views the training data is rendered at: front and three-quarters; the mirrored copies of
# the training rows stand for -35 deg (rendering and pose cost about 0.1 s a frame here).
TRAINING_VIEWS = (0.0, 35.0)
SHARED = Path(__file__).resolve().parents[2].parent / "shared/data"
SHARED_MOCAP = SHARED / "bandai-namco-motion-1"
# Emotions acted by 14 people (CMU; data/*.bvh + labels.csv + joint_map.json).
SHARED_PEOPLE = SHARED / "cmu-emotion"
# 10 actions in 7 non-emotion styles: auxiliary data for the content projection.
SHARED_STYLES = SHARED / "bandai-namco-motion-2"
# Ordinary movement of 73 people, no emotion: auxiliary data (projection and novelty).
SHARED_EVERYDAY = SHARED / "cmu-everyday"


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a model: data, windows, features, classifier, augmentation,
    and the pose settings its video data was extracted with (recorded on the card and
    followed by the live app).

    Attributes:
        data: dataset folders. kind: "auto", "mocap", "eila" or "folders".
        labels: labels to keep (canonical or mocap style names); None: the dataset's own.
        stride_s: seconds between the ends of consecutive training windows.
        mirror: add left-right mirrored copies to training folds.
        views_deg: virtual camera yaws for mocap (None: 0 for 3D features, ALL_VIEWS for 2D).
        image_jitter: per-frame noise on projected mocap joints, fraction of body height.
        world_jitter_m: per-frame noise on mocap joints, metres.
        group: the key the evaluation holds out (None: the person when every movement
            names one, else the action family for motion capture and its renders, else
            the dataset kind's default: the video).
        render_views_deg: mocap clips also rendered at these yaws and run through pose.
        render_max_s: only a clip's first seconds are rendered (long CMU takes: 15 s of a
            take gives 70 windows a view; the skeleton path keeps the whole take).
        auxiliary: motion-capture datasets whose clips (every style) only teach the content
            projection what actions look like; no emotion labels are taken from them.
            None: the shared style and everyday datasets when training on the shared
            data, else none.
        other_styles: the training datasets' non-label styles (proud, tired, ...) are
            auxiliary data too.
        single_label_contents: train on contents seen with one label only (e.g. actions
            recorded only as Neutral). Off: they teach "unfamiliar action -> Neutral".
        joint_map: JSON body map for BVH files of another skeleton (`BodyMap.from_json`);
            None: the Bandai-Namco skeleton. unit_m: metres per BVH unit.
    """

    data: tuple[str, ...] = ()
    kind: str = "auto"
    labels: tuple[str, ...] | None = None
    feature_set: str = DEFAULT_FEATURE_SET
    window: WindowSpec = field(default_factory=WindowSpec)
    stride_s: float = 0.4
    train: TrainSettings = field(default_factory=TrainSettings)
    mirror: bool = True
    views_deg: tuple[float, ...] | None = None
    image_jitter: float = 0.02
    world_jitter_m: float = 0.0
    group: str | None = None
    render_views_deg: tuple[float, ...] = TRAINING_VIEWS
    render_max_s: float | None = 15.0
    pose: PoseSettings = field(default_factory=PoseSettings)
    auxiliary: tuple[str, ...] | None = None
    other_styles: bool = True
    single_label_contents: bool = False
    joint_map: str | None = None
    unit_m: float = DEFAULT_UNIT_M

    def __post_init__(self) -> None:
        if not (self.unit_m > 0 and np.isfinite(self.unit_m)):
            raise ValueError(f"--unit-m must be a positive number of metres, got {self.unit_m}")
        if not self.stride_s > 0:
            raise ValueError(f"the window stride must be > 0 seconds, got {self.stride_s}")

    def datasets(self) -> tuple[str, ...]:
        """The recipe's data folders; when none is given, the shared motion capture:
        Bandai-Namco's emotions and CMU's people (those of the two that exist)."""
        if self.data:
            return self.data
        shared = [p for p in (SHARED_MOCAP, SHARED_PEOPLE) if p.is_dir()] or [SHARED_MOCAP]
        return tuple(os.path.relpath(p) for p in shared)

    def mocap_options(self, **changes: Any) -> MocapOptions:
        """How this recipe reads motion capture (views, jitter, body map, unit)."""
        body = BodyMap.from_json(self.joint_map) if self.joint_map else None  # dataset's own
        base = MocapOptions(
            styles=DEFAULT_STYLES, views_deg=self.mocap_views(), image_jitter=self.image_jitter,
            world_jitter_m=self.world_jitter_m, seed=self.train.seed, body=body,
            unit_m=self.unit_m,
        )  # fmt: skip
        return replace(base, **changes)

    def auxiliary_datasets(self) -> tuple[str, ...]:
        """The auxiliary motion capture (see `auxiliary`): by default, when the recipe
        trains on the shared data, the shared style and everyday data that exist."""
        if self.auxiliary is not None:
            return self.auxiliary
        if not self.data:
            shared = (SHARED_STYLES, SHARED_EVERYDAY)
            return tuple(os.path.relpath(p) for p in shared if p.is_dir())
        return ()

    def mocap_views(self) -> tuple[float, ...]:
        if self.views_deg is not None:
            return self.views_deg
        return ALL_VIEWS if "image" in self.feature_set else (0.0,)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["data"] = list(self.datasets())
        d["window"] = self.window.to_dict()
        d["views_deg"] = list(self.mocap_views())
        d["auxiliary"] = list(self.auxiliary_datasets())
        return d


@dataclass(frozen=True)
class Resources:
    """Where and how the work runs; nothing here changes the model.

    Attributes:
        cache_dir: keypoint cache folder (None: the user cache folder).
        pose_model: PoseLandmarker .task for video data (None: the built-in bundle).
        render_dir: where rendered mocap videos are kept, one folder per dataset.
        jobs: parallel worker processes (pose extraction, rendering, study protocol);
            with `cluster` "local", the local cluster's workers.
        cluster: None (plain local processes), "local" (start a local Dask cluster) or a
            running Dask scheduler's address: extraction, renders and fits run there
            (`offline.cluster`).
        progress: progress callback for long steps (None: silent).
        notify: receives one line of text for each thing worth telling the user.
    """

    cache_dir: Path | None = None
    pose_model: Path | None = None
    render_dir: Path = DEFAULT_RENDER_DIR
    jobs: int = 1
    cluster: str | None = None
    progress: Progress | None = None
    notify: Callable[[str], None] = field(default=lambda line: None)
    trust_pickle: bool = False  # read old pickle models (they can run code when loaded)

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ValueError(f"--jobs must be at least 1, got {self.jobs}")


@dataclass
class Data:
    """Movements read from a recipe's datasets, with the evaluation's group key."""

    movements: list[Movement]
    kinds: list[str]
    group: str
    notes: list[str]


_WHAT = {
    "mocap": "motion-capture skeletons",
    "eila": "EiLA-layout videos through PoseLandmarker",
    "folders": "labelled videos through PoseLandmarker",
    "skeletons": "3D skeleton files (.npz)",
}


def read_all(
    paths: tuple[str, ...],
    recipe: Recipe,
    res: Resources,
    jitter_seed: int = 0,
    memo: dict[Any, Any] | None = None,
) -> Data:
    """Read every dataset in `paths` with the recipe's settings.

    `memo` (a dict kept for one command) serves a dataset read again with the same
    options, e.g. rendered videos used for training and as test data, from memory.
    """
    options = ReadOptions(
        labels=recipe.labels,
        mocap=recipe.mocap_options(seed=recipe.train.seed + jitter_seed),
        cache_dir=res.cache_dir,
        pose_model=res.pose_model,
        pose=recipe.pose,
        n_jobs=res.jobs,
        progress=res.progress,
    )
    movements: list[Movement] = []
    kinds: list[str] = []
    notes: list[str] = []
    for path in paths:
        key = (os.path.realpath(path), recipe.kind, options)
        if memo is not None and key in memo:
            found, kind, extraction = memo[key]
        else:
            found, kind, extraction = read_dataset(path, recipe.kind, options)
            if memo is not None:
                memo[key] = found, kind, extraction
        named = {"dataset": Path(path).resolve().name}  # renders keep their dataset's name
        movements += [replace(m, groups=with_family({**named, **m.groups})) for m in found]
        kinds.append(kind)
        what = _WHAT[kind]
        if any("renderer" in m.groups for m in found):
            what += " (videos rendered from motion capture by offline.render)"
        notes.append(f"{os.path.relpath(path)}: {what}, {len(found)} movements")
        if extraction is not None:
            notes += [f"  {line}" for line in extraction.lines()]
    group = recipe.group or DEFAULT_GROUP[kinds[0]]
    if recipe.group is None and people_can_be_held_out(movements):
        group = "person"  # the headline: people the model never saw
    elif recipe.group is None and "family" in movements[0].groups:
        group = "family"  # motion capture and its renders: hold out whole action families
        if any(m.groups.get("person") for m in movements):
            notes.append(
                "not evaluated by person: some class was acted by one person only "
                "(add data of other people); whole action families are held out instead"
            )
    missing = [m.name for m in movements if group not in m.groups]
    if missing:
        raise ValueError(
            f"group key {group!r} is missing for {len(missing)} movements (e.g. {missing[0]}); "
            "choose another with --group"
        )
    return Data(movements, kinds, group, notes)


def people_can_be_held_out(movements: list[Movement]) -> bool:
    """Every movement names its person, and every label was acted by two people or more
    (so holding one person out leaves an example of each class)."""
    people: dict[str, set[str]] = {}
    for m in movements:
        person = m.groups.get("person")
        if not person:
            return False
        people.setdefault(m.label, set()).add(person)
    return all(len(p) >= 2 for p in people.values())


def tables(data: Data, recipe: Recipe) -> tuple[WindowTable, WindowTable | None]:
    """The window table, and its mirrored twin (training folds only) if the recipe mirrors."""
    fs = recipe.feature_set
    table = window_table(data.movements, recipe.window, fs, recipe.stride_s)
    mirrored = None
    if recipe.mirror:
        mirrored = window_table(
            [m.mirrored() for m in data.movements], recipe.window, fs, recipe.stride_s
        )
    return table, mirrored


def with_renders(
    recipe: Recipe, test_data: tuple[str, ...], res: Resources
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Training and test datasets: the recipe's, plus for each motion-capture dataset its
    clips rendered as video at `render_views_deg` (rendered once into `res.render_dir`,
    then reused), read through PoseLandmarker like any video: the video path.

    Rendered videos are added to the test data only when no `test_data` was given.
    """
    train, test = list(recipe.datasets()), list(test_data)
    if not recipe.render_views_deg:
        return tuple(train), tuple(test)
    for path in recipe.datasets():
        kind = detect_kind(path) if recipe.kind == "auto" else recipe.kind
        if kind != "mocap":
            continue
        styles = style_names(recipe.labels) if recipe.labels else list(DEFAULT_STYLES)
        out = Path(res.render_dir) / Path(path).resolve().name
        jobs = plan_dataset(path, out, recipe.render_views_deg, styles, max_s=recipe.render_max_s)
        todo = [j for j in jobs if not j.is_done()]
        if todo:
            res.notify(
                f"rendering {len(todo)} of {len(jobs)} videos of {path} into {out} (once; "
                f"about 0.02 s a frame, then pose about 0.02 s a frame; --no-render skips)"
            )
            bad: dict[str, str] = {}
            body = dataset_body(path, recipe.joint_map)
            render_jobs(
                todo, body, n_jobs=res.jobs, progress=res.progress or no_progress, skipped=bad
            )
            if bad:
                items = [f"{k} ({v})" for k, v in bad.items()]
                res.notify(f"{len(bad)} videos not rendered: {shorten(items)}")
        rendered = os.path.relpath(out, Path.cwd())
        train.append(rendered)
        if not test_data:
            test.append(rendered)
    return tuple(train), tuple(test)


def auxiliary_table(
    recipe: Recipe, labels: tuple[str, ...], notify: Callable[[str], None] | None = None
) -> WindowTable | None:
    """Windows of the auxiliary motion capture (every style) and of the training datasets'
    styles that are not among `labels`, for the content projection; None if there are none.

    Read as skeletons from the recipe's mocap views (no jitter: nothing here is a label).
    Clips left out (NaN or infinite motion) are told to `notify`, by dataset and name."""
    sources = [(p, True) for p in recipe.auxiliary_datasets()]
    if recipe.other_styles and recipe.train.projection:
        sources += [(p, False) for p in recipe.datasets() if _is_mocap(p, recipe.kind)]
    if not recipe.train.projection or not sources:
        return None
    options = recipe.mocap_options(styles=None, image_jitter=0.0, world_jitter_m=0.0)
    movements = []
    for path, everything in sources:
        found, _, left_out = read_dataset(path, "mocap", ReadOptions(mocap=options))
        if left_out is not None and notify is not None:
            notify(f"{os.path.relpath(path)} (content projection only):")
            for line in left_out.lines():
                notify(f"  {line}")
        for m in found:
            if everything or m.label not in labels:
                movements.append(replace(m, groups=with_family(m.groups)))
    if not movements:
        return None
    if recipe.mirror:  # left and right versions of each action, as for the training rows
        movements += [m.mirrored() for m in movements]
    return window_table(movements, recipe.window, recipe.feature_set, recipe.stride_s)


def _is_mocap(path: str, kind: str) -> bool:
    return (detect_kind(path) if kind == "auto" else kind) == "mocap"


def training_rows(table: WindowTable, recipe: Recipe) -> WindowTable:
    """The rows a model is fitted on: without the single-label contents unless the recipe
    keeps them (the evaluation still scores those contents when they are held out)."""
    if recipe.single_label_contents:
        return table
    return table.take(np.flatnonzero(~single_label_contents(table)))
