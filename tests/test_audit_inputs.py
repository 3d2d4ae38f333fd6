"""The second hostile audit (issue #19): inputs of `train.py` and the renderer that used
to overwrite an input, crash with a library's words, or hang; each is one line
"error: ...", exit 2, no traceback, nothing already written changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import train
from tests.test_hostile_inputs import digest, one_line, run


def test_outputs_inside_any_input_are_refused(capsys, tmp_path, monkeypatch) -> None:
    """Item 5: --aux-data, --test-data and --joint-map are inputs too (train and compare)."""
    from offline.training import experiment

    def never(*args, **kwargs):
        raise AssertionError("work started before the outputs were checked")

    monkeypatch.setattr(experiment, "train", never)
    monkeypatch.setattr(experiment, "compare", never)
    folders = {}
    for name in ("data", "aux", "test"):
        folders[name] = tmp_path / name
        (folders[name] / "data").mkdir(parents=True)
        (folders[name] / "data" / "clip.bvh").write_text("HIERARCHY\n")
    joint_map = tmp_path / "map.json"
    joint_map.write_text('{"hips": "Hips"}')
    before = digest(tmp_path)
    t = ["train", "--data", folders["data"], "--no-render", "--quick", "--aux-data",
         folders["aux"], "--test-data", folders["test"], "--joint-map", joint_map]  # fmt: skip
    one_line(*run(capsys, *t, "--out", folders["aux"] / "data" / "clip.bvh"),
             "--out .* inside the input --aux-data")  # fmt: skip
    one_line(*run(capsys, *t, "--out", folders["aux"] / "new.skops"), "inside the input --aux")
    one_line(*run(capsys, *t, "--out", folders["test"] / "data" / "m.skops"),
             "inside the input --test-data")  # fmt: skip
    one_line(*run(capsys, *t, "--out", joint_map), "same file as the input --joint-map")
    one_line(*run(capsys, *t, "--out", tmp_path / "m.skops", "--report-dir", folders["test"]),
             "--report-dir .* the input --test-data")  # fmt: skip
    c = ["compare", "--data", folders["data"], "--aux-data", folders["aux"], "--test-data",
         folders["test"], "--joint-map", joint_map]  # fmt: skip
    one_line(*run(capsys, *c, "--out-md", folders["aux"] / "data" / "clip.bvh"),
             "--out-md .* the input --aux-data")  # fmt: skip
    one_line(*run(capsys, *c, "--out-md", folders["test"] / "t.md"), "inside the input --test")
    one_line(*run(capsys, *c, "--out-md", joint_map), "same file as the input --joint-map")
    assert digest(tmp_path) == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--stride-s", "1e-9"], "argument --stride-s: must be 0.001 to 3600, got 1e-09"),
        (["--seed", str(2**40)], "argument --seed: must be 0 to 4294967295, got 1099511627776"),
        (["--cluster-samples", "1"], "argument --cluster-samples: must be 8 to 100000, got 1"),
        (["--window-s", "1e12"], "argument --window-s: must be 0.05 to 600, got 1000000000000.0"),
        (["--unit-m", "1e300"], "argument --unit-m: must be 1e-06 to 1000, got 1e+300"),
        (["--projection", str(10**20)], "argument --projection: must be 0 to 1000"),
        (["--views", "0", "1e300"], "argument --views: must be -360 to 360, got 1e+300"),
        (["--world-jitter", "1e300"], "argument --world-jitter: must be 0 to 10"),
    ],
)  # fmt: skip
def test_train_numbers_are_bounded_by_what_is_meaningful(capsys, tmp_path, options, message):
    """Items 11, 18, 20: out of memory (--stride-s), sklearn's words (--seed,
    --cluster-samples), overflow: each now refused by the parser, saying the range."""
    one_line(*run(capsys, "train", "--data", tmp_path, "--no-render", *options),
             re.escape(message))  # fmt: skip


def test_compare_numbers_are_bounded(capsys, tmp_path) -> None:
    one_line(*run(capsys, "compare", "--data", tmp_path, "--window-grid", "1", "1e12"),
             r"argument --window-grid: must be 0\.05 to 600")  # fmt: skip
    one_line(*run(capsys, "compare", "--data", tmp_path, "--rate", "1e300"),
             r"argument --rate: must be 0\.1 to 10000")  # fmt: skip


def test_the_cluster_sample_floor_is_what_clustering_needs() -> None:
    from offline.training.clustering import CLUSTER_COUNTS
    from pipeline.validate import OPTION_LIMITS

    assert OPTION_LIMITS["--cluster-samples"][0] == max(CLUSTER_COUNTS) + 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--demo", "--smoothing-k", str(10**12)], "argument --smoothing-k: must be 1 to 100000"),
        (["--demo", "--max-people", "2147483648"], "argument --max-people: must be 1 to 100"),
        (["--demo", "--duration", "1e300"], "argument --duration: must be 0.001 to"),
        (["--demo", "--max-side", str(2**40)], "argument --max-side: must be 0 to 65535"),
    ],
)
def test_realtime_numbers_are_bounded(capsys, argv, message) -> None:
    from realtime import cli

    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 2 and len(err) == 1 and message in err[0], err


def test_render_distance_is_bounded(capsys, tmp_path) -> None:
    from offline.render.__main__ import main

    code = main([str(tmp_path / "a.bvh"), str(tmp_path / "a.mp4"), "--distance", "1e300"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "argument --distance: must be 0.1 to 1000, got 1e+300" in err[0]


def test_a_model_card_with_a_huge_window_is_refused(tmp_path) -> None:
    """Item 11: a card's 1e12 s window would allocate a buffer for it."""
    from pipeline.window import WindowSpec

    with pytest.raises(ValueError, match=r"`window_s` must be 0\.05 to 600 seconds"):
        WindowSpec.from_dict({**WindowSpec().to_dict(), "window_s": 1e12})


def test_a_skeleton_file_declaring_10_to_the_12_frames_is_refused(tmp_path) -> None:
    """Item 11: numpy allocated what the .npy header declared."""
    import zipfile

    import numpy as np

    from offline.datasets.skeletons import load_skeleton
    from pipeline import skeleton as sk

    path = tmp_path / "huge.npz"
    np.savez(path, joints=np.array(sk.JOINTS), fps=30.0, label="happy")
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**12, 13, 3)}
    with zipfile.ZipFile(path, "a") as z, z.open("positions.npy", "w") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(b"\0" * 64)
    with pytest.raises(ValueError, match=r"huge\.npz: `positions` declares shape \(1000000000000"):
        load_skeleton(path)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Frame Number", "1e20", "`Frame Number` must be an integer from 0 to 100000000"),
        ("Width", "1e308", "box (X, Y, Width, Height) must be numbers from -1000 to 1000"),
        ("X", "-1e308", "box (X, Y, Width, Height) must be numbers from -1000 to 1000"),
    ],
)
def test_eila_numbers_are_bounded(tmp_path, column, value, message) -> None:
    from offline.datasets.eila import read_annotations
    from tests.offline.datasets.test_eila import _good, write_csv

    path = write_csv(tmp_path / "annotations.csv", [_good(), {**_good(), column: value}])
    with pytest.raises(ValueError, match=re.escape(message)):
        read_annotations(path)


def test_an_annotations_csv_that_is_a_folder_is_named_as_such(capsys, tmp_path) -> None:
    """Item 20: it got the video-folder layout's message."""
    (tmp_path / "annotations" / "annotations.csv").mkdir(parents=True)
    (tmp_path / "videos").mkdir()
    one_line(*run(capsys, "train", "--data", tmp_path, "--no-render", "--quick"),
             r"annotations .*annotations\.csv is a directory, not a file")  # fmt: skip


def test_render_views_sharing_an_output_name_are_refused(tmp_path) -> None:
    """Item 22: views 35 and 35.0000001 both wrote `*_view35.mp4`."""
    from offline.render.dataset import plan_dataset
    from tests.offline.render.conftest import tiny_dataset

    root = tiny_dataset(tmp_path / "set")
    with pytest.raises(ValueError, match=r"`views` 35 and 35.0000001 get the same output name"):
        plan_dataset(root, tmp_path / "out", (35, 35.0000001), styles=("happy", "normal"))
    with pytest.raises(ValueError, match=r"`views` 0 and 0 get the same output name"):
        plan_dataset(root, tmp_path / "out", (0, 0), styles=("happy", "normal"))
    planned = plan_dataset(root, tmp_path / "out", (35, 35.5), styles=("happy", "normal"))
    assert len(planned) > 0


def test_matplotlib_says_nothing_when_its_cache_folder_sits_under_a_file(tmp_path) -> None:
    """Item 23: matplotlib printed two lines of its own before our error."""
    import os
    import subprocess
    import sys

    blocker = tmp_path / "file"
    blocker.write_text("x")
    env = {k: v for k, v in os.environ.items() if k != "MPLCONFIGDIR"}
    env.update(HOME=str(blocker), XDG_CONFIG_HOME=str(blocker / "c"),
               XDG_CACHE_HOME=str(blocker / "k"))  # fmt: skip
    code = "from offline.training.report import _pyplot; _pyplot().figure()"
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(train.__file__).parent,
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_the_renderer_names_a_clip_that_is_a_folder_or_fifo(capsys, tmp_path) -> None:
    """Fresh pass: one clip given to the renderer was "not found" when a folder or FIFO."""
    import os

    from offline.render.__main__ import main

    (tmp_path / "dir.bvh").mkdir()
    os.mkfifo(tmp_path / "pipe.bvh")
    for name, kind in (("dir.bvh", "a directory"), ("pipe.bvh", "a FIFO")):
        assert main([str(tmp_path / name), str(tmp_path / "o.mp4"), "--no-progress"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"BVH file {tmp_path / name} is {kind}" in err[0], err


def test_train_pose_max_side_is_bounded(capsys, tmp_path) -> None:
    """Fresh pass: --pose-max-side 10**14 was accepted."""
    one_line(*run(capsys, "train", "--data", tmp_path, "--pose-max-side", str(10**14)),
             r"argument --pose-max-side: must be 0 to 65535")  # fmt: skip
