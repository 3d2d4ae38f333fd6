"""Hostile inputs to `train.py` (issue #11): one line "error: ...", exit 2, no traceback,
nothing already written changed; outputs checked before any training."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

import train

INPUTS_TRIED: list[str] = []


def run(capsys, *argv: object) -> tuple[int, str]:
    INPUTS_TRIED.append(" ".join(map(str, argv)))
    try:
        code = train.main([str(a) for a in argv])
    except SystemExit as e:
        code = int(e.code or 0)
    return code, capsys.readouterr().err


def one_line(code: int, err: str, pattern: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert re.search(pattern, lines[0]), lines[0]


def digest(folder: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "options",
    [
        ["--stride-s", "0"], ["--stride-s", "nan"], ["--frames", "100000"], ["--frames", "1"],
        ["--jobs", "0"], ["--jobs", "-5"], ["--unit-m", "0"], ["--unit-m", "-1"],
        ["--unit-m", "nan"], ["--image-jitter", "nan"], ["--window-s", "inf"],
        ["--repeats", "-1"], ["--seed", "x"],
    ],
)  # fmt: skip
def test_numeric_options_are_refused_in_one_line(capsys, tmp_path, options) -> None:
    one_line(*run(capsys, "train", "--data", tmp_path, "--no-render", *options), "argument --")


def test_compare_rate_zero(capsys, tmp_path) -> None:
    one_line(*run(capsys, "compare", "--data", tmp_path, "--rate", "0"), "argument --rate")


def test_outputs_are_checked_before_training(capsys, tmp_path, monkeypatch) -> None:
    from offline.training import experiment

    def never(*args, **kwargs):
        raise AssertionError("training started before the outputs were checked")

    monkeypatch.setattr(experiment, "train", never)
    data = tmp_path / "data"
    data.mkdir()
    (data / "clip.bvh").write_text("HIERARCHY\n")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    before = digest(tmp_path)
    t = ["train", "--data", data, "--no-render"]
    one_line(*run(capsys, *t, "--out", tmp_path), "--out .* is a directory")
    one_line(*run(capsys, *t, "--out", blocker / "m.skops"), "is a file, not a folder")
    one_line(*run(capsys, *t, "--out", "/dev/null"), "not a regular file")
    one_line(*run(capsys, *t, "--out", data), "same file as the input --data")
    one_line(*run(capsys, *t, "--out", tmp_path / "m.skops", "--report-dir", data),
             "--report-dir .* same file as the input --data")  # fmt: skip
    one_line(*run(capsys, "compare", "--data", data, "--out-md", blocker / "t.md"), "not a folder")
    assert digest(tmp_path) == before


def test_oserror_is_one_line_naming_the_path(capsys, tmp_path, monkeypatch) -> None:
    from offline.training import experiment

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "cache" / "k.npz"))

    monkeypatch.setattr(experiment, "train", full)
    (tmp_path / "data").mkdir()
    code, err = run(capsys, "train", "--data", tmp_path / "data", "--no-render", "--out",
                    tmp_path / "m")  # fmt: skip
    one_line(code, err, r"No space left on device: .*k\.npz")


def test_evaluate_refuses_a_pickle_without_trust_pickle(capsys, tmp_path) -> None:
    import json

    import joblib

    model = tmp_path / "old.joblib"
    joblib.dump({"format": "posemotion-model/1"}, model)
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    model.with_name("old.card.json").write_text(json.dumps({"sha256": sha}))
    one_line(*run(capsys, "evaluate", model, "--data", tmp_path), "--trust-pickle")


@pytest.mark.parametrize("style", ["-14", "true", "1.0", '"1"', "null"])
def test_label_files_accept_only_index_integers(tmp_path, style) -> None:
    """{"style": -14} or {"style": true} no longer read as a valid style (item 5)."""
    from offline.datasets.mocap import list_clips

    (tmp_path / "cfg").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "cfg" / "content_label.txt").write_text("dataset-1_walk\n")
    (tmp_path / "cfg" / "style_label.txt").write_text("dataset-1_angry\ndataset-1_happy\n")
    (tmp_path / "data" / "a.bvh").write_text("HIERARCHY\n")
    (tmp_path / "data" / "a.json").write_text(f'{{"content": 0, "style": {style}}}')
    INPUTS_TRIED.append(f"style {style}")
    with pytest.raises(ValueError, match="bad label file"):
        list_clips(tmp_path)


# --- item 12: NaN / inf in BVH files: reported by name and count, skipped, never data ---


def poison(bvh: Path, rows: slice = slice(0, 1), value: str = "nan") -> Path:
    """Put `value` as the first channel of the motion rows `rows` of a BVH file."""
    head, motion = bvh.read_text().split("Frame Time:")
    time_line, *frames = motion.split("\n")
    for i in range(len(frames))[rows]:
        if frames[i].strip():
            frames[i] = " ".join([value, *frames[i].split()[1:]])
    bvh.write_text(head + "Frame Time:" + "\n".join([time_line, *frames]))
    return bvh


def test_training_data_skips_and_reports_clips_with_nan_or_inf(tmp_path) -> None:
    from offline.training.recipe import Recipe, Resources, read_all
    from tests.offline.datasets.test_mocap import write_mocap_folder

    root = write_mocap_folder(tmp_path / "m", [("walk", "sad"), ("bow", "sad"), ("walk", "happy"),
                                               ("bow", "happy"), ("wave", "sad")])  # fmt: skip
    one = poison(root / "data" / "dataset-1_bow_happy_001.bvh", value="inf")
    every = poison(root / "data" / "dataset-1_wave_sad_001.bvh", slice(None))  # all-NaN
    INPUTS_TRIED.extend(["BVH with one inf frame", "BVH with every frame NaN"])
    data = read_all((str(root),), Recipe(data=(str(root),)), Resources())
    names = {m.name.split("@")[0] for m in data.movements}
    assert names == {"dataset-1_walk_sad_001", "dataset-1_bow_sad_001", "dataset-1_walk_happy_001"}
    assert data.notes[0].endswith("motion-capture skeletons, 3 movements")  # never counted
    skipped = [n for n in data.notes if "BVH clips skipped" in n]
    assert len(skipped) == 1 and skipped[0].strip().startswith("2 BVH clips skipped: ")
    assert f"{one.name} (NaN or infinite values in 1 of 75 frames" in skipped[0]
    assert f"{every.name} (NaN or infinite values in 75 of 75 frames" in skipped[0]


def test_auxiliary_clips_with_nan_are_reported_too(tmp_path) -> None:
    """Clips only the content projection sees are skipped and named like training clips."""
    from offline.training.recipe import Recipe, auxiliary_table
    from tests.offline.datasets.test_mocap import write_mocap_folder

    root = write_mocap_folder(tmp_path / "m", [("walk", "sad"), ("bow", "happy")])
    aux = write_mocap_folder(
        tmp_path / "aux", [("walk", "proud"), ("bow", "tired")], styles=("proud", "tired")
    )
    bad = poison(aux / "data" / "dataset-1_bow_tired_001.bvh")
    INPUTS_TRIED.append("auxiliary BVH with a NaN frame")
    told: list[str] = []
    table = auxiliary_table(
        Recipe(data=(str(root),), auxiliary=(str(aux),)), ("Happy", "Sad"), told.append
    )
    assert table is not None and len(table)
    assert {c.split("@")[0] for c in table.group("clip")} == {"dataset-1_walk_proud_001"}
    assert any("content projection only" in line for line in told)
    assert any(f"{bad.name} (NaN or infinite values in 1 of" in line for line in told), told


def test_training_data_with_every_clip_nan_is_one_line(capsys, tmp_path) -> None:
    from tests.offline.datasets.test_mocap import write_mocap_folder

    root = write_mocap_folder(tmp_path / "m", [("walk", "sad"), ("bow", "happy")])
    for bvh in (root / "data").glob("*.bvh"):
        poison(bvh)
    code, err = run(capsys, "train", "--data", root, "--no-render", "--quick", "--out",
                    tmp_path / "m.skops")  # fmt: skip
    one_line(code, err, r"no usable clips in .*: all 2 skipped, e\.g\. dataset-1_\w+\.bvh \(NaN")


@pytest.mark.parametrize("frame_time", ["1e-300", "0", "-1", "nan"])
def test_an_impossible_bvh_frame_time_is_one_line(capsys, tmp_path, frame_time) -> None:
    from tests.offline.datasets.test_mocap import write_mocap_folder

    root = write_mocap_folder(tmp_path / "m", [("walk", "sad"), ("bow", "happy")])
    bvh = root / "data" / "dataset-1_walk_sad_001.bvh"
    bvh.write_text(re.sub(r"Frame Time: \S+", f"Frame Time: {frame_time}", bvh.read_text()))
    code, err = run(capsys, "train", "--data", root, "--no-render", "--out", tmp_path / "x")
    one_line(code, err, rf"walk_sad_001\.bvh: 'Frame Time: {frame_time}' must be 0\.0001 to 10")


# --- item 7: a keypoint cache that cannot take the extraction: one line, before pose ---


def _video_folders(root: Path) -> Path:
    from tests.offline.keypoints.conftest import square_frames, write_video

    for label in ("Happy", "Sad"):
        (root / label).mkdir(parents=True)
        write_video(root / label / f"{label}.mp4", square_frames(3))
    return root


@pytest.mark.parametrize("case", ["a file", "under a file", "read-only"])
def test_a_keypoint_cache_that_cannot_be_written_is_one_line(capsys, tmp_path, monkeypatch, case):
    from tests.test_train_cli import fake_pose_bundle

    data = _video_folders(tmp_path / "videos")
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    cache = {"a file": blocker, "under a file": blocker / "cache"}.get(case, tmp_path / "ro")
    if case == "read-only":  # root ignores permission bits: the file system says no instead
        import errno
        import tempfile

        real = tempfile.mkstemp

        def refuse(*args, dir=None, **kwargs):
            if dir is not None and Path(dir) == cache:
                raise OSError(errno.EROFS, "Read-only file system")
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    pose = fake_pose_bundle(tmp_path / "pose.task")
    code, err = run(capsys, "train", "--data", data, "--pose-model", pose, "--cache-dir", cache,
                    "--out", tmp_path / "m.skops", "--no-progress")  # fmt: skip
    why = "is a file, not a folder" if case != "read-only" else "read-only or not yours"
    one_line(
        code, err, f"cannot write the keypoint cache .*{cache.name}: .*{why}; give --cache-dir"
    )


# --- items 7 and 10: text files that are not UTF-8, a CSV cell over 128 KiB ---------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "latin-1"])
def test_a_label_file_not_in_utf8_names_the_file(tmp_path, encoding) -> None:
    from offline.datasets.mocap import list_clips
    from tests.offline.datasets.test_mocap import write_mocap_folder

    root = write_mocap_folder(tmp_path / "m", [("walk", "sad")])
    labels = root / "cfg" / "style_label.txt"
    labels.write_text("dataset-1_sad\ndataset-1_café\n", encoding=encoding)
    INPUTS_TRIED.append(f"style_label.txt in {encoding}")
    found = "UTF-16" if encoding.startswith("utf-16") else "not UTF-8"
    with pytest.raises(
        ValueError, match=f"label list .*style_label.txt is {found}.*save it as UTF-8"
    ):
        list_clips(root)


def test_annotations_in_utf16_or_with_a_huge_cell_are_one_line(capsys, tmp_path) -> None:
    from tests.test_train_cli import EILA_HEADER, eila

    root = eila(tmp_path / "e", None)
    csv = root / "annotations" / "annotations.csv"
    csv.write_text(EILA_HEADER + "v1,c1,\"[['Sad']]\",0,10,10,50,50,A\n", encoding="utf-16")
    code, err = run(capsys, "train", "--data", root, "--out", tmp_path / "m.skops")
    one_line(code, err, r"annotations .*annotations\.csv is UTF-16 text; save it as UTF-8")
    csv.write_text(EILA_HEADER + 'v1,c1,"' + "x" * 200_000 + '",0,10,10,50,50,A\n')
    code, err = run(capsys, "train", "--data", root, "--out", tmp_path / "m.skops")
    one_line(code, err, r"annotations\.csv: line 2 cannot be read as CSV \(field larger than")


def test_a_full_disk_names_the_file_being_written(tmp_path, monkeypatch) -> None:
    from pipeline.io import error_line, write_text_atomic

    target = tmp_path / "report.md"
    target.write_text("the previous report")

    def full(self, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    INPUTS_TRIED.append("a full disk while writing")
    with pytest.raises(OSError) as e:
        write_text_atomic(target, "new")
    assert e.value.filename == str(target) and e.value.errno == 28
    assert error_line(e.value).startswith(f"No space left on device: {target}; check that path")
    monkeypatch.undo()
    assert target.read_text() == "the previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


# --- item 10: mediapipe's errors name the file, and its own lines stay muted ------------


def test_a_pose_bundle_mediapipe_cannot_load_is_one_line_naming_it(tmp_path) -> None:
    import subprocess
    import sys

    from tests.test_train_cli import fake_pose_bundle

    data = _video_folders(tmp_path / "videos")
    bundle = fake_pose_bundle(tmp_path / "junk.task")
    INPUTS_TRIED.append("--pose-model a zip of junk with the bundle's member names")
    result = subprocess.run(
        [sys.executable, "train.py", "train", "--data", str(data), "--pose-model", str(bundle),
         "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "m.skops"),
         "--no-progress"],
        capture_output=True, text=True, timeout=300, cwd=Path(train.__file__).parent,
    )  # fmt: skip
    one_line(
        result.returncode,
        result.stderr,
        r"^error: cannot load the pose model .*junk\.task: .+; give --pose-model an official",
    )
    assert not (tmp_path / "m.skops").exists()
