"""Tests for pipeline/datasets/eila.py on a small EiLA-layout dataset built here.

Videos: a real photo of a person (scikit-image `astronaut`) walking right, beside a
mirrored copy standing still (see conftest.py); annotations.csv with several annotators.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from offline.datasets.eila import (
    COLUMNS,
    AnnotationError,
    majority_label,
    parse_labels,
    read_annotations,
    read_eila,
)
from offline.keypoints.cache import KeypointCache
from pipeline import skeleton


def row(tag: str, clip: str, person: str, frame: int, labels: str, box: tuple) -> dict:
    x, y, w, h = box
    return {"Video Tag": tag, "Clip Id": clip, "Person Id": person, "Frame Number": frame,
            "Labels": labels, "X": x, "Y": y, "Width": w, "Height": h}  # fmt: skip


def write_csv(path: Path, rows: list[dict], columns: tuple[str, ...] = COLUMNS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


BOX = (5.0, 25.0, 35.0, 45.0)  # X, Y, Width, Height in percent
HAPPY_ROWS = (
    "[['Happy'], ['Happy', 'Neutral'], ['Sad']]",
    "[['Sad'], ['Happy'], ['No annotation']]",
)


def eila_rows(scene: Any) -> list[dict]:
    """Rows for v1 (10 frames), v2 (missing) and v3 (8 frames), several annotators each."""
    a, b = scene.a_x, scene.box_pct
    rows = []
    for i in range(8):  # v1 clip c1: person A (moving) and person B (still)
        rows.append(row("v1", "c1", "A", i, HAPPY_ROWS[i % 2], b(a(i))))
        rows.append(row("v1", "c1", "B", i, "[['Sad'], ['Anger']]", b(scene.b_x)))
    for i in (8, 9, 10, 11):  # v1 has 10 frames: 10 and 11 are past its end
        rows.append(row("v1", "c2", "A", i, "[['No annotation'], ['Fear']]", b(a(i))))
    rows.append(row("v1", "c3", "A", 2, "[['No annotation'], ['No annotation']]", b(30)))
    rows.append(row("v2", "c1", "A", 0, "[['Happy']]", b(30)))  # v2.mp4 is missing
    for i in (6, 0, 4, 2):  # v3: out of order on purpose
        rows.append(row("v3", "c1", "A", i, "[['disgust'], ['Disgust']]", b(a(i))))
    return rows


@pytest.fixture
def eila_root(tmp_path: Path, scene: Any) -> Path:
    root = tmp_path / "eila"
    scene.write(root / "videos" / "v1.mp4", 10)
    scene.write(root / "videos" / "v3.mp4", 8)
    write_csv(root / "annotations" / "annotations.csv", eila_rows(scene))
    return root


# --- labels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["Happy", "Happy", "Sad"], ("Happy", False)),
        (["Sad", "Anger"], ("Sad", True)),  # tie: Sad comes before Anger in EMOTIONS
        (["Anger", "Sad", "Anger", "Sad"], ("Sad", True)),  # order of appearance is irrelevant
        (["Neutral", "Fear"], ("Fear", True)),  # an emotion beats Neutral in a tie
        (["Neutral", "Neutral", "Fear"], ("Neutral", False)),
        ([], (None, False)),
    ],
)
def test_majority_label_and_tie_rule(labels: list[str], expected: tuple) -> None:
    assert majority_label(labels) == expected


def test_parse_labels_flattens_annotators_and_drops_no_annotation() -> None:
    text = "[['Happy'], ['happy', 'Neutral'], ['No annotation'], [], ['SAD ']]"
    assert parse_labels(text) == ["Happy", "Happy", "Neutral", "Sad"]
    assert parse_labels("['Fear', 'No Annotation']") == ["Fear"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[['Joy']]", "unknown label 'Joy'"),
        ("[[Happy]]", "must be a list of label lists"),
        ("'Happy'", "must be a list of label lists"),
        ("[[1]]", "must hold strings"),
    ],
)
def test_parse_labels_rejects_bad_cells(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_labels(text)


def test_labels_are_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(ValueError, match="must be a list of label lists"):
        parse_labels(f"__import__('pathlib').Path({str(marker)!r}).touch()")
    assert not marker.exists()


# --- annotations.csv --------------------------------------------------------------------------


def test_segments_are_split_by_tag_clip_and_person(tmp_path: Path, scene: Any) -> None:
    segments = read_annotations(write_csv(tmp_path / "a.csv", eila_rows(scene)))
    by_name = {s.name: s for s in segments}
    assert sorted(by_name) == ["v1/c1/A", "v1/c1/B", "v1/c2/A", "v1/c3/A", "v2/c1/A", "v3/c1/A"]
    a = by_name["v1/c1/A"]
    # majority over all rows and annotators: Happy 2+1+... (4 rows x 2 each) > Sad, Neutral
    assert (a.label, a.tied) == ("Happy", False)
    assert a.frames.tolist() == list(range(8))
    np.testing.assert_allclose(
        a.boxes[3] * [*scene.frame_wh, *scene.frame_wh],
        [scene.a_x(3), scene.person_y, scene.a_x(3) + scene.person_px, scene.person_y + 112],
    )
    assert (by_name["v1/c1/B"].label, by_name["v1/c1/B"].tied) == ("Sad", True)
    assert by_name["v1/c2/A"].label == "Fear"
    assert by_name["v1/c3/A"].label is None
    assert by_name["v3/c1/A"].frames.tolist() == [0, 2, 4, 6]
    assert a.groups == {"video": "v1", "clip": "v1/c1", "person": "v1/A"}


def test_majority_counts_every_annotator_not_one_vote_per_row(tmp_path: Path) -> None:
    rows = [
        row("v", "c", "p", 0, "[['Sad'], ['Sad'], ['Happy']]", BOX),  # row vote: Sad
        row("v", "c", "p", 1, "[['Happy'], ['Happy'], ['Sad']]", BOX),  # row vote: Happy
        row("v", "c", "p", 2, "[['Happy', 'Fear'], ['Fear'], ['Happy']]", BOX),
    ]
    (segment,) = read_annotations(write_csv(tmp_path / "a.csv", rows))
    assert (segment.label, segment.tied) == ("Happy", False)  # Happy 4, Sad 3, Fear 2


def _good() -> dict:
    return row("v1", "c1", "A", 0, "[['Happy']]", BOX)


MALFORMED = {
    "semicolons": (
        lambda p: p.write_text(";".join(COLUMNS) + "\nv1;c1;\"[['Happy']]\";0;1;1;10;10;A\n"),
        r"delimiter looks wrong \(found ';'\)",
    ),
    "tabs": (
        lambda p: p.write_text("\t".join(COLUMNS) + "\n"),
        r"delimiter looks wrong \(found '\\t'\)",
    ),
    "empty": (lambda p: p.write_text(""), "is empty"),
    "blank": (lambda p: p.write_text("\n \n"), "is empty"),
    "header only": (lambda p: write_csv(p, []), "has a header but no rows"),
    "missing columns": (
        lambda p: write_csv(
            p, [_good()], tuple(c for c in COLUMNS if c not in ("Labels", "Person Id"))
        ),
        "missing columns 'Labels', 'Person Id'",
    ),
    "non-numeric box": (
        lambda p: write_csv(p, [_good(), {**_good(), "Width": "wide"}]),
        r"must be numbers from -1000 to 1000 \(percent\): line 3",
    ),
    "box outside the frame": (
        lambda p: write_csv(p, [{**_good(), "X": 120}, _good(), {**_good(), "Y": -60}]),
        r"overlap the frame .*line 2 .*line 4",
    ),
    "empty box": (
        lambda p: write_csv(p, [{**_good(), "Height": 0}]),
        "Width, Height > 0",
    ),
    "unknown label": (
        lambda p: write_csv(p, [_good(), {**_good(), "Labels": "[['Happy'], ['Bored']]"}]),
        r"valid labels: Happy, Sad.*line 3: unknown label 'Bored'",
    ),
    "labels not a literal": (
        lambda p: write_csv(p, [{**_good(), "Labels": "Happy, Sad"}]),
        "line 2: `Labels` must be a list",
    ),
    "empty person id": (
        lambda p: write_csv(p, [_good(), {**_good(), "Person Id": " "}]),
        r"`Person Id` must not be empty: line 3 \(Person Id\)",
    ),
    "bad frame number": (
        lambda p: write_csv(p, [{**_good(), "Frame Number": "1.5"}]),
        r"`Frame Number` must be an integer from 0 to 100000000: line 2 \('1.5'\)",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_csv_gives_one_clear_error(case: str, tmp_path: Path) -> None:
    make, match = MALFORMED[case]
    path = tmp_path / "annotations.csv"
    make(path)
    with pytest.raises(AnnotationError, match=match) as info:
        read_annotations(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_annotations_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="annotations.csv"):
        read_eila(tmp_path)


# --- reading the dataset --------------------------------------------------------------------


def test_read_eila_crops_each_person_and_reports_problems(
    eila_root: Path, scene: Any, fake_pose: Any, fake_model: Path
) -> None:
    sequences, report = read_eila(eila_root, pose_model=fake_model)
    by_name = {s.name: s for s in sequences}
    assert sorted(by_name) == ["v1/c1/A", "v1/c1/B", "v1/c2/A", "v3/c1/A"]
    assert {n: s.label for n, s in by_name.items()} == {
        "v1/c1/A": "Happy", "v1/c1/B": "Sad", "v1/c2/A": "Fear", "v3/c1/A": "Disgust",
    }  # fmt: skip
    a = by_name["v1/c1/A"]
    assert a.source == "video" and a.groups == {"video": "v1", "clip": "v1/c1", "person": "v1/A"}
    np.testing.assert_allclose(a.t_s, np.arange(8) / scene.fps)
    assert a.world.shape == (8, skeleton.N_JOINTS, 3)
    # the fake pose puts joints at the centre of what it sees: each person's own centre,
    # so the crop kept the other person out (without it, the centre would be in between)
    half = scene.person_px / 2
    y = scene.person_y + half
    expected_a = np.stack([scene.a_x(np.arange(8)) + half, np.full(8, y)], 1)
    np.testing.assert_allclose(scene.centre_px(a.image), expected_a, atol=1.5)
    expected_b = np.tile([scene.b_x + half, y], (8, 1))
    np.testing.assert_allclose(scene.centre_px(by_name["v1/c1/B"].image), expected_b, atol=1.5)
    # one estimator per segment; frames of a segment in order, ms increasing
    assert fake_pose.constructed == 4
    assert fake_pose.timestamps[0] == [round(i * 1000 / scene.fps) for i in range(8)]
    np.testing.assert_allclose(by_name["v3/c1/A"].t_s, [0.0, 0.2, 0.4, 0.6])
    # what could not be used is reported
    assert by_name["v1/c2/A"].t_s.tolist() == [0.8, 0.9]
    assert report.frames_past_end == {"v1/c2/A": [10, 11]}
    assert list(report.missing_videos) == [str(eila_root / "videos" / "v2.mp4")]
    assert report.skipped.keys() == {"v1/c3/A", "v2/c1/A"}
    assert "No annotation" in report.skipped["v1/c3/A"]
    assert report.ties == ["v1/c1/B"]
    text = "\n".join(report.lines())
    for expected in ("1 videos missing", "v2.mp4", "2 frames missing at the end", "v1/c2/A",
                     "2 streams skipped", "1 labels decided by the tie rule"):  # fmt: skip
        assert expected in text


def test_without_the_crop_the_other_person_would_be_seen(
    eila_root: Path, scene: Any, fake_pose: Any, fake_model: Path
) -> None:
    """Control for the test above: a whole-frame box puts the fake's centre between A and B."""
    rows = [row("v1", "c1", "A", i, "[['Happy']]", (0, 0, 100, 100)) for i in range(3)]
    write_csv(eila_root / "annotations" / "annotations.csv", rows)
    (sequence,), _ = read_eila(eila_root, pose_model=fake_model)
    x = scene.centre_px(sequence.image)[:, 0]
    assert (x > scene.a_x(np.arange(3)) + scene.person_px).all() and (x < scene.b_x).all()


def test_second_read_uses_the_cache(
    eila_root: Path, tmp_path: Path, fake_pose: Any, fake_model: Path
) -> None:
    cache = KeypointCache(tmp_path / "cache")
    first, report = read_eila(eila_root, pose_model=fake_model, cache=cache)
    assert report.n_extracted == 4 and report.n_cached == 0
    calls = fake_pose.detect_calls
    again, report = read_eila(eila_root, pose_model=fake_model, cache=cache)
    assert fake_pose.detect_calls == calls and fake_pose.constructed == 4
    assert report.n_extracted == 0 and report.n_cached == 4
    assert report.frames_past_end == {"v1/c2/A": [10, 11]}  # still reported from the cache
    for s, t in zip(first, again, strict=True):
        assert s.name == t.name and s.label == t.label
        np.testing.assert_array_equal(s.image, t.image)


@pytest.mark.integration
def test_real_pose_follows_each_boxed_person(eila_root: Path, scene: Any) -> None:
    """PoseLandmarker on the crops: each person's shoulders stay inside that person's photo."""
    rows = [r for r in eila_rows(scene) if r["Video Tag"] == "v1" and r["Clip Id"] == "c1"]
    write_csv(eila_root / "annotations" / "annotations.csv", rows[:10])  # frames 0-4, A and B
    sequences, report = read_eila(eila_root)
    by_name = {s.name: s for s in sequences}
    assert sorted(by_name) == ["v1/c1/A", "v1/c1/B"] and not report.skipped
    frames = np.arange(5)
    for name, left in (("v1/c1/A", scene.a_x(frames)), ("v1/c1/B", scene.b_x)):
        s = by_name[name]
        assert np.isfinite(s.world).all()
        for joint in (skeleton.L_SHOULDER, skeleton.R_SHOULDER):
            assert (s.visibility[:, joint] > 0.5).all(), name
            x = scene.centre_px(s.image[:, joint : joint + 1])[:, 0]
            assert ((x > left) & (x < left + scene.person_px)).all(), (name, x, left)
