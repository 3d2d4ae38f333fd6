"""The mannequin's body model: its look, its primitives, and the body frames they hang on.

The figure is built from analytic primitives placed on the BVH joints every frame
(`offline.render.scene.build_scene`): tapered capsules ("round cones": neck, shoulders,
arms, legs, shoes), two flattened ones (torso, hips) and ellipsoids (head, jaw, nose,
ears, hands), sized for the Bandai-Namco skeleton and scaled by leg length for others
(`body_scale`). Which joint is which body part: `offline.mocap.body.BodyMap`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from offline.mocap.body import BANDAI, BodyMap
from offline.mocap.bvh import Motion
from pipeline.validate import check_fraction, check_positive

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Look:
    """Colours (RGB 0-255) and lighting of the scene.

    Attributes:
        skin, hair, shirt, trousers, shoes, lips, eye_white, iris, brows: materials.
        wall, floor: background colours.
        wall_gap_m: the wall stands this far behind the subject's hips, metres.
        ambient, diffuse, specular, shininess: shading terms (fractions of the colour,
            specular as a fraction of white, Phong exponent).
        light_dir: direction towards the key light in camera axes (x right, y up, z forward).
        shadow: darkening of the floor under the feet and hips, [0, 1].
    """

    skin: tuple[int, int, int] = (214, 160, 126)
    hair: tuple[int, int, int] = (48, 34, 26)
    shirt: tuple[int, int, int] = (52, 98, 168)
    trousers: tuple[int, int, int] = (58, 58, 66)
    shoes: tuple[int, int, int] = (36, 30, 28)
    lips: tuple[int, int, int] = (160, 82, 78)
    eye_white: tuple[int, int, int] = (236, 234, 228)
    iris: tuple[int, int, int] = (54, 38, 30)
    brows: tuple[int, int, int] = (50, 36, 28)
    wall: tuple[int, int, int] = (204, 200, 190)
    floor: tuple[int, int, int] = (150, 128, 104)
    wall_gap_m: float = 3.0
    ambient: float = 0.38
    diffuse: float = 0.72
    specular: float = 0.12
    shininess: float = 24.0
    light_dir: tuple[float, float, float] = (-0.45, 0.55, -0.70)
    shadow: float = 0.35

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type in ("tuple[int, int, int]",) and not (
                len(v) == 3 and all(0 <= int(c) <= 255 for c in v)
            ):
                raise ValueError(f"`{f.name}` must be an RGB triple in 0..255, got {v}")
        check_positive("wall_gap_m", self.wall_gap_m, "metres")
        check_fraction("shadow", self.shadow)


# Materials. The painted ones are drawn in a body frame's axes (`Scene.frames`): FACE (eyes,
# brows, mouth, hair) in the head's, TOP (a shirt with a V neckline) in the chest's, BOTTOM
# (trousers with back pockets) in the pelvis's; they tell front from back.
SKIN, SHIRT, TROUSERS, SHOES, FACE, TOP, BOTTOM = range(7)
PAINT_FRAME: Final[dict[int, str]] = {FACE: "head", TOP: "chest", BOTTOM: "pelvis"}


@dataclass(frozen=True, slots=True)
class Part:
    """One primitive of the figure, per frame, in camera axes (metres).

    A round cone (`kind` "cone") is the convex hull of a sphere of radius `ra` at `a`
    and one of radius `rb` at `b`; a flat cone (`kind` "flatcone") is one squashed to
    `squash` times its thickness along its forward axis `axes[..., 2]` (a torso). An
    ellipsoid (`kind` "ellipsoid") has centre `a`, unit axes `axes[..., k]` (columns
    lateral, up, forward of (F, 3, 3)) and semi-axes `radii` (lateral, up, forward).
    """

    name: str
    kind: str
    material: int
    a: F64
    b: F64 | None = None
    ra: float = 0.0
    rb: float = 0.0
    axes: F64 | None = None
    radii: tuple[float, float, float] = (0.0, 0.0, 0.0)
    squash: float = 1.0


def _unit(v: F64) -> F64:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    unit: F64 = v / np.maximum(n, 1e-9)
    return unit


def body_frame(lateral: F64, up: F64) -> F64:
    """(F, 3) lateral and rough up -> (F, 3, 3) orthonormal columns lateral, up, forward."""
    lat = _unit(lateral)
    up = _unit(up - np.sum(up * lat, axis=-1, keepdims=True) * lat)
    return np.stack([lat, up, np.cross(lat, up)], axis=-1)


def offset_point(
    origin: F64, frame: F64, offset: Sequence[float] | npt.NDArray[np.floating[Any]]
) -> F64:
    """origin + frame @ offset for every frame: (F, 3)."""
    point: F64 = origin + frame @ np.asarray(offset, dtype=float)
    return point


# Hip-knee-ankle length of the Bandai-Namco skeleton, metres (the same in every clip).
_BANDAI_LEG_M: Final[float] = 0.8007


def body_scale(motion: Motion, body: BodyMap = BANDAI) -> float:
    """Mannequin size relative to the Bandai-Namco figure, from the clip's leg length.

    1.0 for Bandai-Namco clips; clipped to [0.5, 1.5] against odd units or skeletons.
    """
    legs = []
    for side in ("l", "r"):
        hip, knee, ankle = (
            motion.positions[:, motion.index(getattr(body, f"{side}_{j}"))]
            for j in ("hip", "knee", "ankle")
        )
        legs.append(np.linalg.norm(knee - hip, axis=-1) + np.linalg.norm(ankle - knee, axis=-1))
    return float(np.clip(np.median(np.concatenate(legs)) / _BANDAI_LEG_M, 0.5, 1.5))


def hand_frame(motion: Motion, body: BodyMap, side: str) -> F64:
    """(F, 3, 3) hand axes: columns across the palm, along the hand, palm normal."""
    wrist = motion.index(getattr(body, f"{side}_wrist"))
    rot = motion.rotations[:, wrist]
    rest = motion.offsets[wrist]
    along_local = rest / max(np.linalg.norm(rest), 1e-9)
    along = rot @ along_local
    normal = rot @ np.asarray(body.hand_thickness_axis, dtype=float)
    return body_frame(np.cross(along, normal), along)


def shoe_ends(knee: F64, ankle: F64, toes: F64) -> tuple[F64, F64]:
    """Heel and toe-tip sphere centres from the knee, ankle and ball-of-foot joints.

    In the plane of the three joints: `u` runs from the ankle to the ball, `n` is the
    shin's downward direction made perpendicular to `u` (towards the heel).
    """
    foot = toes - ankle
    length = np.linalg.norm(foot, axis=-1, keepdims=True)
    u = foot / np.maximum(length, 1e-9)
    shin = ankle - knee
    n = shin - np.sum(shin * u, axis=-1, keepdims=True) * u
    n_len = np.linalg.norm(n, axis=-1, keepdims=True)
    n = np.where(n_len > 1e-6, n / np.maximum(n_len, 1e-9), np.array([0.0, -1.0, 0.0]))
    heel = ankle + length * (0.06 * u + 0.79 * n)
    tip = ankle + length * (1.30 * u - 0.17 * n)
    return heel, tip


# The foot of a skeleton without a toe joint, in its ankle's rest axes: (forward, up)
# metres for the Bandai-Namco figure's size, for an ankle joint about 7 cm above the sole
# (as in the CMU skeleton). The ball of the foot, and the centres of the shoe's heel and
# toe spheres (radii 4.2 and 3.8 cm: their bottoms lie on the sole).
BALL_OF_FOOT: Final[tuple[float, float]] = (0.12, -0.05)
_SHOE_HEEL: Final[tuple[float, float]] = (-0.045, -0.030)
_SHOE_TIP: Final[tuple[float, float]] = (0.14, -0.034)


def synthetic_foot(ankle: F64, ankle_rot: F64, body: BodyMap, scale: float) -> tuple[F64, F64, F64]:
    """Ball of the foot, shoe heel and shoe tip (each (F, 3)) from the ankle joint alone.

    For a skeleton without toe joints: in the BVH rest pose every joint's global rotation
    is the identity, so a skeleton whose rest pose stands upright with flat feet (CMU,
    Mixamo; not Bandai-Namco's) has its feet pointing along the body's rest forward and
    up, `body.head_forward` and `body.head_up` (the head's local axes are the world's at
    rest). The ankle's rotation `ankle_rot` (F, 3, 3) carries them along; the sizes
    are scaled by `scale` (`body_scale`).
    """
    forward = np.asarray(body.head_forward, dtype=float)
    up = np.asarray(body.head_up, dtype=float)

    def point(offset: tuple[float, float]) -> F64:
        local = scale * (offset[0] * forward + offset[1] * up)
        placed: F64 = ankle + ankle_rot @ local
        return placed

    return point(BALL_OF_FOOT), point(_SHOE_HEEL), point(_SHOE_TIP)
