"""Tests for pipeline/report.py: Markdown tables and figures written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from offline.training import report
from offline.training.scores import score

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LABELS = ("Happy", "Sad", "Anger")


@pytest.fixture
def scores():
    y_true = np.array(["Happy"] * 4 + ["Sad"] * 3 + ["Anger"] * 2)
    y_pred = np.array(["Happy", "Happy", "Happy", "Sad", "Sad", "Sad", "Happy", "Anger", "Sad"])
    return score(y_true, y_pred, LABELS)


def assert_png(path: Path) -> tuple[int, int]:
    """The file is a complete, decodable PNG; returns its (height, width) in pixels."""
    import cv2

    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.std() > 0  # decodes, and is not a blank canvas
    return image.shape[:2]


def _lines(table: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()]


# --- Markdown tables ----------------------------------------------------------------------


def test_scores_table(scores) -> None:
    chance = {"accuracy": 0.34567, "balanced_accuracy": 1 / 3, "weighted_f1": 0.34567}
    rows = _lines(report.scores_table([("motion (et)", scores), ("chance", chance)]))
    assert rows[0] == ["", "accuracy", "balanced accuracy", "macro-F1", "weighted F1"]
    assert set(rows[1]) == {"---"}
    assert rows[2] == [
        "motion (et)",
        f"{scores.accuracy:.3f}",
        f"{scores.balanced_accuracy:.3f}",
        f"{scores.macro_f1:.3f}",
        f"{scores.weighted_f1:.3f}",
    ]
    assert rows[3] == ["chance", "0.346", "0.333", "n/a", "0.346"]  # no macro-F1 for chance
    assert rows[2][1] == "0.667"  # 6 of 9 right


def test_per_class_table(scores) -> None:
    rows = _lines(report.per_class_table(scores))
    assert rows[0] == ["class", "precision", "recall", "windows"]
    # Happy: 3 of 4 found, 3 of the 4 "Happy" predictions right; Anger: 1 of 2, 1 of 1.
    assert rows[2] == ["Happy", "0.750", "0.750", "4"]
    assert rows[3] == ["Sad", "0.500", "0.667", "3"]
    assert rows[4] == ["Anger", "1.000", "0.500", "2"]


def test_per_class_table_says_n_a_for_a_class_without_windows() -> None:
    s = score(np.array(["Happy", "Sad"]), np.array(["Happy", "Happy"]), ("Happy", "Sad", "Fear"))
    rows = _lines(report.per_class_table(s))
    assert rows[4] == ["Fear", "n/a", "n/a", "0"]


def test_confusion_table_in_label_order(scores) -> None:
    rows = _lines(report.confusion_table(scores))
    assert rows[0] == ["true \\ predicted", "Happy", "Sad", "Anger"]
    assert rows[1] == ["---"] * 4
    assert rows[2:] == [["Happy", "3", "1", "0"], ["Sad", "1", "2", "0"], ["Anger", "0", "1", "1"]]


def test_study_and_cluster_tables() -> None:
    study = {
        "repeats": 100,
        "accuracy_mean": 0.81234,
        "accuracy_std": 0.0212,
        "weighted_f1_mean": 0.8,
        "weighted_f1_std": 0.03,
    }
    rows = _lines(report.study_table([("seed", study)]))
    assert rows[2] == ["seed", "0.812 ± 0.021", "0.800 ± 0.030", "100"]
    clusters = [
        {
            "linkage": "ward",
            "clusters": 3,
            "silhouette": 0.25,
            "davies_bouldin": 1.5,
            "adjusted_rand": 0.1,
        },
        {
            "linkage": "average",
            "clusters": 7,
            "silhouette": float("nan"),
            "davies_bouldin": float("nan"),
            "adjusted_rand": 0.0,
        },
    ]
    rows = _lines(report.cluster_table(clusters))
    assert rows[0][:2] == ["linkage", "clusters"]
    assert rows[2] == ["ward", "3", "0.250", "1.500", "0.100"]
    assert rows[3] == ["average", "7", "n/a", "n/a", "0.000"]


def test_fmt() -> None:
    assert [report.fmt(v) for v in (0.12345, None, float("nan"), float("inf"), 1)] == [
        "0.123",
        "n/a",
        "n/a",
        "n/a",
        "1.000",
    ]


# --- figures ------------------------------------------------------------------------------


def test_figures_are_written_as_png(tmp_path: Path, scores) -> None:
    import matplotlib
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (30, 6)), rng.normal(4, 1, (30, 6))])
    labels = np.repeat(np.array(["Happy", "Sad"]), 30)
    report.confusion_png(scores, tmp_path / "confusion.png", "motion, leave-one-content-out")
    report.dendrogram_png(x, list(labels), tmp_path / "dendrogram.png")
    report.pca_png(x, labels, tmp_path / "sub" / "pca.png")  # missing folders are made
    for name in ("confusion.png", "dendrogram.png", "sub/pca.png"):
        assert_png(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["confusion.png", "dendrogram.png", "sub"]
    assert matplotlib.get_backend().lower() == "agg"  # files only, never a window
    assert plt.get_fignums() == open_before  # every figure closed


def test_a_failed_save_keeps_the_old_file(tmp_path: Path, scores, monkeypatch) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    open_before = plt.get_fignums()
    target = tmp_path / "confusion.png"
    target.write_bytes(b"the previous good figure")

    def broken_savefig(self, fname, **kwargs) -> None:
        Path(fname).write_bytes(PNG_SIGNATURE + b"half a fig")
        raise OSError("No space left on device")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="No space left"):
        report.confusion_png(scores, target, "title")
    assert target.read_bytes() == b"the previous good figure"
    assert [p.name for p in tmp_path.iterdir()] == ["confusion.png"]  # no temporary file left
    assert plt.get_fignums() == open_before  # and the figure was closed all the same


def test_confusion_png_of_an_empty_class(tmp_path: Path) -> None:
    s = score(np.array(["Happy", "Sad"]), np.array(["Happy", "Happy"]), ("Happy", "Sad", "Fear"))
    report.confusion_png(s, tmp_path / "c.png", "a class without windows")
    assert_png(tmp_path / "c.png")
