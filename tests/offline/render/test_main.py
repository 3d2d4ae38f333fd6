"""Tests for offline/render/__main__.py: the command line (one clip, or a labelled dataset)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from offline.render.__main__ import main
from offline.render.dataset import RENDERER_VERSION
from tests.offline.render.conftest import tiny_dataset, write_tiny_bvh


def test_cli_renders_a_clip(tiny_bvh: Path, tmp_path: Path, capsys) -> None:
    from pipeline.video import VideoInfo

    out = tmp_path / "out" / "tiny.mp4"
    assert main([str(tiny_bvh), str(out), "--view", "35", "--no-progress"]) == 0
    info = VideoInfo.from_path(out)
    assert (info.width, info.height, info.total_frames) == (480, 640, 4)
    assert abs(info.fps - 30.0) < 0.01
    assert "wrote" in capsys.readouterr().out


def test_cli_renders_a_skeleton_without_toe_joints(tmp_path: Path, capsys) -> None:
    """A joint map says null for toes the skeleton lacks (Bandai-Namco's are asked for
    below Bandai-Namco's ankles) and the feet are placed from the ankles."""
    bvh = write_tiny_bvh(tmp_path / "toeless.bvh", toes=False, head_zxy=(0, 0, 0))
    joint_map = tmp_path / "map.json"
    axes = {"head_up": [0, 1, 0], "head_forward": [0, 0, 1]}
    joint_map.write_text(json.dumps(axes))
    out = tmp_path / "toeless.mp4"
    assert main([str(bvh), str(out), "--joint-map", str(joint_map), "--no-progress"]) == 2
    assert "l_toes=Toes_L, r_toes=Toes_R; " in capsys.readouterr().err
    joint_map.write_text(json.dumps({**axes, "l_toes": None, "r_toes": None}))
    assert main([str(bvh), str(out), "--joint-map", str(joint_map), "--no-progress"]) == 0
    assert "wrote" in capsys.readouterr().out and out.is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.bvh", "out.mp4"], r"^error: BVH file not found: missing\.bvh$"),
        (["{bvh}", "out.mp4", "--view", "abc"], r"^error: argument --view: must be a number"),
        (["{bvh}", "out.mp4", "--view", "nan"], r"^error: argument --view: must be a finite"),
        (["{bvh}", "out.mp4", "--distance", "inf"], r"^error: argument --distance: must be a fin"),
        (["{bvh}", "out.mp4", "--unit-m", "0"], r"^error: argument --unit-m: must be > 0, got 0"),
        (["{bvh}", "out.mp4", "--max-frames", "0"], r"^error: argument --max-frames: must be >= 1"),
        (["--dataset", "{tmp}", "--jobs", "-5"], r"^error: argument --jobs: must be >= 1, got -5"),
        (["{bvh}", "{bvh}"], r"^error: output video must end in \.mp4"),
        (["{bvh}", "{bvh}/clip.mp4"], r"^error: cannot write output video .*is a file, not a fo"),
        (["{bvh}", "out.mp4", "--view", "200"], r"^error: `view` must be in \[-180, 180\]"),
        (["{bvh}", "out.avi"], r"^error: output video must end in \.mp4, got out\.avi$"),
        (["{bvh}", "out.mp4", "--distance", "0"], r"^error: argument --distance: must be 0.1 to"),
        (["{bvh}"], r"^error: give a BVH clip and an output \.mp4"),
        (["--dataset", "{tmp}"], r"^error: --dataset takes --out DIR"),
        (["--dataset", "{tmp}", "--out", "{tmp}"], r"^error: .*cfg.* not found: --dataset must be"),
    ],
)
def test_cli_bad_input_gives_one_line_and_exit_2(
    args: list[str], message: str, tiny_bvh: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [a.format(bvh=tiny_bvh, tmp=tmp_path / "nodata") for a in args]
    (tmp_path / "nodata" / "data").mkdir(parents=True)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert re.search(message, err.strip()), err
    assert not (tmp_path / "out.mp4").exists()


def test_cli_renders_a_labelled_dataset_and_skips_done_work(tmp_path: Path, capsys) -> None:
    data, out = tiny_dataset(tmp_path / "bandai"), tmp_path / "rendered"
    argv = ["--dataset", str(data), "--out", str(out), "--views", "0", "-35", "--no-progress"]
    assert main(argv) == 0
    videos = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.mp4"))
    assert videos == [
        "videos/Happy/d_walk_happy_001_view-35.mp4",
        "videos/Happy/d_walk_happy_001_view0.mp4",
        "videos/Neutral/d_bow_normal_001_view-35.mp4",
        "videos/Neutral/d_bow_normal_001_view0.mp4",
    ]  # the "old" style is not an emotion and is not rendered
    sidecar = json.loads((out / "videos/Happy/d_walk_happy_001_view-35.json").read_text())
    assert {
        k: sidecar[k]
        for k in (
            "clip",
            "content",
            "style",
            "label",
            "view_deg",
            "distance_m",
            "frames",
            "renderer",
        )
    } == {
        "clip": "d_walk_happy_001",
        "content": "walk",
        "style": "happy",
        "label": "Happy",
        "view_deg": -35.0,
        "distance_m": 3.0,
        "frames": 3,
        "renderer": RENDERER_VERSION,
    }
    assert "4 to render" in capsys.readouterr().out
    stamp = (out / "videos/Happy/d_walk_happy_001_view0.mp4").stat().st_mtime_ns
    assert main(argv) == 0
    assert "4 already rendered, 0 to render" in capsys.readouterr().out
    assert (out / "videos/Happy/d_walk_happy_001_view0.mp4").stat().st_mtime_ns == stamp
    # other settings are other work: a new distance renders again
    assert main([*argv, "--distance", "3.5", "--styles", "happy"]) == 0
    assert "0 already rendered, 2 to render" in capsys.readouterr().out


def test_dataset_with_a_broken_label_file(tmp_path: Path, capsys) -> None:
    data = tiny_dataset(tmp_path / "bandai")
    (data / "data" / "d_bow_old_001.json").write_text('{"content": 7, "style": 0}')
    assert main(["--dataset", str(data), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: label file") and "d_bow_old_001.json" in err
    assert len(err.splitlines()) == 1


# --- issue #11: NaN / inf motion, impossible frame times ------------------------------------


def test_cli_refuses_a_clip_with_nan_or_an_impossible_frame_time(
    tiny_bvh: Path, tmp_path: Path, capsys
) -> None:
    from tests.test_hostile_inputs import poison

    out = tmp_path / "out.mp4"
    fast = tmp_path / "fast.bvh"
    fast.write_text(tiny_bvh.read_text().replace("Frame Time: 0.0333333", "Frame Time: 1e-300"))
    nan = tmp_path / "nan.bvh"
    nan.write_text(tiny_bvh.read_text())
    poison(nan, slice(1, 2))
    cases = [
        (nan, r"nan\.bvh: NaN or infinite values in 1 of 4 frames"),
        (fast, r"fast\.bvh: 'Frame Time: 1e-300' must be 0\.0001 to 10"),
    ]
    for clip, pattern in cases:
        assert main([str(clip), str(out), "--no-progress"]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and re.search(r"^error: .*" + pattern, lines[0]), lines
        assert not out.exists() and list(tmp_path.glob(".out.mp4*")) == []


def test_cli_skips_and_names_dataset_clips_with_nan(tmp_path: Path, capsys) -> None:
    from tests.test_hostile_inputs import poison

    data, out = tiny_dataset(tmp_path / "bandai"), tmp_path / "rendered"
    poison(data / "data" / "d_bow_normal_001.bvh", slice(None), "inf")
    argv = ["--dataset", str(data), "--out", str(out), "--views", "0", "--no-progress"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.rglob("*.mp4")) == ["d_walk_happy_001_view0.mp4"]
    assert captured.err.strip() == (
        "warning: 1 videos not rendered: d_bow_normal_001_view0.mp4 (NaN or infinite values "
        "in 3 of 3 frames (the first is frame 0))"
    )
    assert "done: 1 videos" in captured.out


# --- issue #11: outputs checked against the inputs; Ctrl-C; leftovers of a killed run ------


def test_cli_refuses_outputs_that_are_its_inputs(tiny_bvh: Path, tmp_path: Path, capsys) -> None:
    data = tiny_dataset(tmp_path / "bandai")
    link = tmp_path / "clip.mp4"
    link.symlink_to(tiny_bvh)  # an .mp4 name that is the BVH clip itself
    jm = tmp_path / "videos" / "Happy" / "d_walk_happy_001_view0.json"
    jm.parent.mkdir(parents=True)
    jm.write_text("{}")  # a joint map where a sidecar would be written
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    dataset = ["--dataset", str(data), "--out"]
    cases = [
        ([str(link), str(link)], r"output video .*clip\.mp4 is the same file as the input BVH"),
        ([*dataset, str(data)], r"--out .* same file as the input --dataset"),
        ([*dataset, str(tmp_path), "--views", "0", "--joint-map", str(jm)],
         r"--out sidecar .*view0\.json is the same file as the input --joint-map"),
    ]  # fmt: skip
    for argv, pattern in cases:
        assert main([*argv, "--no-progress"]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and re.search(pattern, lines[0]), lines
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_ctrl_c_is_one_line_exit_130_and_leaves_nothing_half_written(
    tiny_bvh: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    from offline.render import raycast

    frames = raycast.Renderer.frames

    def interrupted(self, scene, indices):
        for n, frame in enumerate(frames(self, scene, indices)):
            if n == 2:
                raise KeyboardInterrupt
            yield frame

    monkeypatch.setattr(raycast.Renderer, "frames", interrupted)
    out = tmp_path / "out"
    out.mkdir()
    (out / "tiny.mp4").write_bytes(b"an earlier render")
    assert main([str(tiny_bvh), str(out / "tiny.mp4"), "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert err.strip().startswith("interrupted: ") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert [p.name for p in out.iterdir()] == ["tiny.mp4"]
    assert (out / "tiny.mp4").read_bytes() == b"an earlier render"


def test_ctrl_c_in_a_real_run(tmp_path: Path) -> None:
    """SIGINT while a clip renders (the signal lands wherever the renderer is)."""
    import signal
    import subprocess
    import sys
    import time

    from tests.offline.render.conftest import write_tiny_bvh

    clip = write_tiny_bvh(tmp_path / "long.bvh", n_frames=2000)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "offline.render", str(clip), str(out / "long.mp4"), "--no-progress"],
        stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[3],
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(out.glob(".long.mp4.*.tmp.mp4")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # some frames in
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().startswith("interrupted: "), err
    assert len(err.strip().splitlines()) == 1, err
    assert list(out.iterdir()) == []


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    data, out = tiny_dataset(tmp_path / "bandai"), tmp_path / "rendered"
    folder = out / "videos" / "Happy"
    folder.mkdir(parents=True)
    stale = folder / f".d_walk_happy_001_view0.mp4.~posemotion-{2**22 + 3}.abc123xy.tmp.mp4"
    stale.write_bytes(b"half a video")
    argv = ["--dataset", str(data), "--out", str(out), "--views", "0", "--max-frames", "1"]
    assert main([*argv, "--no-progress"]) == 0
    assert not stale.exists()
    assert sorted(p.name for p in folder.iterdir()) == [
        "d_walk_happy_001_view0.json", "d_walk_happy_001_view0.mp4"
    ]  # fmt: skip
