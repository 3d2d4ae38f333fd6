"""`python -m realtime`: help, settings, every error path (one line, exit 2), headless runs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from pipeline.models import card_path, save_model
from realtime.cli import main
from tests.realtime.conftest import read_video


def one_error_line(capsys, pattern: str) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in captured.err
    import re

    assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


def test_help_explains_every_input_with_an_example(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for example in (
        "python -m realtime --camera 0",
        "python -m realtime --video clip.mp4 --loop",
        "python -m realtime --demo",
        "--jsonl -",
        "--no-realtime",
    ):
        assert example in text
    for option in (
        "--pose-model",
        "--record",
        "--headless",
        "--max-frames",
        "--duration",
        "--model",
    ):
        assert option in text
    assert "each gets a stable id" in text  # the --max-people rule
    assert "(default: 0.5)" in text  # defaults are stated
    # --max-side's default is the model's own (it was a fixed 640 before pose settings
    # were recorded in the model)
    assert "(default: the size the model was trained with, pose.max_side in its card)" in text
    assert "q or Esc" in text


def test_exactly_one_input(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--camera", "0", "--demo"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        main([])
    assert "one of the arguments --camera --video --demo is required" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-frames", "0"], "argument --max-frames: must be >= 1, got 0"),
        (["--duration", "-2"], "argument --duration: must be > 0, got -2"),
        (["--max-side", "10"], "--max-side must be 0 \\(native size\\) or >= 64 pixels, got 10"),
        (["--max-people", "0"], "argument --max-people: must be >= 1, got 0"),
        (
            ["--record", "out.webm"],
            "`record` must end in one of .avi, .m4v, .mov, .mp4, got 'out.webm'",
        ),
        (["--min-confidence", "1.5"], "argument --min-confidence: must be <= 1, got 1.5"),
        (["--smoothing-s", "0"], "argument --smoothing-s: must be > 0, got 0"),
        (["--camera-retry-s", "-1"], "argument --camera-retry-s: must be >= 0, got -1"),
    ],
)
def test_bad_settings_one_line_exit_2(capsys, argv, message):
    try:
        code = main(["--camera", "0", *argv])
    except SystemExit as e:  # the parser's own checks (pipeline.validate.number)
        code = e.code
    assert code == 2
    one_error_line(capsys, message)


# --- error paths: one line, exit 2, nothing written ---------------------------------


@pytest.fixture
def clip(make_video):
    return make_video("clip.avi", 20)


@pytest.fixture
def fails(capsys, tmp_path):
    """`fails(argv, pattern)`: `main(argv)`, headless and writing over the JSONL of an
    earlier run, exits 2 with one error line matching `pattern`; that JSONL is untouched."""
    old_jsonl = tmp_path / "old.jsonl"
    old_jsonl.write_text('{"earlier": "run"}\n')

    def run(argv, pattern):
        assert main([*argv, "--headless", "--jsonl", str(old_jsonl)]) == 2
        one_error_line(capsys, pattern)
        assert old_jsonl.read_text() == '{"earlier": "run"}\n'  # nothing already written is lost

    return run


def video_and_model(video, model, *more) -> list[str]:
    return ["--video", str(video), "--model", str(model), *map(str, more)]


def reseal(path, card_of=None) -> None:
    """Give the model file `path` a card that matches it: its own card (or `card_of`'s)
    with `path`'s sha256."""
    card = json.loads(card_path(card_of or path).read_text())
    card["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    card_path(path).write_text(json.dumps(card))


def test_missing_model(fails, clip, tmp_path):
    fails(video_and_model(clip, tmp_path / "none.joblib"), "model file not found: .*none.joblib")


def test_corrupt_model(fails, clip, tiny_model_path, tmp_path):
    import shutil

    bad = tmp_path / "bad.joblib"
    bad.write_bytes(b"\x80\x04 definitely not a pickle")
    reseal(bad, tiny_model_path)
    fails(video_and_model(clip, bad), "is not a skops model file")
    shutil.copy(tiny_model_path, tmp_path / "nocard.joblib")
    fails(
        video_and_model(clip, tmp_path / "nocard.joblib"),
        "model card .*nocard.card.json is missing",
    )


def test_model_that_does_not_match_its_card(fails, clip, tiny_model_path, tmp_path):
    import shutil

    path = tmp_path / "changed.joblib"
    shutil.copy(tiny_model_path, path)
    shutil.copy(card_path(tiny_model_path), card_path(path))
    with open(path, "ab") as f:
        f.write(b"\0")
    fails(video_and_model(clip, path), "does not match its card")


def test_model_with_another_feature_version(fails, clip, tiny_model, tmp_path):
    path = tmp_path / "future.joblib"
    save_model(replace(tiny_model, feature_version=99), path)
    fails(video_and_model(clip, path), "trained on feature set 'motion' version 99")


def test_model_with_another_feature_set(fails, clip, tiny_model, tmp_path):
    """A model whose card names a feature set its classifier was not trained on."""
    path = tmp_path / "seed.joblib"
    save_model(replace(tiny_model, feature_set="seed", feature_version=-1), path)
    fails(
        video_and_model(clip, path),
        f"expects {tiny_model.n_features} features, but feature set 'seed' gives",
    )
    path = tmp_path / "unknown.joblib"
    save_model(replace(tiny_model, feature_version=1), path)
    import skops.io as sio

    payload = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    payload["feature_set"] = "gait"
    sio.dump(payload, path)
    reseal(path)
    fails(video_and_model(clip, path), "trained on feature set 'gait'")


def test_missing_video(fails, tiny_model_path, tmp_path):
    fails(video_and_model(tmp_path / "none.mp4", tiny_model_path), "video not found: .*none.mp4")


def test_corrupt_video(fails, tiny_model_path, tmp_path):
    path = tmp_path / "garbage.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    fails(
        video_and_model(path, tiny_model_path),
        "cannot open video .*garbage.mp4: not a video file or corrupt",
    )


def test_video_with_no_frames(fails, tiny_model_path, make_video):
    path = make_video("empty.avi", 0)
    fails(video_and_model(path, tiny_model_path), "no decodable frames|cannot open video")


def test_camera_that_cannot_be_opened(fails, tiny_model_path):
    fails(
        ["--camera", "99", "--model", str(tiny_model_path)],
        "cannot open camera 99: no such device, or it is in use",
    )


def test_bad_pose_model(fails, clip, tiny_model_path, tmp_path):
    fake = tmp_path / "pose.task"
    fake.write_bytes(b"not a zip")
    fails(
        video_and_model(clip, tiny_model_path, "--pose-model", fake),
        "is not a PoseLandmarker .task bundle",
    )


def test_record_into_a_missing_directory(fails, clip, tiny_model_path, tmp_path):
    fails(
        video_and_model(clip, tiny_model_path, "--record", tmp_path / "no" / "out.mp4"),
        "directory .*no does not exist",
    )


# --- runs with the real pose model on synthetic footage -----------------------------


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.integration
def test_nobody_in_view_runs_to_the_end(capsys, make_video, tiny_model_path, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    clip = make_video("empty_room.avi", 40, size_wh=(320, 240))
    out, rec = tmp_path / "out.jsonl", tmp_path / "out.avi"
    argv = [
        "--video",
        str(clip),
        "--model",
        str(tiny_model_path),
        "--no-realtime",
        "--jsonl",
        str(out),
        "--record",
        str(rec),
    ]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "no display (DISPLAY is not set): running headless" in err
    assert "stopped (end of video): 40 frames processed" in err
    records = read_jsonl(out)
    assert [r["frame"] for r in records] == list(range(40))
    assert {r["state"] for r in records} == {"no person"}
    assert all(r["label"] is None and r["probabilities"] is None for r in records)
    assert read_video(rec)[:2] == (40, (320, 240))


@pytest.mark.integration
def test_camera_failing_mid_run_finalises_outputs(capsys, tiny_model_path, tmp_path, monkeypatch):
    """A camera that delivers 20 frames, then nothing: retry, give up, outputs finalised, exit 1."""
    import realtime.capture.camera as capture

    class Dying:
        def __init__(self):
            self.reads = 0

        def get(self, prop):
            return {
                cv2.CAP_PROP_FRAME_WIDTH: 160,
                cv2.CAP_PROP_FRAME_HEIGHT: 120,
                cv2.CAP_PROP_FPS: 30.0,
            }.get(prop, 0)

        def read(self):
            import time

            self.reads += 1
            time.sleep(1 / 30)
            if self.reads > 20:
                return False, None
            return True, np.full((120, 160, 3), 60, np.uint8)

        def release(self):
            pass

    camera = Dying()
    monkeypatch.setattr(capture, "open_camera", lambda index: camera)
    out, rec = tmp_path / "cam.jsonl", tmp_path / "cam.mp4"
    argv = [
        "--camera",
        "0",
        "--headless",
        "--model",
        str(tiny_model_path),
        "--camera-retry-s",
        "0.5",
        "--jsonl",
        str(out),
        "--record",
        str(rec),
    ]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "warning: camera 0 stopped delivering frames; retrying for up to 0.5 s" in err
    assert err.strip().splitlines()[-1] == (
        "error: camera 0 stopped delivering frames; gave up after 0.5 s of retries "
        "(check the cable or the device); the outputs were finalised"
    )
    records = read_jsonl(out)
    assert records and records[-1]["frame"] <= 19
    n, size, _ = read_video(rec)
    assert size == (160, 120) and n == records[-1]["frame"] - records[0]["frame"] + 1


@pytest.mark.integration
def test_corrupt_frames_mid_video_are_skipped_and_the_run_continues(
    capsys, make_video, tiny_model_path, tmp_path
):
    """Garbage bytes over one frame of an MJPEG video: that frame is skipped and counted."""
    clip = make_video("spliced.avi", 60)
    data = bytearray(clip.read_bytes())
    at = [i for i in range(len(data) - 1) if data[i : i + 2] == b"\xff\xd8"][30]
    data[at : at + 600] = np.random.default_rng(0).integers(0, 256, 600, dtype=np.uint8).tobytes()
    clip.write_bytes(bytes(data))
    out = tmp_path / "out.jsonl"
    argv = ["--video", str(clip), "--model", str(tiny_model_path), "--no-realtime", "--headless"]
    assert main([*argv, "--jsonl", str(out)]) == 0
    assert "stopped (end of video): 59 frames processed" in capsys.readouterr().err
    records = read_jsonl(out)
    assert 30 not in [r["frame"] for r in records] and records[-1]["frame"] == 59
    assert records[-1]["skipped"] == 1
