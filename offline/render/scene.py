"""A clip posed for one camera: the mannequin's primitives on every frame, camera axes.

`build_scene` places the body model (`offline.render.body`) on the BVH joints of every
frame and moves it into the axes of the virtual camera (`offline.mocap.virtual_camera`)
that follows the subject, the same camera poses that project the training skeleton.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from offline.mocap.body import BANDAI, BodyMap, from_bvh
from offline.mocap.bvh import Motion
from offline.mocap.virtual_camera import CameraPoses, VirtualCamera
from offline.render.body import (
    BOTTOM,
    FACE,
    SHIRT,
    SHOES,
    SKIN,
    TOP,
    TROUSERS,
    Part,
    body_frame,
    body_scale,
    hand_frame,
    offset_point,
    shoe_ends,
    synthetic_foot,
)
from pipeline import skeleton as sk

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Scene:
    """A clip posed for one camera: the figure's parts and body frames, camera axes.

    Attributes:
        parts: the primitives, drawn in this order (ties go to the earlier one).
        frames: body frames by name ("head", "chest", "pelvis"): origin (F, 3) at the
            joint, metres, and axes (F, 3, 3) with columns lateral (the subject's left),
            up, forward.
        shadow_points: (F, K, 3) points casting blob shadows (feet, hips), camera axes.
        poses: the camera poses (world axes) the scene was transformed with.
        scale: the figure's size relative to the Bandai-Namco one (`body_scale`).
    """

    parts: tuple[Part, ...]
    frames: dict[str, tuple[F64, F64]]
    shadow_points: F64
    poses: CameraPoses
    scale: float = 1.0

    @property
    def n_frames(self) -> int:
        return int(self.shadow_points.shape[0])


def build_scene(motion: Motion, camera: VirtualCamera, body: BodyMap = BANDAI) -> Scene:
    """Place the mannequin on every frame of `motion` and move it into the camera's axes.

    The camera poses are `camera.poses(from_bvh(motion, body), fps)`, exactly those that
    project the training skeleton. A foot without a toe joint in `body` (None) is placed
    from its ankle's rotation (`synthetic_foot`).
    """
    body.check(motion)
    joints = from_bvh(motion, body).astype(np.float64)
    poses = camera.poses(joints, 1.0 / motion.frame_time_s)
    P = motion.positions
    R = motion.rotations

    def pos(role: str) -> F64:
        return P[:, motion.index(getattr(body, role))]

    def rot(role: str) -> F64:
        return R[:, motion.index(getattr(body, role))]

    hips, spine, chest, neck, head = (pos(r) for r in ("hips", "spine", "chest", "neck", "head"))
    k = body_scale(motion, body)
    pelvis_f = body_frame(pos("l_hip") - pos("r_hip"), spine - hips)
    chest_f = body_frame(pos("l_clavicle") - pos("r_clavicle"), neck - chest)
    waist_f = body_frame(pelvis_f[..., 0] + chest_f[..., 0], chest - hips)
    head_f = rot("head") @ body.head_basis()[:, [2, 0, 1]]  # columns lateral, up, forward

    parts: list[Part] = []

    # Sizes below are metres for the Bandai-Namco skeleton, scaled by `k` for others.
    def at(origin: F64, frame: F64, offset: tuple[float, float, float]) -> F64:
        return offset_point(origin, frame, k * np.asarray(offset))

    def cone(name: str, a: F64, b: F64, ra: float, rb: float, material: int) -> None:
        parts.append(Part(name, "cone", material, a, b, k * ra, k * rb))

    def ell(name: str, c: F64, frame: F64, radii: tuple[float, float, float], mat: int) -> None:
        radii = (k * radii[0], k * radii[1], k * radii[2])
        parts.append(Part(name, "ellipsoid", mat, c, axes=frame, radii=radii))

    def flat(
        name: str, a: F64, b: F64, ra: float, rb: float, frame: F64, squash: float, mat: int
    ) -> None:
        parts.append(Part(name, "flatcone", mat, a, b, k * ra, k * rb, axes=frame, squash=squash))

    # Head: skull, jaw, nose, ears. The nose's tip is the training skeleton's nose
    # (offline.mocap.body.JOINT_SOURCES: Head + R_head @ (0.07 up, 0.09 forward)), so that
    # PoseLandmarker's nose and the projected mocap nose are the same point.
    nose_tip = joints[:, sk.NOSE]
    ell("head", at(head, head_f, (0.0, 0.100, -0.020)), head_f, (0.078, 0.115, 0.097), FACE)
    ell("jaw", at(head, head_f, (0.0, 0.042, 0.018)), head_f, (0.058, 0.056, 0.060), FACE)
    ell("nose", at(nose_tip, head_f, (0.0, 0.0, -0.018)), head_f, (0.014, 0.023, 0.018), SKIN)
    for side, s in (("l", 1.0), ("r", -1.0)):
        ell(
            f"ear_{side}",
            at(head, head_f, (0.077 * s, 0.088, -0.018)),
            head_f,
            (0.014, 0.030, 0.018),
            SKIN,
        )
    cone(
        "neck",
        at(neck, chest_f, (0.0, -0.03, -0.005)),
        at(head, head_f, (0.0, 0.03, -0.012)),
        0.054,
        0.050,
        SKIN,
    )
    # Torso.
    waist = at(spine, waist_f, (0.0, -0.01, 0.0))
    flat(
        "torso",
        at(spine, waist_f, (0.0, -0.06, 0.004)),
        at(chest, chest_f, (0.0, 0.07, 0.0)),
        0.123,
        0.132,
        chest_f,
        0.74,
        TOP,
    )
    flat(
        "hips",
        waist,
        at(hips, pelvis_f, (0.0, -0.035, -0.005)),
        0.120,
        0.142,
        pelvis_f,
        0.80,
        BOTTOM,
    )
    balls: dict[str, F64] = {}  # the ball of each foot
    for side in ("l", "r"):
        shoulder, elbow, wrist = pos(f"{side}_shoulder"), pos(f"{side}_elbow"), pos(f"{side}_wrist")
        hip, knee, ankle = (pos(f"{side}_{j}") for j in ("hip", "knee", "ankle"))
        cone(
            f"trapezius_{side}",
            at(neck, chest_f, (0.0, -0.035, -0.015)),
            shoulder,
            0.050,
            0.054,
            SHIRT,
        )
        cone(f"sleeve_{side}", shoulder, shoulder + 0.55 * (elbow - shoulder), 0.054, 0.047, SHIRT)
        cone(f"upper_arm_{side}", shoulder + 0.5 * (elbow - shoulder), elbow, 0.041, 0.036, SKIN)
        cone(f"forearm_{side}", elbow, wrist, 0.036, 0.027, SKIN)
        hand_f = hand_frame(motion, body, side)
        ell(f"hand_{side}", wrist + k * 0.072 * hand_f[..., 1], hand_f, (0.040, 0.080, 0.017), SKIN)
        cone(f"thigh_{side}", hip, knee, 0.080, 0.052, TROUSERS)
        cone(f"shin_{side}", knee, ankle, 0.050, 0.037, TROUSERS)
        if getattr(body, f"{side}_toes") is None:
            balls[side], heel, tip = synthetic_foot(ankle, rot(f"{side}_ankle"), body, k)
        else:
            balls[side] = pos(f"{side}_toes")
            heel, tip = shoe_ends(knee, ankle, balls[side])
        cone(f"shoe_{side}", heel, tip, 0.042, 0.038, SHOES)

    shadow_world = np.stack([pos("l_ankle"), pos("r_ankle"), balls["l"], balls["r"], hips], axis=1)
    frames = {"head": (head, head_f), "chest": (chest, chest_f), "pelvis": (hips, pelvis_f)}
    return _to_camera(parts, frames, shadow_world, poses, k)


def _to_camera(
    parts: list[Part],
    frames: dict[str, tuple[F64, F64]],
    shadow_world: F64,
    poses: CameraPoses,
    scale: float,
) -> Scene:
    rot, centre = poses.rotation, poses.position

    def point(p: F64) -> F64:
        moved: F64 = np.einsum("fij,fj->fi", rot, p - centre)
        return moved

    def axes(a: F64) -> F64:
        return rot @ a

    moved = tuple(
        replace(
            p,
            a=point(p.a),
            b=None if p.b is None else point(p.b),
            axes=None if p.axes is None else axes(p.axes),
        )
        for p in parts
    )
    shadow = np.einsum("fij,fkj->fki", rot, shadow_world - centre[:, None, :])
    moved_frames = {k: (point(o), axes(a)) for k, (o, a) in frames.items()}
    return Scene(moved, moved_frames, shadow, poses, scale)
