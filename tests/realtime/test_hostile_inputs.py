"""Hostile inputs to `python -m realtime` (issue #11): every one gives one line
"error: ..." (or argparse's one error line), exit 2, no traceback, and nothing already
written is changed. Only the item-10 cases run the pose model (in a child process)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from pipeline.models import card_path
from realtime.cli import main
from realtime.sinks.jsonl import JsonlWriter

INPUTS_TRIED: list[str] = []  # counted in the report of issue #11


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def clip(make_video):
    return make_video("clip.avi", 20)


@pytest.fixture
def refused(capsys, tmp_path):
    """`refused(argv, pattern)`: exit 2, one line matching `pattern`, no traceback, and
    every file in tmp_path unchanged."""

    def run(argv, pattern, *, argparse_error=False):
        before = {p: sha(p) for p in tmp_path.rglob("*") if p.is_file()}
        INPUTS_TRIED.append(" ".join(map(str, argv)))
        try:
            code = main([*map(str, argv), "--headless"])
        except SystemExit as e:  # argparse
            code = e.code
        assert code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        lines = err.strip().splitlines()
        if argparse_error:  # argparse: its usage line, then one error line
            assert len(lines) == 1 and lines[0].startswith("error: argument"), err
        else:
            assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert re.search(pattern, lines[-1]), lines[-1]
        assert {p: sha(p) for p in tmp_path.rglob("*") if p.is_file()} == before
        return lines[-1]

    return run


# --- item 1: outputs never overlap an input or each other --------------------------


def test_outputs_equal_to_the_input_or_each_other_are_refused(refused, clip, tiny_model_path):
    m = ["--model", tiny_model_path]
    link = clip.with_name("link.avi")
    link.symlink_to(clip)
    refused(["--video", clip, *m, "--record", clip], "--record .* same file as the input --video")
    refused(["--video", clip, *m, "--record", link], "same file as the input --video")
    refused(["--video", clip, *m, "--jsonl", clip], "--jsonl .* same file as the input --video")
    out = clip.with_name("out.avi")
    out.write_bytes(b"an earlier recording")
    refused(["--video", clip, *m, "--record", out, "--jsonl", out], "are the same file")
    refused(["--video", clip, *m, "--jsonl", tiny_model_path], "same file as the input --model")
    refused(["--video", clip, *m, "--jsonl", card_path(tiny_model_path)], "model card")


# --- item 2: output locations checked before the pose model starts -------------------


def test_output_locations_are_checked_first(refused, clip, tiny_model_path, tmp_path):
    m = ["--video", clip, "--model", tiny_model_path]
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    refused([*m, "--jsonl", tmp_path], "--jsonl .* is a directory")
    refused([*m, "--jsonl", blocker / "out.jsonl"], "is a file, not a folder|does not exist")
    refused([*m, "--record", blocker / "out.avi"], "is a file, not a folder|does not exist")
    refused([*m, "--jsonl", "/dev/null"], "not a regular file")
    refused([*m, "--record", tmp_path / "no" / "out.avi"], "directory .*no does not exist")


def test_a_failed_run_keeps_the_previous_jsonl(tmp_path):
    target = tmp_path / "labels.jsonl"
    target.write_text('{"earlier": "run"}\n')
    with pytest.raises(RuntimeError), JsonlWriter(target):
        raise RuntimeError("pose failed before the first line")
    assert target.read_text() == '{"earlier": "run"}\n'
    with JsonlWriter(target) as w:
        w.write({"a": 1})
        assert target.read_text() == '{"earlier": "run"}\n'  # still the old one while running
        partial = list(tmp_path.glob(".labels.jsonl.*.partial"))
        assert len(partial) == 1 and partial[0].read_text() == '{"a":1}\n'  # flushed per line
    assert target.read_text() == '{"a":1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.jsonl"]


def test_a_killed_run_leaves_a_partial_file_that_the_next_run_removes(tmp_path):
    stale = tmp_path / f".labels.jsonl.~posemotion-{2**22 + 3}.abcdefgh.partial"  # writer gone
    stale.write_text('{"half": ')
    with JsonlWriter(tmp_path / "labels.jsonl") as w:
        w.write({"a": 1})
    assert not stale.exists()


def test_a_full_disk_names_the_file(tmp_path, monkeypatch):
    w = JsonlWriter(tmp_path / "labels.jsonl")

    class Full:
        closed = False

        def write(self, text):
            raise OSError(28, "No space left on device")

        def close(self):
            self.closed = True

    monkeypatch.setattr(w, "_file", Full())
    with pytest.raises(OSError) as e:
        w.write({"a": 1})
    assert e.value.filename == str(tmp_path / "labels.jsonl")
    assert "No space left on device" in str(e.value) and "choose another --jsonl" in str(e.value)


# --- items 8 and 9: numbers checked once, in the parser ----------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--camera", "2147483648"],
        ["--camera", "-1"],
        ["--camera", "1e3"],
        ["--camera", "0", "--camera-retry-s", "nan"],
        ["--camera", "0", "--camera-retry-s", "inf"],
        ["--camera", "0", "--camera-retry-s", "-1"],
        ["--camera", "0", "--duration", "nan"],
        ["--camera", "0", "--duration", "0"],
        ["--camera", "0", "--max-frames", "0"],
        ["--camera", "0", "--max-side", "-5"],
        ["--camera", "0", "--max-people", "0"],
        ["--camera", "0", "--smoothing-s", "nan"],
        ["--camera", "0", "--smoothing-k", "0"],
        ["--camera", "0", "--min-confidence", "nan"],
        ["--camera", "0", "--min-confidence", "1.5"],
        ["--camera", "0", "--margin", "-0.1"],
        ["--camera", "0", "--margin", "inf"],
    ],
)
def test_numeric_options_are_validated(refused, argv):
    refused(argv, "must be", argparse_error=True)


def test_config_refuses_nan_retry_too():
    from realtime.config import RealtimeConfig

    with pytest.raises(ValueError, match="--camera-retry-s"):
        RealtimeConfig(camera=0, camera_retry_s=float("nan"))


# --- item 8: model payloads checked against the schema ------------------------------


def _payload_model(tmp_path: Path, tiny_model, change) -> Path:
    import skops.io as sio

    from pipeline.models import save_model

    path = tmp_path / "m.skops"
    save_model(tiny_model, path)
    payload = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    change(payload)
    sio.dump(payload, path)
    card = json.loads(card_path(path).read_text())
    card["sha256"] = sha(path)
    card_path(path).write_text(json.dumps(card))
    return path


@pytest.mark.parametrize(
    "change, pattern",
    [
        (lambda p: p.pop("feature_version"), "no 'feature_version' field"),
        (lambda p: p.update(window="abc"), "bad 'window' field"),
        (lambda p: p.update(pipeline={"not": "an estimator"}), "no fitted classifier"),
        (lambda p: p.update(n_features=1.5), "bad 'n_features' field"),
        (lambda p: p.update(classes="ab"), "bad 'classes' field"),
    ],
)
def test_model_payloads_with_a_missing_or_mistyped_field(
    refused, clip, tiny_model, tmp_path, change, pattern
):
    path = _payload_model(tmp_path, tiny_model, change)
    refused(["--video", clip, "--model", path], pattern)


# --- item 14: pickles only with --trust-pickle ----------------------------------------


def test_an_old_pickle_model_needs_trust_pickle(refused, capsys, clip, tiny_model, tmp_path):
    import joblib

    path = tmp_path / "old.joblib"
    joblib.dump({**tiny_model.header(), "pipeline": tiny_model.pipeline}, path)
    card_path(path).write_text(json.dumps({"sha256": sha(path)}))
    refused(["--video", clip, "--model", path], "pickle can run code.*--trust-pickle")
    # with the flag the model loads (a warning), and the next problem is reported instead
    assert main(["--video", str(clip), "--model", str(path), "--trust-pickle", "--headless",
                 "--record", str(clip)]) == 2  # fmt: skip
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("warning: --trust-pickle:") and "same file" in err[1]


# --- item 11: a video cut short says how many frames it lacks at its end ----------------


def test_the_summary_counts_the_frames_a_video_cut_short_lacks(
    monkeypatch, make_video, tiny_model_path
):
    from realtime import app
    from realtime.config import RealtimeConfig
    from tests.realtime.test_app import NobodyPose

    monkeypatch.setattr(app, "PoseEstimator", NobodyPose)
    clip = make_video("cut.avi", 100)
    clip.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    INPUTS_TRIED.append("--video cut.avi (100 frames, cut in half)")
    lines: list[str] = []
    config = RealtimeConfig(video=clip, model=tiny_model_path, realtime=False, headless=True)
    summary = app.run(config, notify=lines.append)
    assert 20 < summary.frames < 80 and summary.skipped == 0
    assert (
        f"0 undecodable frames skipped, {100 - summary.frames} missing at the end of the file;"
        in lines[-1]
    )


# --- item 10: errors after the pose model started are one line too -----------------------


@pytest.mark.parametrize(
    "case", ["busy --serve port", "1x1 frames to --record .mp4", "a pose bundle of junk"]
)
def test_an_error_after_pose_started_is_one_line(make_video, tiny_model_path, tmp_path, case):
    """mediapipe's start-up lines (absl, TensorFlow Lite) used to be replayed on stderr
    before the error when the run failed; only the error line is shown now."""
    import socket
    import subprocess
    import sys

    INPUTS_TRIED.append(case)
    argv = ["--model", str(tiny_model_path), "--headless", "--no-realtime"]
    with socket.socket() as busy:
        if case.startswith("busy"):
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            argv += ["--video", str(make_video("clip.avi", 5)), "--serve",
                     f"127.0.0.1:{busy.getsockname()[1]}"]  # fmt: skip
            pattern = r"^error: .*cannot serve on 127\.0\.0\.1:\d+"
        elif case.startswith("a pose"):
            from tests.test_train_cli import fake_pose_bundle

            bundle = fake_pose_bundle(tmp_path / "junk.task")
            argv += ["--video", str(make_video("clip.avi", 5)), "--pose-model", str(bundle)]
            pattern = r"^error: cannot load the pose model .*junk\.task: .*; give --pose-model"
        else:
            argv += ["--video", str(make_video("dot.avi", 5, size_wh=(1, 1))), "--record",
                     str(tmp_path / "out.mp4")]  # fmt: skip
            pattern = r"^error: cannot record to .*out\.mp4: the frames are 1x1 pixels, too small"
        result = subprocess.run(
            [sys.executable, "-m", "realtime", *argv],
            capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2],
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [ln for ln in result.stderr.splitlines() if not ln.startswith("model ")]
    assert len(errors) == 1 and re.search(pattern, errors[0]), result.stderr
    assert not list(tmp_path.glob("*.partial*")) and not (tmp_path / "out.mp4").exists()
