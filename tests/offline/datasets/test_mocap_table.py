"""Tests for the labelled-table mocap layout (offline/datasets/mocap_table.py) and the person
groups of both mocap layouts (offline/datasets/performers.py)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from offline.datasets.mocap import MocapOptions, list_clips, read_mocap
from offline.datasets.performers import (
    KNOWN_SKELETONS,
    performer_of,
    scene_partners,
    skeleton_signature,
)
from offline.datasets.registry import detect_kind
from offline.mocap.body import BANDAI
from tests.offline.datasets.test_mocap import bvh_text, write_mocap_folder

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def write_table_folder(
    root: Path, rows: list[dict[str, str]], *, table: str = "labels.csv"
) -> Path:
    """data/<clip>.bvh for each row (Bandai joint names, so BANDAI reads them) + the table +
    a joint map naming the Bandai joints."""
    (root / "data").mkdir(parents=True)
    for k, row in enumerate(rows):
        style = row.get("style") or "normal"
        text = bvh_text(row.get("content", "walk"), style, seed=k)
        (root / "data" / f"{row['clip']}.bvh").write_text(text)
    header = list(dict.fromkeys(key for row in rows for key in row))
    lines = [",".join(header)] + [",".join(row.get(h, "") for h in header) for row in rows]
    (root / table).write_text("\n".join(lines) + "\n")
    (root / "joint_map.json").write_text(json.dumps({"head": BANDAI.head}))
    return root


ROWS = [
    {"clip": "1_01", "subject": "1", "description": "sad walk", "style": "sad", "label": "Sad",
     "content": "walk", "frames": "75"},
    {"clip": "1_02", "subject": "1", "description": "happy walk", "style": "happy",
     "label": "happy", "content": "walk", "frames": "75"},
    {"clip": "2_05", "subject": "2", "description": "quarrel", "style": "angry",
     "label": "Anger", "content": "converse", "frames": "75"},
    {"clip": "3_05", "subject": "3", "description": "quarrel", "style": "angry",
     "label": "Anger", "content": "converse", "frames": "75"},
    {"clip": "3_07", "subject": "3", "description": "shy walk", "style": "shy", "label": "",
     "content": "walk", "frames": "75"},
]  # fmt: skip


def test_a_table_folder_is_motion_capture_and_lists_people_labels_and_contents(
    tmp_path: Path,
) -> None:
    root = write_table_folder(tmp_path / "t", ROWS)
    assert detect_kind(root) == "mocap"
    clips = {c.path.stem: c for c in list_clips(root)}
    assert set(clips) == {"1_01", "1_02", "2_05", "3_05", "3_07"}
    assert clips["1_02"].label == "Happy"  # canonical, whatever the spelling
    assert clips["3_07"].label is None and clips["3_07"].movement_label == "Shy"
    assert clips["1_01"].person == "1" and clips["1_01"].content == "walk"
    # 2 and 3 quarrel in one scene (same trial, description, length): one group, all clips
    assert clips["2_05"].person == clips["3_05"].person == clips["3_07"].person == "2+3"


def test_styles_keep_the_rows_of_their_emotions_and_partners_do_not_depend_on_them(
    tmp_path: Path,
) -> None:
    root = write_table_folder(tmp_path / "t", ROWS)
    kept = list_clips(root, ("sad", "angry"))
    assert sorted(c.path.stem for c in kept) == ["1_01", "2_05", "3_05"]
    assert {c.person for c in kept if c.label == "Anger"} == {"2+3"}


def test_movements_carry_the_person_and_read_the_folders_own_joint_map(tmp_path: Path) -> None:
    root = write_table_folder(tmp_path / "t", ROWS)
    (root / "joint_map.json").write_text(json.dumps({"head": "NoSuchHead"}))
    with pytest.raises(ValueError, match="NoSuchHead"):
        read_mocap(root, MocapOptions(styles=None))  # the folder's own map is read
    (root / "joint_map.json").write_text(json.dumps({"head": "Head"}))
    movements = read_mocap(root, MocapOptions(styles=None))
    assert Counter(m.groups["person"] for m in movements) == {"1": 2, "2+3": 3}
    assert {m.label for m in movements} == {"Sad", "Happy", "Anger", "Shy"}


def test_a_table_without_labels_is_auxiliary_data(tmp_path: Path) -> None:
    rows = [{"clip": "5_01", "subject": "5", "kind": "walk"},
            {"clip": "6_01", "subject": "6", "kind": "everyday"}]  # fmt: skip
    root = write_table_folder(tmp_path / "e", rows, table="everyday.csv")
    clips = list_clips(root)
    assert [(c.person, c.content, c.label) for c in clips] == [
        ("5", "walk", None), ("6", "everyday", None)
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows + [dict(rows[0])], r"labels\.csv line 7 lists clip '1_01' again"),
        (lambda rows: [{**rows[0], "label": "Bored"}], r"line 2: label 'Bored' is not an emotion"),
        (lambda rows: [{**rows[0], "clip": "9_99"}], r"line 2: clip '9_99' has no file"),
    ],
)
def test_a_bad_table_is_one_clear_error(tmp_path: Path, change, message) -> None:  # type: ignore[no-untyped-def]
    root = write_table_folder(tmp_path / "t", ROWS)
    rows = change([dict(r) for r in ROWS])
    header = list(dict.fromkeys(k for r in rows for k in r))
    text = "\n".join([",".join(header)] + [",".join(r.get(h, "") for h in header) for r in rows])
    (root / "labels.csv").write_text(text + "\n")
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        list_clips(root)


def test_bandai_clips_are_grouped_by_their_skeleton(tmp_path: Path) -> None:
    root = write_mocap_folder(tmp_path / "m", [("walk", "sad"), ("bow", "happy")])
    other = root / "data" / "dataset-1_walk_sad_001.bvh"
    other.write_text(other.read_text().replace("OFFSET 9 0 0", "OFFSET 11 0 0", 1))
    people = {c.path.stem: c.person for c in list_clips(root)}
    assert people["dataset-1_walk_sad_001"] != people["dataset-1_bow_happy_001"]
    assert all(p.startswith("skeleton-") for p in people.values())
    # float spelling of the same offsets is the same skeleton
    same = root / "data" / "dataset-1_bow_happy_001.bvh"
    before = skeleton_signature(same)
    same.write_text(same.read_text().replace("OFFSET 0 10 0", "OFFSET 0.0 10.00 0.000", 1))
    assert skeleton_signature(same) == before


def test_scene_partners_join_people_recorded_together() -> None:
    rows = [("18", "08|talk|417"), ("19", "08|talk|417"), ("19", "10|quarrel|360"),
            ("20", "10|other|360"), ("7", "01|walk|99")]  # fmt: skip
    assert scene_partners(rows) == {"18": "18+19", "19": "18+19", "20": "20", "7": "7"}


@pytest.mark.integration
def test_shared_data_people() -> None:
    """The three Bandai-Namco performers and CMU's subjects (18 and 19 one group)."""
    bandai, cmu = SHARED / "bandai-namco-motion-1", SHARED / "cmu-emotion"
    if not (bandai.is_dir() and cmu.is_dir()):
        pytest.skip(f"shared data absent ({SHARED}): the people of the shared mocap")
    clips = list_clips(bandai, ("happy", "sad", "angry", "normal"))
    by_person = Counter((c.person, c.label) for c in clips)
    p1 = {lab for (p, lab) in by_person if p == "bandai-P1"}
    assert p1 == {"Anger", "Happy", "Sad", "Neutral"}
    assert {lab for (p, lab) in by_person if p == "bandai-P2"} == {"Neutral"}
    assert by_person[("bandai-P2", "Neutral")] == 8
    others = list_clips(bandai)
    assert {c.style for c in others if c.person == "bandai-P0"} == {
        "active", "childish", "chimpira", "giant", "masculinity", "old", "tired"
    }  # fmt: skip
    assert set(KNOWN_SKELETONS.values()) == {"bandai-P0", "bandai-P1", "bandai-P2"}
    assert performer_of(bandai / "data" / "dataset-1_walk_happy_001.bvh") == "bandai-P1"
    people = {c.person for c in list_clips(cmu, ("happy", "sad", "angry", "normal"))}
    assert "18+19" in people and "18" not in people and len(people) == 13
    assert all(c.label for c in list_clips(cmu, ("happy", "sad", "angry", "normal")))
