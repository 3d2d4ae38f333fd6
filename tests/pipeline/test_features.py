"""Tests for pipeline/features.py: reference implementations, invariances, NaN handling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline import features
from pipeline import skeleton as sk
from pipeline.features import (
    DEFAULT_FEATURE_SET,
    FEATURE_SETS,
    FEATURE_VERSIONS,
    feature_count,
    vectorize,
)
from pipeline.window import Window, WindowSpec, make_window

SPEC = WindowSpec(window_s=1.5, n_frames=20)

# --- loop-based reference implementations ---------------------------------------------
# Written from the definitions in pipeline/features.py's docstring, one frame and one
# joint at a time. Change them together with FEATURE_VERSIONS.

# The standard body: (parent, child, length in torso lengths), walked from the mid-hip.
STANDARD_BODY = (
    ("mid_hip", "l_hip", 0.16),
    ("mid_hip", "r_hip", 0.16),
    ("l_hip", "l_knee", 0.98),
    ("l_knee", "l_ankle", 1.02),
    ("r_hip", "r_knee", 0.98),
    ("r_knee", "r_ankle", 1.02),
    ("mid_hip", "mid_shoulder", 1.0),
    ("mid_shoulder", "l_shoulder", 0.26),
    ("mid_shoulder", "r_shoulder", 0.26),
    ("l_shoulder", "l_elbow", 0.61),
    ("l_elbow", "l_wrist", 0.56),
    ("r_shoulder", "r_elbow", 0.61),
    ("r_elbow", "r_wrist", 0.56),
    ("mid_shoulder", "nose", 0.48),
)
BONE_INDEX = {child: b for b, (_, child, _) in enumerate(STANDARD_BODY)}
# Joint angles: (bone, sign), (bone, sign) named by the bone's child point.
ANGLES = (
    (("l_elbow", 1), ("l_wrist", 1)),  # left elbow
    (("r_elbow", 1), ("r_wrist", 1)),  # right elbow
    (("l_knee", 1), ("l_ankle", 1)),  # left knee
    (("r_knee", 1), ("r_ankle", 1)),  # right knee
    (("mid_shoulder", -1), ("l_elbow", 1)),  # left shoulder (downward trunk vs upper arm)
    (("mid_shoulder", -1), ("r_elbow", 1)),
    (("mid_shoulder", -1), ("l_knee", 1)),  # left hip
    (("mid_shoulder", -1), ("r_knee", 1)),
    (("mid_shoulder", 1), ("nose", 1)),  # head on trunk
)
MOVING = [n for n in sk.JOINTS if n not in ("l_hip", "r_hip")]
PATHS = ("l_wrist", "r_wrist", "l_ankle", "r_ankle", "nose")
SEED_JOINTS = ("nose", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist")
BODY_ORDER = list(sk.JOINTS) + ["mid_hip", "mid_shoulder"]


def _named_points(frame: np.ndarray) -> dict[str, np.ndarray]:
    """One frame (J, D) -> {name: point} including mid-hip and mid-shoulder."""
    p = {name: frame[j].astype(np.float64) for j, name in enumerate(sk.JOINTS)}
    p["mid_hip"] = 0.5 * (p["l_hip"] + p["r_hip"])
    p["mid_shoulder"] = 0.5 * (p["l_shoulder"] + p["r_shoulder"])
    return p


def ref_retarget(points: np.ndarray, eps: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Loop version of `features.retarget`: (T, B, D) unit bones, (T, J + 2, D) body."""
    n_frames, _, dims = points.shape
    units = np.zeros((n_frames, len(STANDARD_BODY), dims))
    body = np.zeros((n_frames, sk.N_JOINTS + 2, dims))
    for t in range(n_frames):
        p = _named_points(points[t])
        placed = {"mid_hip": np.zeros(dims)}
        for b, (parent, child, length) in enumerate(STANDARD_BODY):  # parents come first
            v = p[child] - p[parent]
            u = v / math.sqrt(float(v @ v) + eps * eps)
            units[t, b] = u
            placed[child] = placed[parent] + length * u
        for k, name in enumerate(BODY_ORDER):
            body[t, k] = placed[name]
    return units, body


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    cos = float(a @ b) / max(math.sqrt(float(a @ a) * float(b @ b)), 1e-6)
    return math.acos(min(1.0, max(-1.0, cos)))


def _stats(columns: list[list[float]]) -> list[float]:
    """Per column (over time): mean, then std, min, max, each as a block."""
    out: list[float] = []
    for fn in (np.mean, np.std, min, max):
        out += [float(fn(c)) for c in columns]
    return out


def ref_kinematic(points: np.ndarray, t_s: np.ndarray, eps: float) -> dict[str, list[float]]:
    """Loop version of the proportion-free features, as named blocks in vector order."""
    units, body = ref_retarget(points, eps)
    n_frames, n_bones, dims = units.shape
    at = {name: k for k, name in enumerate(BODY_ORDER)}
    dt = [max(float(t_s[i + 1] - t_s[i]), 1e-3) for i in range(n_frames - 1)]
    directions = [
        [units[t, b, d] for t in range(n_frames)] for b in range(n_bones) for d in range(dims)
    ]
    angles = []
    for (b1, s1), (b2, s2) in ANGLES:
        angles.append(
            [
                _angle(s1 * units[t, BONE_INDEX[b1]], s2 * units[t, BONE_INDEX[b2]])
                for t in range(n_frames)
            ]
        )
    vertical = np.eye(dims)[1]
    angles.append([_angle(units[t, BONE_INDEX["mid_shoulder"]], vertical) for t in range(n_frames)])
    speed = []
    for name in MOVING:
        k = at[name]
        vel = [(body[t + 1, k] - body[t, k]) / dt[t] for t in range(n_frames - 1)]
        speed.append([float(np.linalg.norm(v)) for v in vel])
    fs = (n_frames - 1) / max(float(t_s[-1] - t_s[0]), 1e-3)
    centroid = []
    for name in PATHS:
        x = body[:, at[name]] - body[:, at[name]].mean(axis=0)
        power, freqs = [], []
        for f in range(1, n_frames // 2 + 1):  # the DFT by its definition, without DC
            re = sum(x[t] * math.cos(2 * math.pi * f * t / n_frames) for t in range(n_frames))
            im = sum(x[t] * math.sin(2 * math.pi * f * t / n_frames) for t in range(n_frames))
            power.append(float(re @ re + im @ im))
            freqs.append(f * fs / n_frames)
        total = sum(power) + 1e-9
        centroid.append(sum(f * p for f, p in zip(freqs, power, strict=True)) / total)
    return {
        "direction_mean": [float(np.mean(c)) for c in directions],
        "angle_stats": _stats(angles),
        "speed_mean": [float(np.mean(c)) for c in speed],
        "freq_centroid": centroid,
    }


def flat(blocks: dict[str, list[float]]) -> np.ndarray:
    return np.concatenate([np.asarray(v, np.float64) for v in blocks.values()])


def layout(dims: int) -> dict[str, slice]:
    """Where each named block of the kinematic features sits in the vector."""
    blocks = ref_kinematic(np.random.default_rng(0).normal(size=(6, sk.N_JOINTS, dims)),
                           np.arange(6) / 5.0, 1e-6)  # fmt: skip
    out, start = {}, 0
    for name, values in blocks.items():
        out[name] = slice(start, start + len(values))
        start += len(values)
    return out


def ref_seed(window: Window) -> np.ndarray:
    """The study's vector: per frame, the distance of every pair of upper-body joints."""
    idx = [sk.JOINTS.index(n) for n in SEED_JOINTS]
    out = []
    for t in range(window.world.shape[0]):
        for a in range(len(idx)):
            for b in range(a + 1, len(idx)):
                p, q = window.world[t, idx[a]], window.world[t, idx[b]]
                out.append(math.sqrt(sum((float(p[k]) - float(q[k])) ** 2 for k in range(3))))
    return np.array(out)


def ref_image(window: Window) -> np.ndarray:
    """Loop version of the "image" set: kinematic features in torso lengths + foreshortening."""
    n_frames = window.image.shape[0]
    lengths = np.zeros((n_frames, len(STANDARD_BODY)))
    for t in range(n_frames):
        p = _named_points(window.image[t])
        for b, (parent, child, _) in enumerate(STANDARD_BODY):
            lengths[t, b] = float(np.linalg.norm(p[child] - p[parent]))
    torso_column = sorted(lengths[:, BONE_INDEX["mid_shoulder"]])
    pos = 0.9 * (n_frames - 1)  # the 0.9 quantile, linear interpolation
    lo = int(math.floor(pos))
    hi = min(lo + 1, n_frames - 1)
    torso = torso_column[lo] + (pos - lo) * (torso_column[hi] - torso_column[lo]) + 1e-6
    kinematic = flat(ref_kinematic(window.image / torso, window.t_s, eps=0.07))
    standard = np.array([length for _, _, length in STANDARD_BODY])
    ratio = lengths / (torso * standard)
    return np.concatenate([kinematic, ratio.mean(0)])


# --- helpers ----------------------------------------------------------------------------


def window_of(seq, spec: WindowSpec = SPEC, t_end: float | None = None) -> Window:
    w = make_window(*seq.arrays(), spec, t_end=t_end)
    assert w is not None
    return w


def rebuild_scaled(world: np.ndarray, scale: dict[str, float]) -> np.ndarray:
    """Rebuild (T, J, 3) joints along the standard body's tree with bone `child` scaled by
    `scale[child]`; the hip and shoulder halves share one factor so their midpoints stay."""
    out = np.zeros_like(world, dtype=np.float64)
    for t in range(world.shape[0]):
        p = _named_points(world[t])
        new = {"mid_hip": p["mid_hip"]}
        for parent, child, _ in STANDARD_BODY:
            new[child] = new[parent] + scale.get(child, 1.0) * (p[child] - p[parent])
        for j, name in enumerate(sk.JOINTS):
            out[t, j] = new[name]
    return out.astype(np.float32)


BONE_SCALES = {
    "l_hip": 1.3, "r_hip": 1.3, "l_knee": 0.8, "l_ankle": 1.15, "r_knee": 1.25, "r_ankle": 0.9,
    "mid_shoulder": 0.85, "l_shoulder": 1.2, "r_shoulder": 1.2, "l_elbow": 0.7, "l_wrist": 1.4,
    "r_elbow": 1.1, "r_wrist": 0.75, "nose": 1.3,
}  # fmt: skip


# --- tests ------------------------------------------------------------------------------


def test_every_feature_set_has_a_version_and_a_fixed_length() -> None:
    assert set(FEATURE_SETS) == set(FEATURE_VERSIONS) and DEFAULT_FEATURE_SET in FEATURE_SETS
    assert all(isinstance(v, int) and v >= 1 for v in FEATURE_VERSIONS.values())
    for name in FEATURE_SETS:  # a model records the length: it must not depend on the movement
        assert feature_count(name, 10) == feature_count(name, 10) > 0


def test_effort_extends_motion_with_action_independent_qualities(synthetic_sequence) -> None:
    """effort = the motion vector, then 25 effort values; a faster wave has more energy."""
    slow = window_of(synthetic_sequence(60, 30, "wave"))
    fast = Window(slow.world, slow.image, slow.t_s / 2, slow.coverage)  # same path, twice as fast
    motion, effort = vectorize(slow, "motion"), vectorize(slow, "effort")
    np.testing.assert_array_equal(effort[: motion.size], motion)
    assert effort.size == motion.size + 25
    from pipeline.features import feature_blocks

    e_slow, e_fast = (
        feature_blocks(slow, "effort")["energy"],
        feature_blocks(fast, "effort")["energy"],
    )
    assert e_fast[0] == pytest.approx(e_slow[0] + np.log(4), abs=0.05)  # speed^2: x4
    # dimensionless qualities do not change with tempo alone
    np.testing.assert_allclose(e_fast[2:4], e_slow[2:4], atol=1e-3)


@pytest.mark.parametrize("motion", ["still", "wave", "walk"])
def test_seed_matches_loop_reference(synthetic_sequence, motion: str) -> None:
    w = window_of(synthetic_sequence(60, 30, motion))
    vec = vectorize(w, "seed")
    assert vec.shape == (SPEC.n_frames * 21,)
    np.testing.assert_allclose(vec, ref_seed(w), rtol=1e-5, atol=1e-6)


def test_seed_is_the_study_vector_in_metres(synthetic_sequence) -> None:
    w = window_of(synthetic_sequence(60, 30, "still"))
    vec = vectorize(w, "seed").reshape(SPEC.n_frames, 21)
    # pair (l_shoulder, r_shoulder) is the 7th: nose pairs come first (6 of them)
    np.testing.assert_allclose(vec[:, 6], 0.36, atol=1e-5)  # 2 x 0.18 m shoulder half-width


@pytest.mark.parametrize("motion", ["wave", "walk"])
def test_retarget_matches_loop_reference(synthetic_sequence, motion: str) -> None:
    w = window_of(synthetic_sequence(60, 30, motion))
    units, body = features.retarget(w.world)
    ref_units, ref_body = ref_retarget(w.world)
    np.testing.assert_allclose(units, ref_units, atol=1e-5)
    np.testing.assert_allclose(body, ref_body, atol=1e-5)
    # every bone at its standard length (torso = 1), pointing where the input's bone points
    at = {name: k for k, name in enumerate(BODY_ORDER)}
    np.testing.assert_allclose(body[:, at["mid_hip"]], 0.0, atol=1e-7)
    for parent, child, length in STANDARD_BODY:
        bone = body[:, at[child]] - body[:, at[parent]]
        np.testing.assert_allclose(np.linalg.norm(bone, axis=-1), length, rtol=1e-5)
        named = [_named_points(f) for f in w.world]
        original = np.array([p[child] - p[parent] for p in named])
        cos = (bone * original).sum(-1) / np.linalg.norm(original, axis=-1) / length
        np.testing.assert_allclose(cos, 1.0, atol=1e-5)


@pytest.mark.parametrize("motion", ["still", "wave", "walk"])
def test_motion_matches_loop_reference(synthetic_sequence, motion: str) -> None:
    w = window_of(synthetic_sequence(60, 30, motion))
    vec = vectorize(w, "motion")
    ref = ref_kinematic(w.world, w.t_s, eps=1e-6)
    assert vec.shape == flat(ref).shape
    for name, where in layout(3).items():
        if name == "freq_dominant" and motion == "still":
            continue  # paths barely move: the spectrum's argmax is a tie of round-off
        np.testing.assert_allclose(
            vec[where], ref[name], rtol=2e-4, atol=2e-4, err_msg=f"block {name!r}"
        )


@pytest.mark.parametrize("feature_set", ["motion", "image"])
def test_feature_blocks_are_the_reference_blocks(synthetic_sequence, feature_set: str) -> None:
    w = window_of(synthetic_sequence(60, 30, "walk"))
    blocks = features.feature_blocks(w, feature_set)
    if feature_set == "motion":
        ref = ref_kinematic(w.world, w.t_s, eps=1e-6)
    else:
        ref = {name: None for name in ref_kinematic(w.image, w.t_s, eps=0.07)}
        ref |= {"foreshortening_mean": None}
    assert list(blocks) == list(ref)  # the same blocks in the same order
    joined = np.concatenate(list(blocks.values())).astype(np.float32)
    np.testing.assert_array_equal(joined, vectorize(w, feature_set))
    if feature_set == "motion":
        for name, values in blocks.items():
            np.testing.assert_allclose(values, ref[name], rtol=2e-4, atol=2e-4, err_msg=name)


@pytest.mark.parametrize("motion", ["wave", "walk"])
def test_image_matches_loop_reference(synthetic_sequence, motion: str) -> None:
    w = window_of(synthetic_sequence(60, 30, motion))
    # atol: float32 arccos of nearly straight 2D knees is good to ~3e-4 rad, over dt = 0.08 s
    np.testing.assert_allclose(vectorize(w, "image"), ref_image(w), rtol=2e-4, atol=1e-3)


def test_joint_angles_and_speeds_of_a_known_movement() -> None:
    """An elbow bending at a constant 1 rad/s: its angle and angular speed are known."""
    n = SPEC.n_frames
    t = np.linspace(0.0, 1.5, n)
    frame = np.zeros((sk.N_JOINTS, 3))
    named = {
        "l_hip": (0.1, 0, 0), "r_hip": (-0.1, 0, 0), "l_shoulder": (0.2, 0.5, 0),
        "r_shoulder": (-0.2, 0.5, 0), "nose": (0, 0.75, 0.05), "r_elbow": (-0.25, 0.2, 0),
        "r_wrist": (-0.25, -0.05, 0), "l_knee": (0.1, -0.45, 0), "r_knee": (-0.1, -0.45, 0),
        "l_ankle": (0.1, -0.9, 0), "r_ankle": (-0.1, -0.9, 0),
    }  # fmt: skip
    for name, xyz in named.items():
        frame[sk.JOINTS.index(name)] = xyz
    world = np.repeat(frame[None], n, axis=0)
    world[:, sk.L_ELBOW] = (0.2, 0.2, 0.0)  # upper arm hangs down
    bend = 0.2 + 1.0 * t  # radians, forearm swings forward
    world[:, sk.L_WRIST] = world[:, sk.L_ELBOW] + 0.25 * np.stack(
        [0 * t, -np.cos(bend), np.sin(bend)], -1
    )
    w = Window(world.astype(np.float32), world[..., :2].astype(np.float32), t, 1.0)
    vec = vectorize(w, "motion")
    at = layout(3)
    angles = vec[at["angle_stats"]].reshape(4, 10)  # mean, std, min, max of 10 angles
    np.testing.assert_allclose(angles[:, 0], [0.95, np.std(bend), 0.2, 1.7], atol=1e-4)
    # the left wrist moves on a circle of 0.56 standard lengths at 1 rad/s; nothing else moves
    speed = vec[at["speed_mean"]]
    np.testing.assert_allclose(speed[MOVING.index("l_wrist")], 0.56, rtol=1e-3)
    others = [k for k, name in enumerate(MOVING) if name != "l_wrist"]
    np.testing.assert_allclose(speed[others], 0.0, atol=1e-5)


@pytest.mark.parametrize("feature_set", sorted(FEATURE_SETS))
def test_vector_is_1d_float32_of_fixed_length(synthetic_sequence, feature_set: str) -> None:
    lengths = set()
    for motion, t_end in (("still", 2.0), ("wave", 1.6), ("wave", 3.1), ("walk", 2.5)):
        vec = vectorize(window_of(synthetic_sequence(100, 30, motion), t_end=t_end), feature_set)
        assert vec.dtype == np.float32 and vec.ndim == 1
        assert np.isfinite(vec).all()
        lengths.add(vec.size)
    assert len(lengths) == 1


def test_motion_image_is_motion_then_image(synthetic_sequence) -> None:
    w = window_of(synthetic_sequence(60, 30, "wave"))
    both = vectorize(w, "motion+image")
    np.testing.assert_array_equal(
        both, np.concatenate([vectorize(w, "motion"), vectorize(w, "image")])
    )


def test_default_feature_set_is_used(synthetic_sequence) -> None:
    w = window_of(synthetic_sequence(60, 30, "wave"))
    np.testing.assert_array_equal(vectorize(w), vectorize(w, DEFAULT_FEATURE_SET))


def test_unknown_feature_set_lists_the_valid_ones(synthetic_sequence) -> None:
    w = window_of(synthetic_sequence(60, 30, "wave"))
    with pytest.raises(
        ValueError, match=r"`feature_set` must be one of .*'motion\+image'.*'seed'.*got 'pose'"
    ):
        vectorize(w, "pose")


# --- invariances -------------------------------------------------------------------------


def _motion_of(world, seq) -> np.ndarray:
    w = make_window(world, seq.image, seq.visibility, seq.t_s, SPEC)
    assert w is not None
    return vectorize(w, "motion")


@pytest.mark.parametrize("motion", ["wave", "walk"])
def test_motion_ignores_bone_lengths(synthetic_sequence, motion: str) -> None:
    seq = synthetic_sequence(60, 30, motion)
    scaled = rebuild_scaled(seq.world, BONE_SCALES)
    lengths = lambda x, a, b: np.linalg.norm(x[:, a] - x[:, b], axis=-1)  # noqa: E731
    assert not np.allclose(
        lengths(scaled, sk.L_ELBOW, sk.L_WRIST), lengths(seq.world, sk.L_ELBOW, sk.L_WRIST)
    )
    np.testing.assert_allclose(
        _motion_of(scaled, seq), _motion_of(seq.world, seq), rtol=1e-4, atol=1e-4
    )
    # the study's seed vector is in metres, so it does change
    w0 = make_window(*seq.arrays(), SPEC)
    w1 = make_window(scaled, seq.image, seq.visibility, seq.t_s, SPEC)
    assert np.abs(vectorize(w0, "seed") - vectorize(w1, "seed")).max() > 0.05


@pytest.mark.parametrize("yaw_deg", [30.0, -90.0, 180.0])
@pytest.mark.parametrize("motion", ["wave", "walk"])
def test_motion_ignores_position_and_facing(
    synthetic_sequence, motion: str, yaw_deg: float
) -> None:
    seq = synthetic_sequence(60, 30, motion)
    moved = sk.rotate_about_y(seq.world, np.deg2rad(yaw_deg)) + np.array(
        [2.5, 0.1, -4.0], np.float32
    )
    np.testing.assert_allclose(
        _motion_of(moved, seq), _motion_of(seq.world, seq), rtol=1e-4, atol=1e-4
    )


def test_motion_depends_on_the_movement(synthetic_sequence) -> None:
    """The invariance tests above would pass for a constant vector; this one would not."""
    a = vectorize(window_of(synthetic_sequence(60, 30, "wave")))
    b = vectorize(window_of(synthetic_sequence(60, 30, "walk")))
    c = vectorize(window_of(synthetic_sequence(60, 30, "wave"), t_end=1.7))
    assert np.abs(a - b).max() > 0.5 and np.abs(a - c).max() > 0.1


def test_motion_speeds_scale_with_tempo(synthetic_sequence) -> None:
    """The same movement played twice as fast: speeds (torso lengths per second) double."""
    slow = synthetic_sequence(120, 30, "wave")
    fast = type(slow)(slow.world, slow.image, slow.visibility, slow.t_s / 2)  # same samples
    at = layout(3)
    v_slow = vectorize(window_of(slow, WindowSpec(window_s=1.5, n_frames=20), t_end=3.0))
    v_fast = vectorize(window_of(fast, WindowSpec(window_s=0.75, n_frames=20), t_end=1.5))
    np.testing.assert_allclose(v_fast[at["speed_mean"]], 2 * v_slow[at["speed_mean"]], rtol=1e-4)
    np.testing.assert_allclose(v_fast[at["angle_stats"]], v_slow[at["angle_stats"]], atol=1e-5)


@pytest.mark.parametrize("scale", [0.25, 0.6, 2.0])
@pytest.mark.parametrize("motion", ["wave", "walk"])
def test_image_ignores_translation_and_scale(synthetic_sequence, motion: str, scale: float) -> None:
    seq = synthetic_sequence(60, 30, motion)
    moved = scale * seq.image + np.array([0.3, -0.2], np.float32)
    w0 = make_window(*seq.arrays(), SPEC)
    w1 = make_window(seq.world, moved, seq.visibility, seq.t_s, SPEC)
    # atol: float32 round-off of near-zero 2D angles, see test_image_matches_loop_reference
    np.testing.assert_allclose(vectorize(w1, "image"), vectorize(w0, "image"), rtol=1e-4, atol=1e-3)


def test_frame_rate_gives_close_features(synthetic_sequence) -> None:
    """30 fps training data and a 60 fps camera (both jittered), same movement, same end."""
    tolerance = {  # (rtol, atol) per block
        "direction_mean": (0.02, 0.01), "angle_stats": (0.05, 0.02), "speed_mean": (0.1, 0.05),
        "freq_centroid": (0.15, 0.05),
    }  # fmt: skip
    at = layout(3)
    for motion in ("wave", "walk"):
        for t_end in (2.2, 3.1):  # streams end there (live windows end on the newest frame)
            s30 = synthetic_sequence(46, 30, motion, t0=t_end - 1.5, jitter_s=0.004, seed=1)
            s60 = synthetic_sequence(91, 60, motion, t0=t_end - 1.5, jitter_s=0.002, seed=2)
            other = "walk" if motion == "wave" else "wave"
            s_other = synthetic_sequence(46, 30, other, t0=t_end - 1.5)
            v30, v60, v_other = (vectorize(window_of(s)) for s in (s30, s60, s_other))
            different = False
            for name, (rtol, atol) in tolerance.items():
                np.testing.assert_allclose(
                    v60[at[name]], v30[at[name]], rtol=rtol, atol=atol, err_msg=name
                )
                different |= not np.allclose(v_other[at[name]], v30[at[name]], rtol=rtol, atol=atol)
            assert different  # the tolerances still tell two movements apart


# --- NaN handling -------------------------------------------------------------------------


@pytest.mark.parametrize("feature_set", sorted(FEATURE_SETS))
@pytest.mark.parametrize("array", ["world", "image"])
def test_non_finite_window_raises(synthetic_sequence, feature_set: str, array: str) -> None:
    w = window_of(synthetic_sequence(60, 30, "wave"))
    world, image = w.world.copy(), w.image.copy()
    (world if array == "world" else image)[5, sk.L_WRIST] = np.nan
    broken = Window(world, image, w.t_s, w.coverage)
    uses = {"seed": "world", "motion": "world", "image": "image", "effort": "world"}
    if feature_set in uses and uses[feature_set] != array:
        assert np.isfinite(vectorize(broken, feature_set)).all()  # that array is not used
    else:
        with pytest.raises(ValueError, match="non-finite .* make_window"):
            vectorize(broken, feature_set)


def test_missing_frames_are_filled_before_features(synthetic_sequence) -> None:
    seq = synthetic_sequence(60, 30, "wave")
    world = seq.world.copy()
    visibility = seq.visibility.copy()
    world[40:44] = np.nan  # nobody found in four frames
    visibility[40:44] = 0.0
    visibility[50:53, sk.R_WRIST] = 0.1  # one joint below the threshold
    w = make_window(world, seq.image, visibility, seq.t_s, SPEC)
    assert w is not None
    for feature_set in FEATURE_SETS:
        assert np.isfinite(vectorize(w, feature_set)).all()
