"""Shared test fixtures: synthetic skeleton sequences and the path to the shared data.

`synthetic_sequence(T, fps, motion)` makes a smooth, analytic movement of the shared
13-joint skeleton (`pipeline.skeleton.JOINTS`) sampled at any frame rate, so tests can
compare the same movement at 30 and 60 fps, move or rotate it, or hide joints.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from pipeline import skeleton as sk

os.environ.setdefault("GLOG_minloglevel", "2")  # quiet mediapipe's glog lines

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"
BANDAI_DIR = SHARED_DIR / "data" / "bandai-namco-motion-1" / "data"

MOTIONS = ("still", "wave", "walk")

# Rest pose pieces, metres (a person facing +z, left at +x, y up).
_HIP_HALF = 0.09
_SHOULDER_HALF = 0.18
_TORSO = 0.50
_NOSE = np.array([0.0, 0.22, 0.08])
_UPPER_ARM, _FOREARM, _THIGH, _SHIN = 0.30, 0.26, 0.44, 0.42
_HIP_HEIGHT = 0.95

# Image of the synthetic body: a pinhole camera 6 m in front of the origin, at hip height,
# looking along -z (a "walk" reaches it after 6.6 s); focal length in image heights.
_CAMERA_Z, _CAMERA_Y, _FOCAL = 6.0, 0.95, 2.4
_IMAGE_CENTRE = np.array([0.5 * 640 / 480, -0.5])  # a 640x480 image, y up


@dataclass(frozen=True)
class SyntheticSequence:
    """A sampled synthetic movement.

    Attributes:
        world: (T, 13, 3) metres, y up, the body faces +z with its left at +x.
        image: (T, 13, 2) image-plane joints, image heights, y up (640x480 frame).
        visibility: (T, 13) all 1.
        t_s: (T,) seconds.
    """

    world: npt.NDArray[np.float32]
    image: npt.NDArray[np.float32]
    visibility: npt.NDArray[np.float32]
    t_s: npt.NDArray[np.float64]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(world, image, visibility, t_s), the argument order of `make_window`."""
        return self.world, self.image, self.visibility, self.t_s


def _limb_direction(side: float, abduction: np.ndarray, flexion: np.ndarray) -> np.ndarray:
    """(T,) radians -> (T, 3) unit vectors: hanging down, raised sideways by `abduction`
    (towards `side` * x) and forwards by `flexion` (towards +z)."""
    return np.stack(
        [
            side * np.sin(abduction),
            -np.cos(abduction) * np.cos(flexion),
            np.cos(abduction) * np.sin(flexion),
        ],
        axis=-1,
    )


def synthetic_world(t_s: np.ndarray, motion: str = "wave") -> npt.NDArray[np.float64]:
    """(T,) seconds -> (T, 13, 3) world joints of an analytic movement (smooth in time).

    motion: "still" (a slight sway), "wave" (arms waving, torso swaying, knees bending)
    or "walk" (walking along +z at 1.2 m/s from z = -2 m, arms and legs swinging in
    antiphase; its image is valid for the first 5 s).
    """
    if motion not in MOTIONS:
        raise ValueError(f"`motion` must be one of {MOTIONS}, got {motion!r}")
    t = np.asarray(t_s, dtype=np.float64)
    zero = np.zeros_like(t)
    w = 2 * np.pi
    if motion == "still":
        amp, walk = 0.0, 0.0
        sway = 0.02 * np.sin(w * 0.3 * t)
    elif motion == "wave":
        amp, walk = 1.0, 0.0
        sway = 0.06 * np.sin(w * 0.5 * t)
    else:
        amp, walk = 0.0, 1.0
        sway = 0.02 * np.sin(w * 1.0 * t)
    phase = w * 0.9 * t
    forward = walk * (1.2 * t - 2.0)  # walking along +z at 1.2 m/s from z = -2 m
    root = np.stack([sway, _HIP_HEIGHT + 0.02 * walk * np.cos(2 * phase), forward], -1)
    lean = 0.05 + 0.1 * amp * np.sin(w * 0.4 * t)  # torso pitch forward, radians
    torso_dir = np.stack([0.3 * sway, np.cos(lean), np.sin(lean)], -1)
    mid_shoulder = root + _TORSO * torso_dir
    x = np.array([1.0, 0.0, 0.0])
    joints = np.zeros((t.size, sk.N_JOINTS, 3))
    joints[:, sk.L_HIP] = root + _HIP_HALF * x
    joints[:, sk.R_HIP] = root - _HIP_HALF * x
    joints[:, sk.L_SHOULDER] = mid_shoulder + _SHOULDER_HALF * x
    joints[:, sk.R_SHOULDER] = mid_shoulder - _SHOULDER_HALF * x
    joints[:, sk.NOSE] = mid_shoulder + _NOSE + np.stack([zero, zero, 0.03 * np.sin(phase)], -1)
    for side, shoulder, elbow, wrist, sign in (
        (1.0, sk.L_SHOULDER, sk.L_ELBOW, sk.L_WRIST, 1.0),
        (-1.0, sk.R_SHOULDER, sk.R_ELBOW, sk.R_WRIST, -1.0),
    ):
        abduction = 0.15 + amp * (0.9 + 0.6 * np.sin(phase + 0.5 * (1 - sign)))
        flexion = 0.1 + 0.5 * walk * sign * np.sin(phase) + 0.3 * amp * np.cos(phase)
        bend = 0.3 + 0.6 * amp * (1 + np.sin(2 * phase)) + 0.2 * walk
        upper = _limb_direction(side, abduction, flexion)
        fore = _limb_direction(side, abduction, flexion + bend)
        joints[:, elbow] = joints[:, shoulder] + _UPPER_ARM * upper
        joints[:, wrist] = joints[:, elbow] + _FOREARM * fore
    for side, hip, knee, ankle, sign in (
        (1.0, sk.L_HIP, sk.L_KNEE, sk.L_ANKLE, -1.0),
        (-1.0, sk.R_HIP, sk.R_KNEE, sk.R_ANKLE, 1.0),
    ):
        flexion = 0.45 * walk * sign * np.sin(phase) + 0.15 * amp * (1 + np.sin(phase))
        bend = 0.25 * walk * (1 + np.sin(phase + sign)) + 0.3 * amp * (1 + np.sin(phase))
        abduction = 0.04 + zero
        joints[:, knee] = joints[:, hip] + _THIGH * _limb_direction(side, abduction, flexion)
        joints[:, ankle] = joints[:, knee] + _SHIN * _limb_direction(
            side, abduction, flexion - bend
        )
    return joints


def synthetic_image(world: np.ndarray) -> npt.NDArray[np.float64]:
    """(..., 3) world points -> (..., 2) image heights (y up) seen by a fixed front camera."""
    depth = _CAMERA_Z - world[..., 2]
    xy = np.stack([world[..., 0], world[..., 1] - _CAMERA_Y], -1)
    return _IMAGE_CENTRE + _FOCAL * xy / depth[..., None]


def make_sequence(
    n_frames: int,
    fps: float,
    motion: str = "wave",
    *,
    t0: float = 0.0,
    jitter_s: float = 0.0,
    seed: int = 0,
) -> SyntheticSequence:
    """`n_frames` samples of `synthetic_world` at `fps`, starting at `t0` seconds.

    `jitter_s` adds a uniform timing jitter of up to that many seconds to every frame but
    the first and the last (the timestamps still increase, the span stays exact), as a
    webcam delivers frames.
    """
    t = t0 + np.arange(n_frames) / fps
    if jitter_s:
        if not jitter_s < 0.5 / fps:
            raise ValueError(f"`jitter_s` must be < half a frame, got {jitter_s}")
        t[1:-1] += np.random.default_rng(seed).uniform(-jitter_s, jitter_s, n_frames - 2)
    world = synthetic_world(t, motion)
    return SyntheticSequence(
        world=world.astype(np.float32),
        image=synthetic_image(world).astype(np.float32),
        visibility=np.ones((n_frames, sk.N_JOINTS), np.float32),
        t_s=t,
    )


@pytest.fixture
def synthetic_sequence() -> Callable[..., SyntheticSequence]:
    """Factory: `synthetic_sequence(T, fps, motion="wave", t0=0, jitter_s=0, seed=0)`.

    Returns a `SyntheticSequence` with (T, 13, 3) world keypoints (metres), (T, 13, 2)
    image keypoints (image heights, y up), (T, 13) visibility and (T,) t_s (seconds).
    """
    return make_sequence


@pytest.fixture
def bandai_dir() -> Path:
    """The Bandai-Namco BVH folder in ../shared; skips when it is absent."""
    if not BANDAI_DIR.is_dir():
        pytest.skip(f"shared data not found at {BANDAI_DIR} (a checkout beside ../shared)")
    return BANDAI_DIR
