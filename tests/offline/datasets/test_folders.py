"""Tests for pipeline/datasets/folders.py (one subfolder of videos per label)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from offline.datasets.folders import read_folders, read_sidecar, scan_folders
from offline.keypoints.cache import KeypointCache
from offline.labels import EMOTIONS, canonical_label
from pipeline import skeleton


@pytest.mark.parametrize(
    ("folder", "label"),
    [
        ("happy", "Happy"), ("HAPPY", "Happy"), ("Happiness", "Happy"), ("sad", "Sad"),
        ("angry", "Anger"), ("Anger", "Anger"), ("normal", "Neutral"), ("neutral", "Neutral"),
        ("surprised", "Surprise"), ("fearful", "Fear"), ("disgusted", "Disgust"),
    ],
)  # fmt: skip
def test_folder_names_map_to_canonical_labels(folder: str, label: str) -> None:
    assert canonical_label(folder) == label
    assert label in EMOTIONS


def test_unknown_folder_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="'bored' is not an emotion; use one of Happy, Sad, Fear"):
        canonical_label("bored")


@pytest.fixture
def folder_root(tmp_path: Path, scene: Any) -> Path:
    root = tmp_path / "videos"
    scene.write(root / "Happy" / "walk_01.mp4", 6)
    (root / "Happy" / "walk_01.json").write_text(
        json.dumps(
            {
                "clip": "walk_happy_001",
                "content": "walk",
                "style": "happy",
                "view_deg": 35,
                "distance_m": 2.5,
                "renderer": "stick-v1",
                "mirrored": False,
                "tags": ["a"],
                "video": "not this",
            }
        )  # fmt: skip
    )
    scene.write(root / "angry" / "session2" / "take.mp4", 4)
    (root / "angry" / "notes.txt").write_text("not a video")
    (root / ".thumbnails").mkdir()
    return root


def test_scan_finds_videos_labels_and_sidecar_groups(folder_root: Path) -> None:
    videos = scan_folders(folder_root)
    assert [(v.name, v.label) for v in videos] == [
        ("Happy/walk_01.mp4", "Happy"),
        ("angry/session2/take.mp4", "Anger"),
    ]
    assert videos[0].groups == {
        "video": "Happy/walk_01.mp4", "clip": "walk_happy_001", "content": "walk",
        "style": "happy", "view_deg": "35", "distance_m": "2.5", "renderer": "stick-v1",
    }  # fmt: skip
    assert videos[1].groups == {"video": "angry/session2/take.mp4"}
    # the dataset folder holding videos/ works too
    assert [v.name for v in scan_folders(folder_root.parent)] == [v.name for v in videos]


def test_unknown_label_folders_are_all_named(folder_root: Path) -> None:
    (folder_root / "bored").mkdir()
    (folder_root / "misc").mkdir()
    with pytest.raises(ValueError, match=r"unknown label folders 'bored', 'misc'; .*Happy, Sad"):
        scan_folders(folder_root)


@pytest.mark.parametrize(
    ("content", "match"),
    [("{not json", "is not valid JSON"), ("[1, 2]", "must hold a JSON object, got list")],
)
def test_bad_sidecar_is_a_clear_error(tmp_path: Path, content: str, match: str) -> None:
    video = tmp_path / "happy" / "a.mp4"
    video.parent.mkdir()
    video.with_suffix(".json").write_text(content)
    with pytest.raises(ValueError, match=f"sidecar .*a.json {match}"):
        read_sidecar(video)


def test_missing_root_and_empty_root(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="video folder not found"):
        scan_folders(tmp_path / "nope")
    (tmp_path / "sad").mkdir()
    with pytest.raises(ValueError, match=r"no videos found under .*<label>/\*\.mp4"):
        scan_folders(tmp_path)


def test_read_folders_makes_one_sequence_per_whole_video(
    folder_root: Path, tmp_path: Path, scene: Any, fake_pose: Any, fake_model: Path
) -> None:
    (folder_root / "sad").mkdir()
    (folder_root / "sad" / "broken.mp4").write_bytes(b"\x00" * 64)
    cache = KeypointCache(tmp_path / "cache")
    sequences, report = read_folders(folder_root, pose_model=fake_model, cache=cache)
    assert [(s.name, s.label, s.t_s.size) for s in sequences] == [
        ("Happy/walk_01.mp4", "Happy", 6),
        ("angry/session2/take.mp4", "Anger", 4),
    ]
    s = sequences[0]
    assert s.source == "video" and s.groups["content"] == "walk" and s.groups["view_deg"] == "35"
    np.testing.assert_allclose(s.t_s, np.arange(6) / scene.fps)
    assert s.world.shape == (6, skeleton.N_JOINTS, 3) and s.image.shape == (6, skeleton.N_JOINTS, 2)
    # whole frames: the fake's centre lies between the two people
    x = scene.centre_px(s.image)[:, 0]
    assert (x > scene.a_x(np.arange(6)) + scene.person_px).all() and (x < scene.b_x).all()
    assert str(folder_root / "sad" / "broken.mp4") in report.missing_videos
    assert report.skipped == {"sad/broken.mp4": "video missing or unreadable"}
    calls = fake_pose.detect_calls
    again, report = read_folders(folder_root, pose_model=fake_model, cache=cache)
    assert fake_pose.detect_calls == calls and report.n_cached == 2
    np.testing.assert_array_equal(again[1].world, sequences[1].world)
