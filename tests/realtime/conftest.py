"""Fixtures for the live app's tests: fake clock, fake pose stage, fake sources, tiny model.

Nothing here needs mediapipe, a camera or a display. The synthetic person is the shared
13-joint skeleton placed into PoseLandmarker-shaped output (33 landmarks), moving "calm"
(slight sway) or "lively" (arms waving), from the shared `synthetic_world`; the tiny model
is trained on exactly that.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from offline.training.classifiers import make_classifier
from pipeline import skeleton as sk
from pipeline.features import vectorize
from pipeline.models import DEFAULT_MODEL, EmotionModel, save_model
from pipeline.pose import PoseFrame
from pipeline.window import WindowSpec, make_window
from realtime.analyzer import Analyzer
from realtime.capture import Frame, SourceInfo
from realtime.smoothing import LabelDecider, make_smoother
from tests.conftest import synthetic_world

os.environ.setdefault("GLOG_minloglevel", "2")

REPO = Path(__file__).resolve().parents[2]
TINY_CLASSES = ("calm", "lively")
TINY_SPEC = WindowSpec(window_s=0.5, n_frames=8)
FRAME_WH = (160, 120)

# The tiny model's classes are two of the shared synthetic movements (tests/conftest.py).
_MOTIONS = {"calm": "still", "lively": "wave"}


def body_at(t_s: float, motion: str) -> npt.NDArray[np.float64]:
    """(13, 3) world joints at time `t_s` of a "calm" (slight sway) or "lively" (arms
    waving) movement, metres: `synthetic_world`'s "still" and "wave"."""
    if motion not in _MOTIONS:
        raise ValueError(f"`motion` must be 'calm' or 'lively', got {motion!r}")
    return synthetic_world(np.array([t_s]), _MOTIONS[motion])[0]


def pose_frame(joints: npt.NDArray[np.float64], image_wh: tuple[int, int] = FRAME_WH) -> PoseFrame:
    """PoseLandmarker-shaped output (33 landmarks) holding `joints` (13, 3) world metres.

    World landmarks get MediaPipe camera axes (origin mid-hip); image landmarks are a
    front view, normalised to the frame; the 20 landmarks outside the shared set copy the
    nose and have visibility 0.
    """
    hip = 0.5 * (joints[sk.L_HIP] + joints[sk.R_HIP])
    world = np.repeat(((joints[sk.NOSE] - hip) * (1, -1, -1))[None], sk.N_LANDMARKS, 0)
    world[sk.MEDIAPIPE_INDEX] = (joints - hip) * (1, -1, -1)
    w, h = image_wh
    xy = np.stack([0.5 + joints[:, 0] / 2.0 * h / w, 0.95 - joints[:, 1] / 2.0], -1)
    image = np.repeat(np.array([[xy[0, 0], xy[0, 1], 0.0]]), sk.N_LANDMARKS, 0)
    image[sk.MEDIAPIPE_INDEX, :2] = xy
    visibility = np.zeros(sk.N_LANDMARKS)
    visibility[sk.MEDIAPIPE_INDEX] = 0.95
    f32 = np.float32
    return PoseFrame(
        image.astype(f32),
        world.astype(f32),
        visibility.astype(f32),
        visibility.astype(f32),
        image_wh,
    )


def build_tiny_model(feature_set: str = "motion") -> EmotionModel:
    """A 2-class SVM trained on synthetic calm/lively windows, through `PoseFrame.joints`."""
    x, y = [], []
    for motion in TINY_CLASSES:
        for phase in np.linspace(0.0, 2.0, 24):
            t = phase + np.arange(24) / 30.0
            frames = [pose_frame(body_at(ti, motion)).joints() for ti in t]
            world, image, vis = (np.stack(a) for a in zip(*frames, strict=True))
            window = make_window(world, image, vis, t, TINY_SPEC)
            assert window is not None
            x.append(vectorize(window, feature_set))
            y.append(motion)
    features = np.array(x)
    pipeline = make_classifier("svm", balance="none").fit(features, np.array(y))
    return EmotionModel(pipeline, TINY_CLASSES, feature_set, TINY_SPEC, features.shape[1])


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny model (+ card) in a temporary directory."""
    path = tmp_path_factory.mktemp("model") / "tiny.joblib"
    save_model(build_tiny_model(), path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path: Path) -> EmotionModel:
    from pipeline.models import load_model

    return load_model(tiny_model_path)


def make_analyzer(model, clock, pose, smoothing: str = "none") -> Analyzer:
    """An analyzer on `clock` with `pose`, thresholds 0.6 / 0.1 (`smoothing`: see make_smoother)."""
    return Analyzer(model, pose, make_smoother(smoothing), LabelDecider(0.6, 0.1), clock=clock)


class FakeClock:
    """A clock that moves only when told to, seconds."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakePose:
    """A pose stage that takes `delay_s` of the fake clock and returns a scripted person.

    `script(t_s) -> motion name or None` (None: nobody in view); t_s is the frame time
    from the timestamp the analyzer passes (ms). Records the timestamps it was given.
    """

    def __init__(
        self,
        clock: FakeClock,
        delay_s: float = 0.02,
        script: Callable[[float], str | None] = lambda t: "lively",
    ) -> None:
        self.clock = clock
        self.delay_s = delay_s
        self.script = script
        self.timestamps_ms: list[int] = []

    def detect(
        self,
        image_rgb: np.ndarray,
        timestamp_ms: int | None = None,
        previous: PoseFrame | None = None,
    ) -> PoseFrame:
        assert timestamp_ms is not None
        self.timestamps_ms.append(timestamp_ms)
        self.clock.advance(self.delay_s)
        motion = self.script(timestamp_ms / 1000.0)
        wh = (image_rgb.shape[1], image_rgb.shape[0])
        if motion is None:
            return PoseFrame.empty(wh)
        return pose_frame(body_at(timestamp_ms / 1000.0, motion), wh)


class SimulatedCamera:
    """A camera on the fake clock: frame k exists from time start + k / fps.

    `get` returns the newest frame that exists (older untaken ones count as dropped),
    moving the clock forward to the next frame when none is ready (the wait). It ends
    after `n_frames`. Follows the `FrameSource` protocol.
    """

    def __init__(self, clock: FakeClock, fps: float = 30.0, n_frames: int = 300) -> None:
        self.clock = clock
        self.fps = fps
        self.n_frames = n_frames
        self.start = clock()
        self.info = SourceInfo("simulated", FRAME_WH[0], FRAME_WH[1], FRAME_WH, fps, None)
        self._next = 0  # first frame not yet taken or dropped
        self.dropped = 0
        self.skipped = 0
        self.taken: list[int] = []

    def _time(self, k: int) -> float:
        return self.start + k / self.fps

    def get(self, timeout_s: float) -> Frame | None:
        if self._next >= self.n_frames:
            return None
        newest = min(
            int(np.floor((self.clock() - self.start) * self.fps + 1e-9)), self.n_frames - 1
        )
        if newest < self._next:
            self.clock.now = max(self.clock(), self._time(self._next))
            newest = self._next
        self.dropped += newest - self._next
        self._next = newest + 1
        self.taken.append(newest)
        image = np.zeros((FRAME_WH[1], FRAME_WH[0], 3), np.uint8)
        t = self._time(newest)
        return Frame(image, newest, t, t)

    @property
    def ended(self) -> bool:
        return self._next >= self.n_frames

    def raise_if_failed(self) -> None:
        pass


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fakes() -> type:
    """The fake classes, for tests that build several of them."""

    class Fakes:
        Clock = FakeClock
        Pose = FakePose
        Camera = SimulatedCamera
        body_at = staticmethod(body_at)
        pose_frame = staticmethod(pose_frame)

    return Fakes


def write_video(
    path: Path,
    n_frames: int,
    fps: float = 30.0,
    size_wh: tuple[int, int] = FRAME_WH,
    fourcc: str = "MJPG",
) -> Path:
    """A small test video whose frame i shows the number i (and a grey level ~ i)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size_wh)
    assert writer.isOpened()
    for i in range(n_frames):
        image = np.full((size_wh[1], size_wh[0], 3), (i * 7) % 200 + 20, np.uint8)
        cv2.putText(image, str(i), (5, size_wh[1] // 2), 0, 1.0, (0, 0, 255), 2)
        writer.write(image)
    writer.release()
    return path


def read_video(path: Path) -> tuple[int, tuple[int, int] | None, float]:
    """(frames decoded, (width, height) of the last one, frame rate) of a video file."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    n, size = 0, None
    while True:
        ok, image = cap.read()
        if not ok:
            break
        n, size = n + 1, (image.shape[1], image.shape[0])
    cap.release()
    return n, size, fps


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """Factory: `make_video(name, n_frames, fps=30, size_wh=(160, 120), fourcc="MJPG")`."""

    def make(name: str, n_frames: int, **kwargs: object) -> Path:
        return write_video(tmp_path / name, n_frames, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def shipped_model() -> Path:
    """The model shipped in models/ (the end-to-end tests run the product as users get it)."""
    assert DEFAULT_MODEL.is_file(), f"shipped model {DEFAULT_MODEL} is missing from the repository"
    return DEFAULT_MODEL


@pytest.fixture(scope="session")
def demo_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo clip, fetched like `--demo` does (into $POSEMOTION_CACHE when set)."""
    from realtime.demo import fetch_demo_clip

    return fetch_demo_clip()
