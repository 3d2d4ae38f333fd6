"""Feature vectors from movement windows: `vectorize` is the only feature function.

Training (`train.py`) and the live loop (`realtime/`) both call `vectorize(window, name)`,
so the two cannot compute features differently.

Feature sets:
- "seed": the study's vector: distances (metres) between the upper-body joints (nose,
  shoulders, elbows, wrists) in each of the T frames. Kept to reproduce the study.
- "motion": 3D, invariant to body proportions, position, facing and frame rate. The
  skeleton is first retargeted onto a standard body (each bone's unit direction times a
  standard length, torso = 1), so limb lengths (which differ 20-40% between motion
  capture and MediaPipe) cannot leak in; then mean bone directions, joint-angle
  statistics (mean, std, min, max over the window; head and trunk inclination included),
  mean joint speeds (torso lengths per second) and the frequency centroid (Hz) of the
  wrist, ankle and head paths.
- "image": the same quantities from the 2D image-plane skeleton (in 2D torso lengths),
  plus each bone's mean foreshortening (its 2D length over its standard length). PoseLandmarker's
  2D landmarks are far more accurate than its 3D world landmarks; models for this set are
  trained on mocap seen by virtual cameras at many angles.
- "motion+image": both.
- "effort" (the default): "motion" plus effort qualities that do not depend on which
  action is done: expansion (reach, wrist height, stance, body extent), crouch and
  bounce, energy and its burstiness, arm/leg and head/shoulder energy ratios, normalised
  acceleration and jerk, and the high-frequency share of the limb paths. Chosen by
  leave-one-action-family-out cross-validation (README, "Features").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

from pipeline import skeleton as sk
from pipeline.types import FloatArr
from pipeline.window import Window

# Bumped whenever a set's definition changes; models record it and loaders compare it.
# image 2: the image skeleton is measured in torso lengths (size in the frame cannot leak in).
# motion 2, image 3: only the blocks that generalise across actions (posture, mean speed,
# frequency centroid), chosen by leave-one-content-out cross-validation.
# effort 1: motion 2 plus the effort blocks (expansion, crouch, energy, hf_ratio).
# motion 3, motion+image 4, effort 2: the canonical frame turns the trunk upright
# (`skeleton.upright`), so a camera looking down no longer tilts every posture feature.
FEATURE_VERSIONS: Final[dict[str, int]] = {
    "seed": 1, "motion": 3, "image": 3, "motion+image": 4, "effort": 2,
}  # fmt: skip
DEFAULT_FEATURE_SET: Final[str] = "effort"

# --- the standard body --------------------------------------------------------------
_MID_HIP, _MID_SHOULDER = sk.N_JOINTS, sk.N_JOINTS + 1  # extra points appended to the joints
# (from, to, standard length in torso lengths), measured on the Bandai-Namco actors.
_BONES: Final = (
    (_MID_HIP, sk.L_HIP, 0.16),
    (_MID_HIP, sk.R_HIP, 0.16),
    (sk.L_HIP, sk.L_KNEE, 0.98),
    (sk.L_KNEE, sk.L_ANKLE, 1.02),
    (sk.R_HIP, sk.R_KNEE, 0.98),
    (sk.R_KNEE, sk.R_ANKLE, 1.02),
    (_MID_HIP, _MID_SHOULDER, 1.0),
    (_MID_SHOULDER, sk.L_SHOULDER, 0.26),
    (_MID_SHOULDER, sk.R_SHOULDER, 0.26),
    (sk.L_SHOULDER, sk.L_ELBOW, 0.61),
    (sk.L_ELBOW, sk.L_WRIST, 0.56),
    (sk.R_SHOULDER, sk.R_ELBOW, 0.61),
    (sk.R_ELBOW, sk.R_WRIST, 0.56),
    (_MID_SHOULDER, sk.NOSE, 0.48),
)
_FROM = np.array([b[0] for b in _BONES])
_TO = np.array([b[1] for b in _BONES])
_LENGTH = np.array([b[2] for b in _BONES], dtype=np.float32)
_TORSO_BONE = 6
_LIMB_BONES = np.array([2, 3, 4, 5, 9, 10, 11, 12])


def _ancestor_matrix() -> FloatArr:
    """(J, B): 1 where bone b lies on the path from the mid-hip to joint j."""
    a = np.zeros((sk.N_JOINTS + 2, len(_BONES)), np.float32)
    parent_bone = {to: b for b, (_, to, _) in enumerate(_BONES)}
    for j in range(a.shape[0]):
        node = j
        while node in parent_bone:
            b = parent_bone[node]
            a[j, b] = 1.0
            node = _BONES[b][0]
    return a[: sk.N_JOINTS]


_ANCESTORS: Final = _ancestor_matrix()

# Joint angles as pairs of (signed) bones: angle between s1*bone1 and s2*bone2.
_ANGLE_BONES: Final = np.array(
    [(9, 10), (11, 12), (2, 3), (4, 5), (6, 9), (6, 11), (6, 2), (6, 4), (6, 13)]
)
_YZX, _ZXY = np.array([1, 2, 0]), np.array([2, 0, 1])
_ANGLE_SIGN: Final = np.array([1, 1, 1, 1, -1, -1, -1, -1, 1], np.float32)  # bone1 sign
_MOVING_JOINTS: Final = np.array([j for j in range(sk.N_JOINTS) if j not in (sk.L_HIP, sk.R_HIP)])
_PATH_JOINTS: Final = np.array([sk.L_WRIST, sk.R_WRIST, sk.L_ANKLE, sk.R_ANKLE, sk.NOSE])
_SEED_JOINTS: Final = np.array(
    [sk.NOSE, sk.L_SHOULDER, sk.R_SHOULDER, sk.L_ELBOW, sk.R_ELBOW, sk.L_WRIST, sk.R_WRIST]
)
_SEED_PAIRS: Final = np.array(np.triu_indices(len(_SEED_JOINTS), k=1))


def _bone_matrix() -> FloatArr:
    """(B, J): bone b's vector is `_BONE_MATRIX[b] @ joints` (mid-points weigh 0.5 each)."""
    ext = np.zeros((sk.N_JOINTS + 2, sk.N_JOINTS), np.float32)
    ext[: sk.N_JOINTS] = np.eye(sk.N_JOINTS)
    ext[_MID_HIP, [sk.L_HIP, sk.R_HIP]] = 0.5
    ext[_MID_SHOULDER, [sk.L_SHOULDER, sk.R_SHOULDER]] = 0.5
    bones: FloatArr = ext[_TO] - ext[_FROM]
    return bones


_BONE_MATRIX: Final = _bone_matrix()
# (J + 2, B): standard-body points (joints, mid-hip = origin, mid-shoulder) from scaled bones
_BODY_MATRIX: Final = (
    np.concatenate(
        [
            _ANCESTORS,
            np.zeros((1, len(_BONES)), np.float32),
            np.eye(len(_BONES), dtype=np.float32)[[_TORSO_BONE]],
        ]
    )
    * _LENGTH
)


def _bones(points: FloatArr) -> FloatArr:
    """(T, J, D) -> (T, B, D) bone vectors of the standard body's tree."""
    return _BONE_MATRIX @ points


def _retarget(points: FloatArr, eps: float) -> tuple[FloatArr, FloatArr]:
    bones = _BONE_MATRIX @ points
    sq = np.add.reduce(bones * bones, axis=-1, keepdims=True)
    units = bones / np.sqrt(sq + eps * eps)  # vectors shorter than `eps` shrink towards 0
    return units, _BODY_MATRIX @ units


@functools.lru_cache(maxsize=8)
def _dft(n_frames: int) -> tuple[FloatArr, FloatArr]:
    """(T // 2, T) cosine and sine rows of the DFT for 1 .. T // 2 cycles per window.

    A matrix product is several times cheaper than np.fft for T ~ 10 (no plan, no
    wrapper); the constant (DC) term is left out.
    """
    k = np.arange(1, n_frames // 2 + 1)[:, None]
    phase = 2.0 * np.pi * k * np.arange(n_frames)[None, :] / n_frames
    return np.cos(phase).astype(np.float32), np.sin(phase).astype(np.float32)


def _cross_norm(a: FloatArr, b: FloatArr) -> FloatArr:
    """|a x b| over the last axis, for 2D or 3D vectors."""
    if a.shape[-1] == 2:
        flat: FloatArr = np.abs(a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0])
        return flat
    c = a[..., _YZX] * b[..., _ZXY] - a[..., _ZXY] * b[..., _YZX]
    norm: FloatArr = np.sqrt(np.add.reduce(c * c, axis=-1))
    return norm


def retarget(points: FloatArr, eps: float = 1e-6) -> tuple[FloatArr, FloatArr]:
    """Put a (T, J, D) skeleton onto the standard body (torso length 1, mid-hip origin).

    Returns the (T, B, D) unit bone directions and the (T, J + 2, D) standard-body points
    (the joints, then mid-hip and mid-shoulder).
    """
    return _retarget(points, eps)


def _stats(x: FloatArr) -> FloatArr:
    """(T, K) -> (4K,): mean, std, min and max over time.

    Written with ufunc reductions: `ndarray.mean/std` add microseconds of Python per call,
    which add up on the per-frame path.
    """
    n = x.shape[0]
    mean = np.add.reduce(x, axis=0) / n
    centred = x - mean
    std = np.sqrt(np.add.reduce(centred * centred, axis=0) / n)
    return np.concatenate([mean, std, np.minimum.reduce(x, axis=0), np.maximum.reduce(x, axis=0)])


def _kinematic_features(
    points: FloatArr, t_s: npt.NDArray[np.float64], eps: float
) -> dict[str, FloatArr]:
    """Proportion-free features of a (T, J, D) skeleton (D = 2 or 3), y is vertical.

    Posture (mean bone directions, joint-angle statistics) carries most of the signal that
    generalises across actions; speeds and the frequency centroid add tempo. Blocks that
    did not help leave-one-content-out accuracy (direction spread, expansion, extrema of
    speed, accelerations, the argmax frequency) were dropped (see README, "Features").
    """
    units, body = _retarget(points, eps)
    n_frames = units.shape[0]
    a = units[:, _ANGLE_BONES[:, 0]] * _ANGLE_SIGN[:, None]
    b = units[:, _ANGLE_BONES[:, 1]]
    torso = units[:, _TORSO_BONE : _TORSO_BONE + 1]
    vertical = np.zeros_like(torso)
    vertical[..., 1] = 1.0
    a = np.concatenate([a, torso], axis=1)
    b = np.concatenate([b, vertical], axis=1)
    # atan2(|a x b|, a . b): accurate for nearly straight joints, where arccos is not
    angles = np.arctan2(_cross_norm(a, b), np.add.reduce(a * b, axis=-1))
    moving = body[:, _MOVING_JOINTS]
    step = moving[1:] - moving[:-1]
    dt = np.maximum(t_s[1:] - t_s[:-1], 1e-3).astype(np.float32)[:, None]
    speed = np.sqrt(np.add.reduce(step * step, axis=-1)) / dt
    # frequency centroid (Hz) of the wrist, ankle and head paths
    path = body[:, _PATH_JOINTS].reshape(n_frames, -1)  # (T, 5 * D)
    path = path - np.add.reduce(path, axis=0) / n_frames  # exact zero DC in float32 too
    cos_k, sin_k = _dft(n_frames)
    power = ((cos_k @ path) ** 2 + (sin_k @ path) ** 2).reshape(
        -1, len(_PATH_JOINTS), path.shape[1] // len(_PATH_JOINTS)
    )
    power = np.add.reduce(power, axis=-1)  # (T // 2, 5): frequencies 1 .. T // 2 cycles
    fs = (n_frames - 1) / max(float(t_s[-1] - t_s[0]), 1e-3)
    freqs = (np.arange(1, power.shape[0] + 1, dtype=np.float32) * (fs / n_frames))[:, None]
    centroid = np.add.reduce(freqs * power, axis=0) / (np.add.reduce(power, axis=0) + 1e-9)
    return {
        "direction_mean": np.add.reduce(units.reshape(n_frames, -1), axis=0) / n_frames,
        "angle_stats": _stats(angles),
        "speed_mean": np.add.reduce(speed, axis=0) / (n_frames - 1),
        "freq_centroid": centroid,
    }


def _seed(window: Window) -> dict[str, FloatArr]:
    """The study's vector: (T, 21) upper-body joint distances in metres, flattened."""
    p = window.world[:, _SEED_JOINTS]
    return {
        "distances": np.linalg.norm(p[:, _SEED_PAIRS[0]] - p[:, _SEED_PAIRS[1]], axis=-1).ravel()
    }


def _motion(window: Window) -> dict[str, FloatArr]:
    return _kinematic_features(window.world, window.t_s, eps=1e-6)


def _image(window: Window) -> dict[str, FloatArr]:
    image = window.image
    lengths = np.linalg.norm(_bones(image), axis=-1)
    torso = np.quantile(lengths[:, _TORSO_BONE], 0.9) + 1e-6
    # In torso lengths, so the person's size in the frame cannot leak in. Side views shrink
    # the hip and shoulder axes to points: soften their unit vectors (0.07 torso lengths is
    # 0.02 image heights for a person filling the frame's height).
    blocks = _kinematic_features(image / torso, window.t_s, eps=0.07)
    foreshortening = lengths / (torso * _LENGTH)  # (T, B): 1 = seen side-on at full length
    blocks["foreshortening_mean"] = foreshortening.mean(0)
    return blocks


def _motion_image(window: Window) -> dict[str, FloatArr]:
    motion = {f"3d.{k}": v for k, v in _motion(window).items()}
    return motion | {f"2d.{k}": v for k, v in _image(window).items()}


# --- effort: how a movement is done, whatever the movement -------------------------------
_REACH = np.array([sk.L_WRIST, sk.R_WRIST, sk.L_ELBOW, sk.R_ELBOW])
_WRISTS = np.array([sk.L_WRIST, sk.R_WRIST])
_ARMS = np.array([sk.L_ELBOW, sk.R_ELBOW, sk.L_WRIST, sk.R_WRIST])
_LEGS = np.array([sk.L_KNEE, sk.R_KNEE, sk.L_ANKLE, sk.R_ANKLE])
_UPPER = np.array([sk.L_SHOULDER, sk.R_SHOULDER])
_PATH = np.array([sk.L_WRIST, sk.R_WRIST, sk.L_ANKLE, sk.R_ANKLE, sk.NOSE])
_HF_HZ = 2.5  # path power above this counts as high-frequency (jitter, tremor, bounce)


def _mean(x: FloatArr) -> FloatArr:
    out: FloatArr = np.add.reduce(x, axis=0) / x.shape[0]
    return out


def _effort(points: FloatArr, t_s: npt.NDArray[np.float64]) -> dict[str, FloatArr]:
    """Effort qualities of a (T, J, 3) canonical skeleton at `t_s` seconds, on the standard
    body (lengths in torso lengths, TL; so limb lengths cannot leak in).

    - expansion: horizontal reach of wrists and elbows from the trunk axis (mean, max),
      wrist height over the shoulders (mean, max), stance width and the body's extent
      along x, y, z (TL);
    - crouch: mid-hip height over the lower ankle, its mean and its bounce (std, TL);
    - energy: log mean squared joint speed ((TL/s)^2), its burstiness (coefficient of
      variation over time), arm-to-leg and head-to-shoulder energy ratios, normalised
      acceleration and jerk (dimensionless, logs);
    - hf_ratio: the share of the wrist, ankle and head path power above 2.5 Hz.
    """
    _, body = _retarget(points, 1e-6)
    n = body.shape[0]
    duration = max(float(t_s[-1] - t_s[0]), 1e-3)
    dt = duration / (n - 1)
    j = body[:, : sk.N_JOINTS]
    reach_xz = body[:, _REACH][..., [0, 2]]
    reach = np.sqrt(np.add.reduce(reach_xz * reach_xz, axis=-1))  # (T, 4)
    wrist_h = body[:, _WRISTS, 1] - body[:, _MID_SHOULDER, 1][:, None]  # (T, 2)
    ankles = body[:, sk.L_ANKLE] - body[:, sk.R_ANKLE]
    stance = np.sqrt(np.add.reduce(ankles * ankles, axis=-1))
    extent = np.maximum.reduce(j, axis=1) - np.minimum.reduce(j, axis=1)  # (T, 3)
    expansion = np.concatenate(
        [_mean(reach), np.maximum.reduce(reach, axis=0), _mean(wrist_h),
         np.maximum.reduce(wrist_h, axis=0), [np.add.reduce(stance) / n], _mean(extent)]
    )  # fmt: skip
    hip_h = -np.minimum(body[:, sk.L_ANKLE, 1], body[:, sk.R_ANKLE, 1])  # mid-hip is at 0
    hip_mean = np.add.reduce(hip_h) / n
    crouch = np.array([hip_mean, np.sqrt(np.add.reduce((hip_h - hip_mean) ** 2) / n)])
    v = (j[1:] - j[:-1]) / dt  # (T-1, J, 3) TL/s
    sq_speed = np.add.reduce(v * v, axis=-1)  # (T-1, J)
    e_t = np.add.reduce(sq_speed, axis=1)
    e_mean = np.add.reduce(e_t) / (n - 1)
    e_cv = np.sqrt(np.add.reduce((e_t - e_mean) ** 2) / (n - 1)) / (e_mean + 1e-6)
    e_joint = np.add.reduce(sq_speed, axis=0)  # (J,)
    arms, legs = np.add.reduce(e_joint[_ARMS]), np.add.reduce(e_joint[_LEGS])
    head, shoulders = e_joint[sk.NOSE], np.add.reduce(e_joint[_UPPER]) * 0.5
    a = (v[1:] - v[:-1]) / dt
    jerk = (a[1:] - a[:-1]) / dt
    v_mean = np.add.reduce(np.sqrt(sq_speed).ravel()) / sq_speed.size
    a_mean = np.add.reduce(np.sqrt(np.add.reduce(a * a, axis=-1)).ravel()) / a[..., 0].size
    j_mean = np.add.reduce(np.sqrt(np.add.reduce(jerk * jerk, axis=-1)).ravel()) / jerk[..., 0].size
    energy = np.log(
        np.array([
            e_mean + 1e-3, e_cv + 1e-3, (arms + 1e-3) / (legs + 1e-3),
            (head + 1e-3) / (shoulders + 1e-3), (a_mean * duration + 1e-3) / (v_mean + 1e-3),
            (j_mean * duration * duration + 1e-3) / (v_mean + 1e-3),
        ])
    )  # fmt: skip
    path = body[:, _PATH].reshape(n, -1)
    path = path - np.add.reduce(path, axis=0) / n
    cos_k, sin_k = _dft(n)
    power = np.add.reduce((cos_k @ path) ** 2 + (sin_k @ path) ** 2, axis=1)  # (T // 2,)
    freqs = np.arange(1, power.shape[0] + 1) / duration * (n - 1) / n
    hf = np.add.reduce(power[freqs > _HF_HZ]) / (np.add.reduce(power) + 1e-9)
    return {
        "expansion": expansion.astype(np.float32),
        "crouch": crouch.astype(np.float32),
        "energy": energy.astype(np.float32),
        "hf_ratio": np.array([hf], np.float32),
    }


def _motion_effort(window: Window) -> dict[str, FloatArr]:
    """The `motion` blocks, then the effort blocks."""
    return _motion(window) | _effort(window.world, window.t_s)


FEATURE_SETS: Final[dict[str, Callable[[Window], dict[str, FloatArr]]]] = {
    "seed": _seed,
    "motion": _motion,
    "image": _image,
    "motion+image": _motion_image,
    "effort": _motion_effort,
}


def feature_blocks(window: Window, feature_set: str = DEFAULT_FEATURE_SET) -> dict[str, FloatArr]:
    """The named blocks that `vectorize` concatenates, in order (for reports and analysis)."""
    try:
        fn = FEATURE_SETS[feature_set]
    except KeyError:
        raise ValueError(
            f"`feature_set` must be one of {sorted(FEATURE_SETS)}, got {feature_set!r}"
        ) from None
    return fn(window)


def vectorize(window: Window, feature_set: str = DEFAULT_FEATURE_SET) -> FloatArr:
    """The 1-D float32 feature vector of one window.

    Raises:
        ValueError: unknown `feature_set` (the message lists the valid ones), or the
            window holds non-finite values (make windows with `make_window`).
    """
    vector = np.concatenate(list(feature_blocks(window, feature_set).values())).astype(
        np.float32, copy=False
    )
    if not np.isfinite(vector).all():
        raise ValueError(
            f"window gives non-finite {feature_set!r} features; build windows with make_window"
        )
    return vector


def feature_count(feature_set: str, n_frames: int) -> int:
    """Length of `vectorize`'s vector for windows of `n_frames` frames (model files record
    it; a mismatch means the model was made by other feature code)."""
    return int(vectorize(_standing_window(n_frames), feature_set).shape[0])


def _standing_window(n_frames: int) -> Window:
    """The standard body standing still, facing +z (a valid window of any length)."""
    down, up, left = (0.0, -1.0, 0.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0)
    right = (-1.0, 0.0, 0.0)
    units = np.array(
        [
            left,
            right,
            down,
            down,
            down,
            down,
            up,
            left,
            right,
            down,
            down,
            down,
            down,
            (0.0, 0.8, 0.6),
        ],
        np.float32,
    )
    joints = _ANCESTORS @ (units * _LENGTH[:, None])
    world = np.repeat(joints[None], n_frames, axis=0)
    return Window(world, world[..., :2].copy(), np.linspace(0.0, 1.0, n_frames), 1.0)
