"""Tests for pipeline/datasets/registry.py: telling the dataset layouts apart, reading any
of them, and label filtering by canonical or style names."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from offline.datasets import registry
from offline.datasets.mocap import MocapOptions
from offline.datasets.movement import Movement
from offline.datasets.registry import DatasetReport, ReadOptions, detect_kind, read_dataset
from offline.labels import EMOTIONS, label_option
from pipeline import skeleton as sk
from pipeline.pose import BUNDLE_MEMBERS
from tests.offline.datasets.test_mocap import write_mocap_folder

EILA_HEADER = "Video Tag,Clip Id,Labels,Frame Number,X,Y,Width,Height,Person Id\n"


def eila_folder(root: Path, rows: list[str]) -> Path:
    (root / "annotations").mkdir(parents=True)
    (root / "videos").mkdir()
    (root / "annotations" / "annotations.csv").write_text(EILA_HEADER + "".join(rows))
    return root


def fake_pose_bundle(path: Path) -> Path:
    """A file that passes the pose-model check (no pose can run from it)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name in BUNDLE_MEMBERS:
            zf.writestr(name, b"not a model")
    return path


def fake_sequence(label: str, name: str) -> Movement:
    n, j = 5, sk.N_JOINTS
    return Movement(
        np.zeros((n, j, 3), np.float32),
        np.zeros((n, j, 2), np.float32),
        np.ones((n, j), np.float32),
        np.arange(n) / 10.0,
        label,
        {"video": name},
        "video",
        name,
    )


@pytest.fixture
def no_pose(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any video reader gets as far as extracting keypoints."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pose extraction ran")

    monkeypatch.setattr("offline.datasets.eila.extract_streams", refuse)
    monkeypatch.setattr("offline.datasets.folders.extract_streams", refuse)


# --- detect_kind --------------------------------------------------------------------------


def test_detect_each_layout(tmp_path: Path) -> None:
    assert detect_kind(write_mocap_folder(tmp_path / "mocap", [("walk", "sad")])) == "mocap"
    assert detect_kind(eila_folder(tmp_path / "eila", [])) == "eila"
    (tmp_path / "folders" / "happy").mkdir(parents=True)
    assert detect_kind(tmp_path / "folders") == "folders"
    assert detect_kind(str(tmp_path / "folders")) == "folders"  # str paths too


def test_mocap_needs_its_cfg(tmp_path: Path) -> None:
    root = write_mocap_folder(tmp_path / "mocap", [("walk", "sad")])
    (root / "cfg" / "style_label.txt").unlink()
    assert detect_kind(root) == "folders"  # only subfolders left: read as labelled videos


@pytest.mark.parametrize("content", ["nothing", "a file", "a hidden folder"])
def test_a_folder_that_is_no_dataset(tmp_path: Path, content: str) -> None:
    root = tmp_path / "stuff"
    root.mkdir()
    if content == "a file":
        (root / "notes.txt").write_text("hello")
    elif content == "a hidden folder":
        (root / ".git").mkdir()
    with pytest.raises(ValueError, match=r"stuff is not a dataset: expected data/\*.bvh \+ cfg/"):
        detect_kind(root)


def test_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"dataset folder not found: .*nope"):
        detect_kind(tmp_path / "nope")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match=r"dataset folder not found"):
        detect_kind(tmp_path / "file.txt")


# --- label names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("angry", "Anger"),
        ("Anger", "Anger"),
        (" ANGER ", "Anger"),
        ("normal", "Neutral"),
        ("happy", "Happy"),
        ("sad", "Sad"),
        ("fear", "Fear"),
        ("Bogus", "Bogus"),
    ],
)
def test_canonical(name: str, expected: str) -> None:
    assert label_option(name) == expected


# --- read_dataset: motion capture -----------------------------------------------------------


@pytest.fixture
def mocap_root(tmp_path: Path) -> Path:
    return write_mocap_folder(tmp_path / "mocap", contents=("walk", "bow"))


def test_read_mocap_defaults_to_the_four_emotions(mocap_root: Path) -> None:
    seqs, kind, report = read_dataset(mocap_root)
    assert kind == "mocap" and report is None
    assert sorted({s.label for s in seqs}) == ["Anger", "Happy", "Neutral", "Sad"]
    assert len(seqs) == 2 * 4  # two contents, one default view


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (("angry",), {"Anger"}),
        (("Anger",), {"Anger"}),
        (("Happy", "normal"), {"Happy", "Neutral"}),
        (("Neutral", "SAD"), {"Neutral", "Sad"}),
        (("proud",), {"Proud"}),
    ],
)
def test_mocap_labels_by_canonical_or_style_name(
    mocap_root: Path, labels: tuple[str, ...], expected: set[str]
) -> None:
    seqs, _, _ = read_dataset(mocap_root, "auto", ReadOptions(labels=labels))
    assert {s.label for s in seqs} == expected
    assert len(seqs) == 2 * len(expected)


def test_mocap_options_are_used(mocap_root: Path) -> None:
    options = ReadOptions(labels=("sad",), mocap=MocapOptions(views_deg=(0.0, 45.0)))
    seqs, _, _ = read_dataset(mocap_root, "mocap", options)
    assert sorted(s.groups["view_deg"] for s in seqs) == ["0", "0", "45", "45"]


def test_unknown_mocap_label_lists_the_styles(mocap_root: Path) -> None:
    styles = r"\['angry', 'happy', 'normal', 'proud', 'sad'\]"
    with pytest.raises(ValueError, match=rf"unknown style\(s\) \['bogus'\]; .*mocap has {styles}"):
        read_dataset(mocap_root, options=ReadOptions(labels=("Happy", "Bogus")))


def test_unknown_kind(mocap_root: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"`kind` must be one of \['auto', 'mocap', 'eila', 'folders', 'skeletons'\], "
        r"got 'csv'",
    ):
        read_dataset(mocap_root, "csv")


# --- read_dataset: videos -----------------------------------------------------------------


def test_video_labels_are_filtered_by_canonical_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vids" / "happy").mkdir(parents=True)
    calls = []

    def fake_reader(path, **kwargs):
        calls.append(kwargs)
        seqs = [fake_sequence(lab, f"{lab}.mp4") for lab in ("Happy", "Sad", "Anger", "Neutral")]
        return seqs, DatasetReport()

    monkeypatch.setattr("offline.datasets.folders.read_folders", fake_reader)
    options = ReadOptions(
        labels=("angry", "Sad"), n_jobs=2, progress=None, cache_dir=tmp_path / "cache"
    )
    seqs, kind, report = read_dataset(tmp_path / "vids", options=options)
    assert kind == "folders" and isinstance(report, DatasetReport)
    assert [s.label for s in seqs] == ["Sad", "Anger"]
    assert calls[0]["n_jobs"] == 2 and calls[0]["cache"].directory == tmp_path / "cache"
    seqs, _, _ = read_dataset(tmp_path / "vids")
    assert len(seqs) == 4  # no filter: every label
    with pytest.raises(ValueError, match=r"no usable labelled movements with labels \['Fear'\] in"):
        read_dataset(tmp_path / "vids", options=ReadOptions(labels=("Fear",)))


def test_unknown_video_label_fails_before_any_pose_runs(tmp_path: Path, no_pose: None) -> None:
    (tmp_path / "vids" / "happy").mkdir(parents=True)
    (tmp_path / "vids" / "happy" / "a.mp4").write_bytes(b"not really a video")
    valid = ", ".join(EMOTIONS)
    with pytest.raises(ValueError, match=rf"unknown label\(s\) \['Bogus'\]; valid: {valid}"):
        read_dataset(tmp_path / "vids", options=ReadOptions(labels=("Happy", "Bogus")))
    root = eila_folder(tmp_path / "eila", ["v1,c1,\"[['Happy']]\",0,10,10,50,50,A\n"])
    with pytest.raises(ValueError, match=r"unknown label\(s\) \['Bogus', 'Joy'\]"):
        read_dataset(root, options=ReadOptions(labels=("Bogus", "Joy")))


def test_missing_videos_are_named_in_the_error(tmp_path: Path) -> None:
    rows = [f"v1,c1,\"[['Happy']]\",{i},10,10,50,50,A\n" for i in range(3)]
    rows.append("v2,c1,\"[['Sad']]\",0,10,10,50,50,A\n")
    root = eila_folder(tmp_path / "eila", rows)
    options = ReadOptions(
        pose_model=fake_pose_bundle(tmp_path / "pose.task"), cache_dir=tmp_path / "cache"
    )
    with pytest.raises(
        ValueError,
        match=r"no usable labelled movements in .*eila: 2 videos missing "
        r"or unreadable: .*videos/v1.mp4 \(not found\), .*v2.mp4",
    ):
        read_dataset(root, options=options)


def test_kind_can_be_forced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = eila_folder(tmp_path / "eila", [])
    (root / "happy").mkdir()  # looks like both; the caller decides
    used = []
    monkeypatch.setattr(
        "offline.datasets.folders.read_folders",
        lambda path, **kw: (
            used.append("folders") or ([fake_sequence("Happy", "a")], DatasetReport())
        ),
    )
    seqs, kind, _ = read_dataset(root, "folders")
    assert kind == "folders" and used == ["folders"] and len(seqs) == 1
    assert set(registry.DEFAULT_GROUP) == set(registry.KINDS)  # every kind can be evaluated


def test_dataset_report_adds_its_lines_after_the_extraction_lines() -> None:
    report = DatasetReport(n_extracted=2, missing_videos={"v.mp4": "not found"})
    report.skipped["a"] = "no person found"
    report.ties.append("b")
    assert report.lines() == [
        "keypoints: 2 streams extracted (0 frames), 0 from the cache",
        "1 videos missing or unreadable: v.mp4 (not found)",
        "1 streams skipped: a (no person found)",
        "1 labels decided by the tie rule: b",
    ]


def test_progress_is_passed_on_but_not_part_of_the_options_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """train.py memoises reads by ReadOptions: a new progress callback must not miss."""
    (tmp_path / "vids" / "happy").mkdir(parents=True)
    calls = []

    def fake_reader(path, **kwargs):
        calls.append(kwargs)
        return [fake_sequence("Happy", "a.mp4")], DatasetReport()

    def bars(task: str, done: int, total: int) -> None:
        pass

    monkeypatch.setattr("offline.datasets.folders.read_folders", fake_reader)
    read_dataset(tmp_path / "vids", options=ReadOptions(progress=bars))
    assert calls[0]["progress"] is bars
    assert ReadOptions(progress=bars) == ReadOptions() and hash(ReadOptions(progress=bars)) == hash(
        ReadOptions()
    )


def test_skeleton_folders_are_detected_read_and_filtered(tmp_path: Path) -> None:
    """A folder of .npz skeletons is its own kind; --labels filters it like videos."""
    from offline.datasets.skeletons import view_movements  # noqa: F401  (the reader's module)

    t = np.arange(60) / 30.0
    base = np.zeros((60, len(sk.JOINTS), 3))
    base[:, :, 1] = np.linspace(1.6, 0.1, len(sk.JOINTS))  # head above feet
    base[:, :, 0] = np.tile([0, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1], (60, 1)) * 0.15
    base[:, sk.L_WRIST, 1] += 0.2 * np.sin(2 * np.pi * t)
    for name, label in (("a", "happy"), ("b", "sad")):
        np.savez(tmp_path / f"{name}.npz", positions=base, joints=np.array(sk.JOINTS), fps=30.0,
                 label=label, group=name)  # fmt: skip
    assert detect_kind(tmp_path) == "skeletons"
    movements, kind, _ = read_dataset(tmp_path, options=ReadOptions(labels=("Sad",)))
    assert kind == "skeletons" and [m.label for m in movements] == ["Sad"]
    assert movements[0].groups["group"] == "b"
