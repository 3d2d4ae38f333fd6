"""`--serve` in a real browser: Debian's chromium, headless, driven by selenium, on the demo
footage with the shipped model. Skips (saying why) without chromium, chromedriver or selenium.

The screenshot is written to the test's tmp folder and copied to
benchmarks/results/serve_screenshot.png (git-ignored) for a look by eye.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pipeline.models import load_model
from realtime.overlay import STATE_COLOURS
from realtime.tick import CLASSIFIED, UNCERTAIN
from tests.realtime.test_e2e import REPO, start

pytestmark = pytest.mark.integration

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SCREENSHOT = REPO / "benchmarks" / "results" / "serve_screenshot.png"


def browser_problem() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements-dev.txt)"
    return None


def served(args: list[str]) -> tuple[subprocess.Popen, str]:
    """Start the app with `args`; (process, URL printed on its 'live view on' line)."""
    proc = start(args)
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    lines = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if m := re.search(r"live view on (http://\S+)", line):
            return proc, m.group(1)
    proc.kill()
    raise AssertionError("no 'live view on' line:\n" + "".join(lines))


def finish(proc: subprocess.Popen) -> str:
    """SIGTERM the app; its stderr once it finished (exit code 0 asserted)."""
    if proc.poll() is None:
        proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return err


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    problem = browser_problem()
    if problem:
        pytest.skip(problem)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1000,800",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_page_shows_the_stream_and_the_label(browser, demo_clip, shipped_model, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    classes = load_model(shipped_model).classes
    jsonl = tmp_path / "served.jsonl"
    proc, url = served(
        ["--video", str(demo_clip), "--loop", "--headless", "--serve", "127.0.0.1:0",
         "--jsonl", str(jsonl), "--model", str(shipped_model)]
    )  # fmt: skip
    try:
        assert url.startswith("http://127.0.0.1:") and "token" not in url
        browser.get(url)
        label = browser.find_element(By.ID, "label")
        # a decision from the events endpoint once a window is full: a label from the
        # model's classes, or "uncertain" (the shipped model finds the demo's movement
        # unlike its training data)
        decided = (*classes, "uncertain")
        WebDriverWait(browser, 120, 0.2).until(lambda d: label.text.split(" ")[0] in decided)
        shown_text = label.text
        video = browser.find_element(By.ID, "video")
        WebDriverWait(browser, 60, 0.2).until(
            lambda d: d.execute_script("return arguments[0].naturalWidth", video) > 0
        )
        time.sleep(1.0)  # a few more frames, with the label drawn on them
        shot_path = tmp_path / "serve_screenshot.png"
        assert browser.save_screenshot(str(shot_path))
        box = video.rect
        label_box = label.rect
        natural = browser.execute_script(
            "return [arguments[0].naturalWidth, arguments[0].naturalHeight]", video
        )
        ratio = browser.execute_script("return window.devicePixelRatio") or 1
    finally:
        err = finish(proc)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot_path, SCREENSHOT)
    import cv2

    shot = cv2.imread(str(shot_path))  # BGR
    assert natural == [360, 640]  # the demo clip at the model's pose.max_side
    x0, y0 = round(box["x"] * ratio), round(box["y"] * ratio)
    w, h = round(box["width"] * ratio), round(box["height"] * ratio)
    frame = shot[y0 : y0 + h, x0 : x0 + w]
    assert frame.shape[0] > 200 and frame.shape[1] > 100
    # the video: a real picture (many grey levels), not a blank or broken image
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    assert grey.std() > 20 and len(np.unique(grey)) > 100
    # the label box drawn on the stream: the overlay's darkened panel, top left, with the
    # headline in the colour of the decision shown (JPEG-blurred, so nearly that colour)
    panel = frame[: h // 6, : w // 2].astype(int)
    shown = CLASSIFIED if shown_text.split(" ")[0] in classes else UNCERTAIN
    near = np.abs(panel - np.array(STATE_COLOURS[shown])).max(-1) < 40
    assert near.sum() > 30, "no label headline on the streamed frame"
    # the page's own label box, beside the video
    lx, ly = round(label_box["x"] * ratio), round(label_box["y"] * ratio)
    text_box = shot[ly : ly + round(label_box["height"] * ratio), lx : lx + 200]
    assert (text_box.max(-1) > 200).sum() > 50, "the page's label box is blank"
    assert "Traceback" not in err


def test_token_is_required_off_the_default_address(demo_clip, shipped_model):
    """Bound to 127.0.0.2 without --serve-token: one is generated and printed; requests
    without it get 403, with it 200. Connects only to 127.0.0.2."""
    proc, url = served(
        ["--video", str(demo_clip), "--loop", "--headless", "--serve", "127.0.0.2:0",
         "--model", str(shipped_model)]
    )  # fmt: skip
    try:
        m = re.fullmatch(r"http://127\.0\.0\.2:(\d+)/\?token=([\w-]+)", url)
        assert m, url
        base = f"http://127.0.0.2:{m.group(1)}"
        for path in ("/", "/stream.mjpg", "/events", "/?token=wrong"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(base + path, timeout=10)
            assert e.value.code == 403
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.status == 200 and b"stream.mjpg" in r.read()
    finally:
        finish(proc)
