"""Render BVH motion capture as video of a mannequin that PoseLandmarker can see.

The figure is built from analytic primitives placed on the BVH joints every frame:
tapered capsules ("round cones": neck, shoulders, arms, legs, shoes), two flattened ones
(torso, hips) and ellipsoids (head, jaw, nose, ears, hands), sized for the Bandai-Namco
skeleton and scaled by leg length for others. Each pixel's ray is intersected
with the primitives whose projected bounding box contains it (a z-buffer keeps the
nearest hit), then shaded with a camera-side key light (Lambert + specular) in skin,
shirt, trousers and shoe colours; a face (eyes, brows, mouth, hair) is painted on the
head in the head joint's axes, because the pose detector leans on the face; a V neckline,
belt buckle and back pockets tell the front of the body from its back. A floor and a
wall (with soft contact shadows) fill the background. Everything is vectorised numpy in
float32 with no random state, so the same clip and settings give byte-identical frames.

Camera: `offline.mocap.camera.VirtualCamera`, the same object and the same `poses` /
`project` that project the mocap skeleton for training. Pixel (column i, row j) shows the
ray through the projected point (i + 0.5, j + 0.5) of `VirtualCamera.project`, so
`pixels / (width, height)` are MediaPipe's normalised image coordinates.

Dataset mode renders a labelled BVH library (the Bandai-Namco layout: `data/*.bvh` with
`data/*.json` labels indexing `cfg/style_label.txt` and `cfg/content_label.txt`) into the
folder-of-labelled-videos layout `<out>/videos/<Label>/<clip>_view<deg>.mp4`, each with
a JSON sidecar (clip, content, style, view, distance, renderer version).

CLI::

    python -m offline.render.renderer CLIP.bvh OUT.mp4 --view 35
    python -m offline.render.renderer --dataset DATA_DIR --out .cache/rendered --views 0 35 -35 90 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from offline.datasets.mocap import DEFAULT_STYLES, Clip, label_names
from offline.labels import STYLE_LABELS
from offline.mocap.bvh import Motion, read_bvh
from offline.mocap.camera import CameraPoses, VirtualCamera
from pipeline import skeleton as sk
from pipeline.io import user_cache_dir, write_text_atomic
from pipeline.validate import check_fraction, check_positive
from pipeline.video import write_video

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

RENDERER_VERSION: Final[str] = "posemotion-mannequin/1"
# Camera yaws a labelled library is rendered at by default (front, three-quarters, side).
DEFAULT_VIEWS: Final[tuple[float, ...]] = (0.0, 35.0, -35.0, 90.0)
# Where train.py keeps rendered libraries, one folder per dataset (git-ignored).
DEFAULT_RENDER_DIR: Final[Path] = user_cache_dir("rendered")

_FAR: Final[float] = np.inf


# --------------------------------------------------------------------------- body map


@dataclass(frozen=True, slots=True)
class BodyMap:
    """Which BVH joint drives each body part; defaults are the Bandai-Namco names.

    Attributes:
        hips, spine, chest, neck, head: the spine chain, pelvis to head.
        l_clavicle, l_shoulder, l_elbow, l_wrist: the left arm (`r_*` the right one);
            the clavicle joint is the start of the shoulder girdle.
        l_hip, l_knee, l_ankle, l_toes: the left leg (`r_*` the right one); the toes
            joint is the ball of the foot.
        head_up, head_forward: unit vectors, in the head joint's local axes, that point
            up the face and out of it (the subject's left is up x forward).
        hand_thickness_axis: unit vector, in the wrist joint's local axes, normal to the palm.
    The hand points where the forearm would carry it: the wrist's rest offset (in the
    elbow's axes) turned by the wrist's rotation.
    """

    hips: str = "Hips"
    spine: str = "Spine"
    chest: str = "Chest"
    neck: str = "Neck"
    head: str = "Head"
    l_clavicle: str = "Shoulder_L"
    l_shoulder: str = "UpperArm_L"
    l_elbow: str = "LowerArm_L"
    l_wrist: str = "Hand_L"
    r_clavicle: str = "Shoulder_R"
    r_shoulder: str = "UpperArm_R"
    r_elbow: str = "LowerArm_R"
    r_wrist: str = "Hand_R"
    l_hip: str = "UpperLeg_L"
    l_knee: str = "LowerLeg_L"
    l_ankle: str = "Foot_L"
    l_toes: str = "Toes_L"
    r_hip: str = "UpperLeg_R"
    r_knee: str = "LowerLeg_R"
    r_ankle: str = "Foot_R"
    r_toes: str = "Toes_R"
    head_up: tuple[float, float, float] = (1.0, 0.0, 0.0)
    head_forward: tuple[float, float, float] = (0.0, 1.0, 0.0)
    hand_thickness_axis: tuple[float, float, float] = (0.0, 1.0, 0.0)

    def __post_init__(self) -> None:
        for name in ("head_up", "head_forward", "hand_thickness_axis"):
            v = np.asarray(getattr(self, name), dtype=float)
            if v.shape != (3,) or not np.isclose(np.linalg.norm(v), 1.0, atol=1e-6):
                raise ValueError(f"`{name}` must be a unit 3-vector, got {getattr(self, name)}")
        if not abs(float(np.dot(self.head_up, self.head_forward))) < 1e-6:
            raise ValueError(
                f"`head_up` and `head_forward` must be perpendicular, got {self.head_up} "
                f"and {self.head_forward}"
            )

    @property
    def joint_names(self) -> dict[str, str]:
        """Role -> BVH joint name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.type in ("str", str)}

    @classmethod
    def from_json(cls, path: str | Path) -> BodyMap:
        """Read a JSON object of role -> joint name (and optional axes) over the defaults."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"joint map not found: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"joint map {path} is not valid JSON: {e}") from None
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) - known:
            unknown = sorted(set(data) - known) if isinstance(data, dict) else data
            raise ValueError(
                f"joint map {path} must be an object with keys among {sorted(known)}, got {unknown}"
            )
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def check(self, motion: Motion) -> None:
        """Raise ValueError naming every role whose joint the clip lacks."""
        missing = [
            f"{role}={name}" for role, name in self.joint_names.items() if name not in motion.names
        ]
        if missing:
            raise ValueError(
                f"BVH lacks joints the body map needs: {', '.join(missing)}; pass a joint "
                f"map (--joint-map) naming this skeleton's joints (has: {', '.join(motion.names)})"
            )


BANDAI: Final[BodyMap] = BodyMap()

# The Bandai joint name of each role, to read pipeline.skeleton.JOINT_TABLE through a map.
_BANDAI_ROLE: Final[dict[str, str]] = {name: role for role, name in BANDAI.joint_names.items()}


def shared_joints(motion: Motion, body: BodyMap = BANDAI) -> F32:
    """(F, 13, 3) shared joints of a clip, metres: what the camera follows and projects.

    With the Bandai map this is exactly `pipeline.skeleton.from_bvh` (the training
    skeleton); another map places the same JOINT_TABLE points on its own joints, the
    nose offset turned into that skeleton's head axes.
    """
    if body == BANDAI:
        return sk.from_bvh(motion)
    body.check(motion)
    names = body.joint_names
    head_basis = _head_basis(body)  # Bandai head axes -> this skeleton's head axes
    idx, offsets = [], []
    for j in sk.JOINT_TABLE:
        role = _BANDAI_ROLE[j.bvh_joint]
        idx.append(motion.index(names[role]))
        offset = np.asarray(j.bvh_offset_m)
        offsets.append(head_basis @ offset if role == "head" else offset)
    points = motion.positions[:, idx] + np.einsum(
        "fjab,jb->fja", motion.rotations[:, idx], np.array(offsets)
    )
    return points.astype(np.float32)


def _head_basis(body: BodyMap) -> F64:
    """3x3 matrix whose columns are the head's up, forward and left in its local axes."""
    up = np.asarray(body.head_up, float)
    fwd = np.asarray(body.head_forward, float)
    return np.stack([up, fwd, np.cross(up, fwd)], axis=1)


# --------------------------------------------------------------------------- look


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


# --------------------------------------------------------------------------- body model

# Materials. The painted ones are drawn in a body frame's axes (`Scene.frames`): FACE
# (eyes, brows, mouth, hair) in the head's, TOP (a shirt with a V neckline) in the chest's,
# BOTTOM (trousers with back pockets) in the pelvis's; they tell front from back.
SKIN, SHIRT, TROUSERS, SHOES, FACE, TOP, BOTTOM = range(7)
_PAINT_FRAME: Final[dict[int, str]] = {FACE: "head", TOP: "chest", BOTTOM: "pelvis"}


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


def _unit(v: F64) -> F64:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-9)


def _frame(lateral: F64, up: F64) -> F64:
    """(F, 3) lateral and rough up -> (F, 3, 3) orthonormal columns lateral, up, forward."""
    lat = _unit(lateral)
    up = _unit(up - np.sum(up * lat, axis=-1, keepdims=True) * lat)
    return np.stack([lat, up, np.cross(lat, up)], axis=-1)


def _at(origin: F64, frame: F64, offset: Sequence[float]) -> F64:
    """origin + frame @ offset for every frame: (F, 3)."""
    return origin + frame @ np.asarray(offset, dtype=float)


def build_scene(motion: Motion, camera: VirtualCamera, body: BodyMap = BANDAI) -> Scene:
    """Place the mannequin on every frame of `motion` and move it into the camera's axes.

    The camera poses are `camera.poses(shared_joints(motion, body), fps)`, exactly those
    that project the training skeleton.
    """
    body.check(motion)
    joints = shared_joints(motion, body).astype(np.float64)
    poses = camera.poses(joints, 1.0 / motion.frame_time_s)
    P = motion.positions
    R = motion.rotations

    def pos(role: str) -> F64:
        return P[:, motion.index(getattr(body, role))]

    def rot(role: str) -> F64:
        return R[:, motion.index(getattr(body, role))]

    hips, spine, chest, neck, head = (pos(r) for r in ("hips", "spine", "chest", "neck", "head"))
    k = body_scale(motion, body)
    pelvis_f = _frame(pos("l_hip") - pos("r_hip"), spine - hips)
    chest_f = _frame(pos("l_clavicle") - pos("r_clavicle"), neck - chest)
    waist_f = _frame(pelvis_f[..., 0] + chest_f[..., 0], chest - hips)
    head_f = rot("head") @ _head_basis(body)[:, [2, 0, 1]]  # columns lateral, up, forward

    parts: list[Part] = []

    # Sizes below are metres for the Bandai-Namco skeleton, scaled by `k` for others.
    def at(origin: F64, frame: F64, offset: tuple[float, float, float]) -> F64:
        return _at(origin, frame, k * np.asarray(offset))

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
    # (pipeline.skeleton.JOINT_TABLE: Head + R_head @ (0.07 up, 0.09 forward)), so that
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
    for side in ("l", "r"):
        shoulder, elbow, wrist = pos(f"{side}_shoulder"), pos(f"{side}_elbow"), pos(f"{side}_wrist")
        hip, knee, ankle, toes = (pos(f"{side}_{j}") for j in ("hip", "knee", "ankle", "toes"))
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
        hand_f = _hand_frame(motion, body, side)
        ell(f"hand_{side}", wrist + k * 0.072 * hand_f[..., 1], hand_f, (0.040, 0.080, 0.017), SKIN)
        cone(f"thigh_{side}", hip, knee, 0.080, 0.052, TROUSERS)
        cone(f"shin_{side}", knee, ankle, 0.050, 0.037, TROUSERS)
        heel, tip = _shoe_ends(knee, ankle, toes)
        cone(f"shoe_{side}", heel, tip, 0.042, 0.038, SHOES)

    shadow_world = np.stack(
        [pos("l_ankle"), pos("r_ankle"), pos("l_toes"), pos("r_toes"), hips], axis=1
    )
    frames = {"head": (head, head_f), "chest": (chest, chest_f), "pelvis": (hips, pelvis_f)}
    return _to_camera(parts, frames, shadow_world, poses, k)


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


def _hand_frame(motion: Motion, body: BodyMap, side: str) -> F64:
    """(F, 3, 3) hand axes: columns across the palm, along the hand, palm normal."""
    wrist = motion.index(getattr(body, f"{side}_wrist"))
    rot = motion.rotations[:, wrist]
    rest = motion.offsets[wrist]
    along_local = rest / max(np.linalg.norm(rest), 1e-9)
    along = rot @ along_local
    normal = rot @ np.asarray(body.hand_thickness_axis, dtype=float)
    return _frame(np.cross(along, normal), along)


def _shoe_ends(knee: F64, ankle: F64, toes: F64) -> tuple[F64, F64]:
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


def _to_camera(
    parts: list[Part],
    frames: dict[str, tuple[F64, F64]],
    shadow_world: F64,
    poses: CameraPoses,
    scale: float,
) -> Scene:
    rot, centre = poses.rotation, poses.position

    def point(p: F64) -> F64:
        return np.einsum("fij,fj->fi", rot, p - centre)

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


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True, slots=True)
class RenderedFrame:
    """One rendered frame.

    Attributes:
        image: (H, W, 3) uint8, BGR (OpenCV order).
        part: (H, W) int16 index into `Scene.parts` of the surface seen, -1 for background.
        depth: (H, W) float32 distance along each pixel's ray, metres (inf for background).
    """

    image: npt.NDArray[np.uint8]
    part: npt.NDArray[np.int16]
    depth: F32


class Renderer:
    """Draws a `Scene` frame by frame for one camera (image size and focal length).

    Args:
        camera: the virtual camera that posed the scene (its image size, focal length and
            distance, which places the wall, are used here; its placement per frame comes
            from the scene's poses).
        look: colours and lighting.
    """

    def __init__(self, camera: VirtualCamera, look: Look | None = None) -> None:
        self.camera = camera
        self.look = look or Look()
        w, h, f = camera.width, camera.height, camera.focal_px
        x = (np.arange(w, dtype=np.float64) + 0.5 - 0.5 * w) / f
        y = -(np.arange(h, dtype=np.float64) + 0.5 - 0.5 * h) / f
        xx, yy = np.meshgrid(x, y)
        norm = np.sqrt(xx * xx + yy * yy + 1.0)
        # Unit ray directions through the pixel centres, camera axes (x right, y up, z fwd).
        self.rays: tuple[F32, F32, F32] = (
            (xx / norm).astype(np.float32),
            (yy / norm).astype(np.float32),
            (1.0 / norm).astype(np.float32),
        )
        self._background_key: tuple[float, ...] | None = None
        self._background: npt.NDArray[np.uint8] | None = None
        self._floor_ab: tuple[F32, F32] | None = None
        self._floor_basis: F64 | None = None
        light = np.asarray(self.look.light_dir, dtype=np.float64)
        self._light = light / np.linalg.norm(light)
        look = self.look
        colours = {
            SKIN: look.skin,
            SHIRT: look.shirt,
            TROUSERS: look.trousers,
            SHOES: look.shoes,
            FACE: look.skin,
            TOP: look.shirt,
            BOTTOM: look.trousers,
        }  # base colours
        # RGB 0..1 per material (painted materials start from their base colour)
        self._albedo = np.array([colours[m] for m in range(len(colours))], np.float32) / 255.0

    # ------------------------------------------------------------------ background

    def background(self, poses: CameraPoses, frame: int) -> npt.NDArray[np.uint8]:
        """(H, W, 3) uint8 BGR floor and wall for one frame's camera (cached per tilt)."""
        rot = poses.rotation[frame]
        height = float(poses.position[frame, 1])
        key = tuple(np.round(np.r_[rot[:, 1], height], 9))  # world up in camera axes + height
        if key != self._background_key:
            self._background, self._floor_ab, self._floor_basis = self._make_background(rot, height)
            self._background_key = key
        assert self._background is not None
        return self._background

    def _make_background(
        self, rot: F64, height: float
    ) -> tuple[npt.NDArray[np.uint8], tuple[F32, F32], F64]:
        look = self.look
        rx, ry, rz = (r.astype(np.float64) for r in self.rays)
        up = rot[:, 1]  # world up in camera axes
        fwd_world = rot[2] - rot[2, 1] * np.array([0.0, 1.0, 0.0])
        fwd_world /= np.linalg.norm(fwd_world)
        fwd = rot @ fwd_world  # horizontal forward in camera axes
        right = np.cross(fwd, up)  # horizontal right in camera axes
        r_up = rx * up[0] + ry * up[1] + rz * up[2]
        r_fwd = rx * fwd[0] + ry * fwd[1] + rz * fwd[2]
        wall_d = self.camera.distance_m + look.wall_gap_m
        with np.errstate(divide="ignore", invalid="ignore"):
            t_floor = np.where(r_up < -1e-9, -height / r_up, np.inf)
            t_wall = np.where(r_fwd > 1e-9, wall_d / r_fwd, np.inf)
        floor = t_floor < t_wall
        wall_col = np.asarray(look.wall, dtype=np.float64) / 255.0
        floor_col = np.asarray(look.floor, dtype=np.float64) / 255.0
        # Wall: lit from above, darker towards the floor; a skirting board at its foot.
        y_wall = height + t_wall * r_up
        shade_wall = 0.82 + 0.12 * np.clip(y_wall / 2.5, 0.0, 1.0)
        img = wall_col * shade_wall[..., None]
        skirting = (~floor) & (y_wall < 0.10)
        img[skirting] = wall_col * 0.55
        # Floor: darker with distance, faint boards along the view direction.
        dist = np.where(floor, t_floor, 0.0)
        a = dist * (rx * right[0] + ry * right[1] + rz * right[2])  # metres right of camera
        b = dist * r_fwd  # metres ahead of the camera
        boards = 0.96 + 0.04 * np.cos(2 * np.pi * a / 0.18) ** 8
        shade_floor = (0.95 - 0.25 * np.clip((b - 1.0) / (wall_d - 1.0), 0.0, 1.0)) * boards
        img[floor] = floor_col * shade_floor[floor][:, None]
        bgr = np.clip(img[..., ::-1] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        fa = np.where(floor, a, np.nan).astype(np.float32)
        fb = np.where(floor, b, np.nan).astype(np.float32)
        return bgr, (fa, fb), np.stack([right, up, fwd])

    # ------------------------------------------------------------------ one frame

    def render(self, scene: Scene, frame: int) -> RenderedFrame:
        """Render frame `frame` of `scene`."""
        h, w = self.camera.height, self.camera.width
        image = self.background(scene.poses, frame).copy()
        depth = np.full((h, w), np.inf, dtype=np.float32)
        part = np.full((h, w), -1, dtype=np.int16)
        boxes: list[tuple[int, int, int, int] | None] = []
        for k, p in enumerate(scene.parts):
            box = self._box(p, frame)
            boxes.append(box)
            if box is None:
                continue
            y0, y1, x0, x1 = box
            rx, ry, rz = (r[y0:y1, x0:x1] for r in self.rays)
            if p.kind == "cone":
                t = _cone_hit(rx, ry, rz, p.a[frame], p.b[frame], p.ra, p.rb)
            elif p.kind == "flatcone":
                t = _flatcone_hit(rx, ry, rz, p, frame)
            else:
                t = _ellipsoid_hit(rx, ry, rz, p.a[frame], p.axes[frame], p.radii)
            zr = depth[y0:y1, x0:x1]
            closer = t < zr
            np.copyto(zr, t, where=closer)
            np.copyto(part[y0:y1, x0:x1], np.int16(k), where=closer)
        self._shadow(image, depth, scene, frame)
        for k, (p, box) in enumerate(zip(scene.parts, boxes, strict=True)):
            if box is not None:
                self._shade(image, depth, part, k, p, box, scene, frame)
        return RenderedFrame(image, part, depth)

    def _box(self, p: Part, frame: int) -> tuple[int, int, int, int] | None:
        """Pixel rows/cols [y0, y1) x [x0, x1) that can see the part, or None."""
        if p.kind in ("cone", "flatcone"):
            assert p.b is not None
            centres = np.stack([p.a[frame], p.b[frame]])
            radii = np.array([p.ra, p.rb])
        else:
            centres = p.a[frame][None]
            radii = np.array([max(p.radii)])
        near = centres[:, 2] - radii
        if (near < 0.05).any():
            return None  # at or behind the camera: never the case for a subject metres away
        corners = centres[:, None, :] + radii[:, None, None] * _CUBE[None]
        uv = corners[..., :2] / corners[..., 2:3]
        f = self.camera.focal_px
        u = 0.5 * self.camera.width + f * uv[..., 0]
        v = 0.5 * self.camera.height - f * uv[..., 1]
        x0 = max(int(np.floor(u.min() - 0.5)), 0)
        x1 = min(int(np.ceil(u.max() + 0.5)), self.camera.width)
        y0 = max(int(np.floor(v.min() - 0.5)), 0)
        y1 = min(int(np.ceil(v.max() + 0.5)), self.camera.height)
        if x1 <= x0 or y1 <= y0:
            return None
        return y0, y1, x0, x1

    def _shadow(self, image: npt.NDArray[np.uint8], depth: F32, scene: Scene, frame: int) -> None:
        """Darken the floor under the feet and hips with soft blobs (in place)."""
        if self.look.shadow <= 0 or self._floor_ab is None or self._floor_basis is None:
            return
        pts = scene.shadow_points[frame] @ self._floor_basis.T  # (K, 3): right, up, forward
        cam_h = float(scene.poses.position[frame, 1])
        height = pts[:, 1] + cam_h  # above the floor
        sigma = np.array([0.09, 0.09, 0.09, 0.09, 0.22])
        strength = (
            self.look.shadow
            * np.array([0.5, 0.5, 0.5, 0.5, 0.6])
            * np.exp(-np.maximum(height - np.array([0.1, 0.1, 0.05, 0.05, 0.9]), 0.0) / 0.4)
        )
        fa, fb = self._floor_ab
        reach = 2.5 * sigma
        # Screen box of the blobs: project the corners of their floor squares.
        ground = np.stack([pts[:, 0], np.full(len(pts), -cam_h), pts[:, 2]], axis=1)
        corners = np.concatenate(
            [ground + np.array([sa, 0, sb]) * reach[:, None] for sa in (-1, 1) for sb in (-1, 1)]
        )
        cam = corners @ self._floor_basis  # back to camera axes
        if (cam[:, 2] < 0.1).any():
            return
        f = self.camera.focal_px
        u = 0.5 * self.camera.width + f * cam[:, 0] / cam[:, 2]
        v = 0.5 * self.camera.height - f * cam[:, 1] / cam[:, 2]
        x0, x1 = max(int(u.min()) - 1, 0), min(int(u.max()) + 2, self.camera.width)
        y0, y1 = max(int(v.min()) - 1, 0), min(int(v.max()) + 2, self.camera.height)
        if x1 <= x0 or y1 <= y0:
            return
        a, b = fa[y0:y1, x0:x1], fb[y0:y1, x0:x1]
        light = np.ones_like(a)
        for k in range(len(pts)):
            d2 = (a - np.float32(pts[k, 0])) ** 2 + (b - np.float32(pts[k, 2])) ** 2
            light *= 1.0 - np.float32(strength[k]) * np.exp(d2 * np.float32(-0.5 / sigma[k] ** 2))
        mask = np.isfinite(light) & (light < 0.999) & ~np.isfinite(depth[y0:y1, x0:x1])
        region = image[y0:y1, x0:x1]
        region[mask] = (region[mask] * light[mask][:, None] + 0.5).astype(np.uint8)

    def _shade(
        self,
        image: npt.NDArray[np.uint8],
        depth: F32,
        part: npt.NDArray[np.int16],
        k: int,
        p: Part,
        box: tuple[int, int, int, int],
        scene: Scene,
        frame: int,
    ) -> None:
        """Shade the pixels where part `k` is the nearest surface (in place)."""
        y0, y1, x0, x1 = box
        mask = part[y0:y1, x0:x1] == k
        if not mask.any():
            return
        t = depth[y0:y1, x0:x1][mask]
        rx, ry, rz = (r[y0:y1, x0:x1][mask] for r in self.rays)
        px, py, pz = t * rx, t * ry, t * rz  # hit points, camera axes
        if p.kind == "cone":
            assert p.b is not None
            nx, ny, nz = _cone_normal(px, py, pz, p.a[frame], p.b[frame], p.ra, p.rb)
        elif p.kind == "flatcone":
            nx, ny, nz = _flatcone_normal(px, py, pz, p, frame)
        else:
            assert p.axes is not None
            nx, ny, nz = _ellipsoid_normal(px, py, pz, p.a[frame], p.axes[frame], p.radii)
        look = self.look
        f32 = np.float32
        lx, ly, lz = (np.float32(c) for c in self._light)
        lam = np.maximum(nx * lx + ny * ly + nz * lz, 0.0)
        # Blinn-Phong half vector between the light and the direction to the camera (-ray).
        hx, hy, hz = lx - rx, ly - ry, lz - rz
        hn = np.sqrt(hx * hx + hy * hy + hz * hz)
        spec = np.maximum((nx * hx + ny * hy + nz * hz) / hn, 0.0) ** np.float32(look.shininess)
        sky = np.float32(0.08) * ny  # a little light from above, a little less from below
        light = np.float32(look.ambient) + sky + np.float32(look.diffuse) * lam
        if p.material in _PAINT_FRAME:
            origin, axes = scene.frames[_PAINT_FRAME[p.material]]
            o, ax = origin[frame], axes[frame]
            dx, dy, dz = px - f32(o[0]), py - f32(o[1]), pz - f32(o[2])
            inv = f32(1.0 / scene.scale)
            lat, up, fwd = (
                (dx * f32(ax[0, c]) + dy * f32(ax[1, c]) + dz * f32(ax[2, c])) * inv
                for c in range(3)
            )  # from the frame's joint along its lateral, up and forward axes, Bandai metres
            albedo = _PAINTERS[p.material](self, lat, up, fwd)
        else:
            albedo = np.broadcast_to(self._albedo[p.material], (t.size, 3))
        rgb = albedo * light[:, None] + (np.float32(look.specular) * spec)[:, None]
        bgr = np.clip(rgb[:, ::-1] * np.float32(255.0) + np.float32(0.5), 0, 255).astype(np.uint8)
        image[y0:y1, x0:x1][mask] = bgr

    def _face_albedo(self, lat: F32, up: F32, fwd: F32) -> F32:
        """(N, 3) RGB albedo of head/jaw points (head axes, metres from the head joint)."""
        look = self.look
        colour = np.empty((lat.size, 3), dtype=np.float32)
        colour[:] = self._albedo[SKIN]
        front = fwd > 0.02
        # Hair: over the top and the back, hairline at the forehead, longer at the back.
        hairline = np.where(
            fwd > 0.035,
            np.float32(0.158),
            np.float32(0.158) - np.float32(1.2) * (np.float32(0.035) - fwd),
        )
        hairline = np.maximum(hairline, np.float32(0.035))
        side = np.abs(lat) > 0.066
        back = (fwd < -0.005) & (up > 0.07)
        hair = (up > hairline) | back | (side & (up > 0.115) & (fwd < 0.05))
        colour[hair] = np.asarray(look.hair, np.float32) / 255
        for s in (-1.0, 1.0):
            ex = lat - np.float32(0.031 * s)
            ey = up - np.float32(0.106)
            eye = front & ((ex / np.float32(0.0135)) ** 2 + (ey / np.float32(0.0075)) ** 2 < 1)
            colour[eye] = np.asarray(look.eye_white, np.float32) / 255
            iris = front & (ex * ex + ey * ey < np.float32(0.0062**2))
            colour[iris] = np.asarray(look.iris, np.float32) / 255
            brow_y = np.float32(0.126) + np.float32(0.12) * (np.abs(ex) * np.float32(-1.0) + 0.015)
            brow = front & (np.abs(ex) < 0.017) & (np.abs(up - brow_y) < 0.0042)
            colour[brow] = np.asarray(look.brows, np.float32) / 255
        mouth_y = np.float32(0.036) + np.float32(1.8) * lat * lat
        mouth = front & (np.abs(lat) < 0.022) & (np.abs(up - mouth_y) < 0.0045)
        colour[mouth] = np.asarray(look.lips, np.float32) / 255
        return colour

    def _top_albedo(self, lat: F32, up: F32, fwd: F32) -> F32:
        """(N, 3) RGB albedo of shirt points (chest axes): a V neckline with a collar seam."""
        look = self.look
        colour = np.empty((lat.size, 3), dtype=np.float32)
        colour[:] = self._albedo[SHIRT]
        side = np.abs(lat)
        neckline = np.float32(0.125) + np.float32(0.9) * np.minimum(side, np.float32(0.05))
        front = fwd > 0.0
        collar = front & (up > neckline - np.float32(0.008))
        colour[collar] = self._albedo[SHIRT] * np.float32(0.55)
        colour[front & (up > neckline)] = np.asarray(look.skin, np.float32) / 255
        return colour

    def _bottom_albedo(self, lat: F32, up: F32, fwd: F32) -> F32:
        """(N, 3) RGB albedo of the hips (pelvis axes): shirt, belt, trousers, fly, pockets."""
        colour = np.empty((lat.size, 3), dtype=np.float32)
        base = self._albedo[TROUSERS]
        colour[:] = base
        side = np.abs(lat)
        colour[up >= 0.085] = self._albedo[SHIRT]  # the shirt hangs over the belt
        belt = (up > 0.055) & (up < 0.085)
        colour[belt] = base * np.float32(0.45)
        buckle = belt & (fwd > 0.0) & (side < 0.022) & (up > 0.058) & (up < 0.082)
        colour[buckle] = np.float32(0.78)
        fly = (fwd > 0.0) & (side < 0.005) & (up < 0.05) & (up > -0.09)
        colour[fly] = base * np.float32(0.6)
        pocket = (fwd < 0.0) & (side > 0.03) & (side < 0.11) & (up < 0.03) & (up > -0.09)
        seam = pocket & ~((side > 0.036) & (side < 0.104) & (up < 0.024) & (up > -0.084))
        colour[pocket] = base * np.float32(1.25)
        colour[seam] = base * np.float32(1.8)
        return colour

    def frames(
        self, scene: Scene, frames: Iterable[int] | None = None
    ) -> Iterator[npt.NDArray[np.uint8]]:
        """Yield (H, W, 3) uint8 BGR images of the given frames (default all)."""
        for f in range(scene.n_frames) if frames is None else frames:
            yield self.render(scene, int(f)).image


_PAINTERS: Final[dict[int, Callable[[Renderer, F32, F32, F32], F32]]] = {
    FACE: Renderer._face_albedo,
    TOP: Renderer._top_albedo,
    BOTTOM: Renderer._bottom_albedo,
}

_CUBE: Final[F64] = np.array(
    [[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64
)


# --------------------------------------------------------------------------- ray casting
# Rays start at the camera centre (the origin of camera axes) with unit directions
# (rx, ry, rz); every function returns the distance t along the ray (inf for a miss).


def _cone_hit(rx: F32, ry: F32, rz: F32, a: F64, b: F64, ra: float, rb: float) -> F32:
    """Nearest hit of unit rays from the origin with a round cone (Quilez's intersector)."""
    ba = b - a
    m0 = float(ba @ ba)
    m1 = -float(ba @ a)  # ba . (origin - a)
    m5 = float(a @ a)
    m7 = float(b @ b)
    rr = ra - rb
    d2 = m0 - rr * rr
    k0 = d2 * m5 - m1 * m1 + 2.0 * m1 * rr * ra - m0 * ra * ra
    f32 = np.float32
    m2 = rx * f32(ba[0]) + ry * f32(ba[1]) + rz * f32(ba[2])
    m3 = -(rx * f32(a[0]) + ry * f32(a[1]) + rz * f32(a[2]))  # rd . (origin - a)
    m6 = -(rx * f32(b[0]) + ry * f32(b[1]) + rz * f32(b[2]))
    k2 = f32(d2) - m2 * m2
    k1 = f32(d2) * m3 + m2 * f32(rr * ra - m1)
    h = k1 * k1 - f32(k0) * k2
    with np.errstate(invalid="ignore", divide="ignore"):
        t_body = (-np.sqrt(h) - k1) / k2
        y = f32(m1 - ra * rr) + t_body * m2
        body = (h >= 0) & (y > 0) & (y < d2)
        h1 = m3 * m3 + f32(ra * ra - m5)
        h2 = m6 * m6 + f32(rb * rb - m7)
        t1 = np.where(h1 >= 0, -m3 - np.sqrt(h1), f32(_FAR))
        t2 = np.where(h2 >= 0, -m6 - np.sqrt(h2), f32(_FAR))
    t = np.where(body, t_body, np.minimum(t1, t2))
    t[h < 0] = _FAR
    t[~(t > 0)] = _FAR  # behind the camera or NaN
    return t


def _cone_normal(
    px: F32, py: F32, pz: F32, a: F64, b: F64, ra: float, rb: float
) -> tuple[F32, F32, F32]:
    """Unit outward normals of a round cone at surface points p."""
    f32 = np.float32
    ba = b - a
    rr = ra - rb
    d2 = float(ba @ ba) - rr * rr
    qx, qy, qz = px - f32(a[0]), py - f32(a[1]), pz - f32(a[2])
    y = qx * f32(ba[0]) + qy * f32(ba[1]) + qz * f32(ba[2]) - f32(ra * rr)
    nx = f32(d2) * qx - f32(ba[0]) * y
    ny = f32(d2) * qy - f32(ba[1]) * y
    nz = f32(d2) * qz - f32(ba[2]) * y
    cap_a = y <= 0
    cap_b = y >= d2
    if cap_a.any():
        nx[cap_a], ny[cap_a], nz[cap_a] = qx[cap_a], qy[cap_a], qz[cap_a]
    if cap_b.any():
        nx[cap_b] = px[cap_b] - f32(b[0])
        ny[cap_b] = py[cap_b] - f32(b[1])
        nz[cap_b] = pz[cap_b] - f32(b[2])
    inv = 1.0 / np.sqrt(nx * nx + ny * ny + nz * nz + f32(1e-20))
    return nx * inv, ny * inv, nz * inv


def _squash_matrix(p: Part, frame: int) -> F64:
    """Linear map that turns a flat cone into a round one (forward axis scaled by 1/squash)."""
    assert p.axes is not None
    axes = p.axes[frame]
    return axes @ np.diag([1.0, 1.0, 1.0 / p.squash]) @ axes.T


def _flatcone_hit(rx: F32, ry: F32, rz: F32, p: Part, frame: int) -> F32:
    """Nearest hit with a flat cone: a round cone hit in the unsquashed space.

    The map is linear and the rays start at the origin, so they still start there; their
    directions are renormalised and the distance scaled back.
    """
    assert p.b is not None
    m = _squash_matrix(p, frame)
    f32 = np.float32
    d = [rx * f32(m[i, 0]) + ry * f32(m[i, 1]) + rz * f32(m[i, 2]) for i in range(3)]
    inv = 1.0 / np.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    t = _cone_hit(d[0] * inv, d[1] * inv, d[2] * inv, m @ p.a[frame], m @ p.b[frame], p.ra, p.rb)
    return t * inv


def _flatcone_normal(px: F32, py: F32, pz: F32, p: Part, frame: int) -> tuple[F32, F32, F32]:
    """Unit outward normals of a flat cone: the round cone's normal mapped back (by M^T)."""
    assert p.b is not None
    m = _squash_matrix(p, frame)
    f32 = np.float32
    q = [px * f32(m[i, 0]) + py * f32(m[i, 1]) + pz * f32(m[i, 2]) for i in range(3)]
    n = _cone_normal(q[0], q[1], q[2], m @ p.a[frame], m @ p.b[frame], p.ra, p.rb)
    w = [n[0] * f32(m[0, j]) + n[1] * f32(m[1, j]) + n[2] * f32(m[2, j]) for j in range(3)]
    inv = 1.0 / np.sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2] + f32(1e-20))
    return w[0] * inv, w[1] * inv, w[2] * inv


def _ellipsoid_hit(
    rx: F32, ry: F32, rz: F32, c: F64, axes: F64, radii: tuple[float, float, float]
) -> F32:
    """Nearest hit of unit rays from the origin with an ellipsoid."""
    f32 = np.float32
    m = axes.T / np.asarray(radii)[:, None]  # rows: axis_k / radius_k; maps p - c to unit sphere
    o = -(m @ c)  # the ray origin in unit-sphere coordinates
    d0 = rx * f32(m[0, 0]) + ry * f32(m[0, 1]) + rz * f32(m[0, 2])
    d1 = rx * f32(m[1, 0]) + ry * f32(m[1, 1]) + rz * f32(m[1, 2])
    d2 = rx * f32(m[2, 0]) + ry * f32(m[2, 1]) + rz * f32(m[2, 2])
    a = d0 * d0 + d1 * d1 + d2 * d2
    b = d0 * f32(o[0]) + d1 * f32(o[1]) + d2 * f32(o[2])
    # b^2 - a (|o|^2 - 1) = a - |o x d|^2, without the cancellation of two large numbers.
    cx = f32(o[1]) * d2 - f32(o[2]) * d1
    cy = f32(o[2]) * d0 - f32(o[0]) * d2
    cz = f32(o[0]) * d1 - f32(o[1]) * d0
    disc = a - (cx * cx + cy * cy + cz * cz)
    with np.errstate(invalid="ignore"):
        t = (-b - np.sqrt(disc)) / a
    t[~(disc >= 0) | ~(t > 0)] = _FAR
    return t


def _ellipsoid_normal(
    px: F32, py: F32, pz: F32, c: F64, axes: F64, radii: tuple[float, float, float]
) -> tuple[F32, F32, F32]:
    """Unit outward normals of an ellipsoid at surface points p."""
    f32 = np.float32
    g = axes / np.asarray(radii) ** 2  # columns axis_k / radius_k^2
    qx, qy, qz = px - f32(c[0]), py - f32(c[1]), pz - f32(c[2])
    # gradient = sum_k axis_k (axis_k . q) / r_k^2
    s = [qx * f32(axes[0, k]) + qy * f32(axes[1, k]) + qz * f32(axes[2, k]) for k in range(3)]
    nx = s[0] * f32(g[0, 0]) + s[1] * f32(g[0, 1]) + s[2] * f32(g[0, 2])
    ny = s[0] * f32(g[1, 0]) + s[1] * f32(g[1, 1]) + s[2] * f32(g[1, 2])
    nz = s[0] * f32(g[2, 0]) + s[1] * f32(g[2, 1]) + s[2] * f32(g[2, 2])
    inv = 1.0 / np.sqrt(nx * nx + ny * ny + nz * nz + f32(1e-20))
    return nx * inv, ny * inv, nz * inv


# --------------------------------------------------------------------------- clips → video


def render_motion(
    motion: Motion,
    camera: VirtualCamera,
    *,
    body: BodyMap = BANDAI,
    look: Look | None = None,
    max_frames: int | None = None,
) -> Iterator[npt.NDArray[np.uint8]]:
    """Yield (H, W, 3) uint8 BGR frames of a clip seen by `camera`.

    The camera poses are computed on the whole clip (as for training) even when only the
    first `max_frames` frames are drawn.
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"`max_frames` must be >= 1, got {max_frames}")
    scene = build_scene(motion, camera, body)
    n = scene.n_frames if max_frames is None else min(max_frames, scene.n_frames)
    return Renderer(camera, look).frames(scene, range(n))


def render_bvh(
    bvh: str | Path,
    out: str | Path,
    camera: VirtualCamera,
    *,
    body: BodyMap = BANDAI,
    look: Look | None = None,
    unit_m: float = 0.01,
    max_frames: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Render a BVH file to an mp4 at the clip's frame rate; returns the frame count."""
    motion = read_bvh(bvh, unit_m=unit_m)
    frames = render_motion(motion, camera, body=body, look=look, max_frames=max_frames)
    return write_video(frames, out, 1.0 / motion.frame_time_s, progress)


# --------------------------------------------------------------------------- labelled dataset


@dataclass(frozen=True, slots=True)
class RenderJob:
    """One clip at one view of a rendered dataset.

    Attributes:
        bvh: the source clip.
        video: the .mp4 to write; `sidecar` is written beside it as `<stem>.json`.
        camera: the camera (yaw = the view).
        sidecar: the metadata written beside the video; a rerun skips the job when the
            existing sidecar equals it and the video exists.
        max_frames: render only the first frames (None: all).
    """

    bvh: Path
    video: Path
    camera: VirtualCamera
    sidecar: dict[str, Any]
    max_frames: int | None = None

    @property
    def sidecar_path(self) -> Path:
        return self.video.with_suffix(".json")

    @property
    def n_frames(self) -> int:
        return int(self.sidecar["frames"])

    def is_done(self) -> bool:
        """True when the video and an identical sidecar already exist."""
        if not (self.video.is_file() and self.sidecar_path.is_file()):
            return False
        try:
            return json.loads(self.sidecar_path.read_text(encoding="utf-8")) == self.sidecar
        except (OSError, json.JSONDecodeError):
            return False


def readlabel_names(dataset: str | Path) -> list[Clip]:
    """Every clip of a Bandai-Namco-layout dataset, with its content and style.

    The layout: `data/<clip>.bvh` with `data/<clip>.json` = {"content": i, "style": j},
    indices into the lines of `cfg/content_label.txt` and `cfg/style_label.txt` (names like
    "dataset-1_walk"; the part after the first "_" is kept). The same clips as
    `offline.datasets.mocap.list_clips`, with errors that say what `--dataset` needs.
    """
    root = Path(dataset)
    data, cfg = root / "data", root / "cfg"
    for p in (data, cfg / "content_label.txt", cfg / "style_label.txt"):
        if not p.exists():
            raise FileNotFoundError(
                f"{p} not found: --dataset must be a folder with data/*.bvh, data/*.json "
                "and cfg/{content,style}_label.txt (the Bandai-Namco layout)"
            )
    contents = label_names(cfg / "content_label.txt")
    styles = label_names(cfg / "style_label.txt")
    out = []
    for bvh in sorted(data.glob("*.bvh")):
        meta = bvh.with_suffix(".json")
        try:
            label = json.loads(meta.read_text(encoding="utf-8"))
            content, style = contents[int(label["content"])], styles[int(label["style"])]
        except FileNotFoundError:
            raise FileNotFoundError(f"label file {meta} not found for {bvh.name}") from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError) as e:
            raise ValueError(
                f'label file {meta} must be {{"content": i, "style": j}} with valid '
                f"indices into cfg/*_label.txt, got an error: {e!r}"
            ) from None
        out.append(Clip(bvh, content, style))
    if not out:
        raise FileNotFoundError(f"no .bvh files in {data}")
    return out


def _frames_to_render(bvh: Path, max_frames: int | None = None) -> int:
    """Frames a render of `bvh` writes: its 'Frames:' count (read without the motion),
    at most `max_frames`."""
    with open(bvh, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"\s*Frames:\s*(\d+)", line)
            if m:
                n = int(m.group(1))
                return n if max_frames is None else min(n, max_frames)
    raise ValueError(f"{bvh}: no 'Frames:' line; is it a BVH file?")


def view_name(view_deg: float) -> str:
    """File-name tag of a camera yaw: 35 -> 'view35', -35 -> 'view-35', 22.5 -> 'view22.5'."""
    return f"view{view_deg:g}"


def plan_dataset(
    dataset: str | Path,
    out: str | Path,
    views: Sequence[float],
    styles: Sequence[str] = DEFAULT_STYLES,
    *,
    camera: VirtualCamera | None = None,
    max_frames: int | None = None,
) -> list[RenderJob]:
    """Every (clip, view) job for the chosen styles, in a stable order.

    Videos go to `<out>/videos/<Label>/<clip>_view<deg>.mp4`, Label the canonical emotion
    (STYLE_LABELS). `camera` gives the distance and other settings; its yaw is replaced by
    each view.
    """
    bad = [s for s in styles if s not in STYLE_LABELS]
    if bad:
        raise ValueError(f"`styles` must be among {sorted(STYLE_LABELS)}, got {bad}")
    for v in views:
        _check_view(v)
    base = camera or VirtualCamera()
    jobs = []
    for clip in readlabel_names(dataset):
        if clip.style not in styles:
            continue
        n = _frames_to_render(clip.path, max_frames)
        label = STYLE_LABELS[clip.style]
        for view in views:
            cam = replace(base, yaw_deg=float(view))
            stem = f"{clip.path.stem}_{view_name(view)}"
            sidecar = {
                "clip": clip.path.stem,
                "content": clip.content,
                "style": clip.style,
                "label": label,
                "view_deg": float(view),
                "distance_m": cam.distance_m,
                "frames": n,
                "renderer": RENDERER_VERSION,
                "camera": asdict(cam),
            }
            video = Path(out) / "videos" / label / f"{stem}.mp4"
            jobs.append(RenderJob(clip.path, video, cam, sidecar, max_frames))
    if not jobs:
        raise ValueError(f"no clips of styles {list(styles)} in {dataset}")
    return jobs


def run_job(
    job: RenderJob,
    body: BodyMap = BANDAI,
    look: Look | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Render one job: the video, then its sidecar (written last, atomically)."""
    n = render_bvh(
        job.bvh,
        job.video,
        job.camera,
        body=body,
        look=look,
        max_frames=job.max_frames,
        progress=progress,
    )
    if n != job.n_frames:
        raise RuntimeError(f"{job.bvh}: rendered {n} frames, its header says {job.n_frames}")
    write_text_atomic(job.sidecar_path, json.dumps(job.sidecar, indent=1) + "\n")
    return n


def render_jobs(
    jobs: Sequence[RenderJob], body: BodyMap = BANDAI, *, n_jobs: int = 1, progress: bool = False
) -> int:
    """Render the jobs not done yet (`RenderJob.is_done`); returns the frames rendered.

    `n_jobs` > 1 renders clips in parallel processes (joblib); `progress` shows a tqdm bar
    over frames on stderr.
    """
    from tqdm import tqdm

    todo = [j for j in jobs if not j.is_done()]
    total = sum(j.n_frames for j in todo)
    with tqdm(total=total, unit="frame", desc="render", disable=not progress or not todo) as bar:
        if n_jobs == 1 or len(todo) <= 1:
            for job in todo:
                run_job(job, body, progress=bar.update)
        else:
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            for n in parallel(delayed(run_job)(job, body) for job in todo):
                bar.update(n)
    return total


def _check_view(view: float) -> float:
    if not -180.0 <= view <= 180.0:
        raise ValueError(f"`view` must be in [-180, 180] degrees, got {view:g}")
    return view


# --------------------------------------------------------------------------- CLI


class _UsageError(Exception):
    """A command-line error argparse found (reported in one line by `main`)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print usage and exit
        raise _UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m offline.render.renderer",
        description="Render BVH motion capture as video of a mannequin (one clip, or a "
        "labelled BVH dataset into a folder of labelled videos).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("bvh", nargs="?", type=Path, help="one BVH clip to render")
    p.add_argument("video", nargs="?", type=Path, help="the .mp4 to write for that clip")
    p.add_argument(
        "--view",
        type=float,
        default=0.0,
        help="camera yaw around the subject from their mean facing, degrees "
        "(0 front, 90 their left, -90 their right)",
    )
    p.add_argument("--distance", type=float, default=3.0, help="camera distance from the hips, m")
    p.add_argument(
        "--dataset",
        type=Path,
        help="render a labelled dataset (Bandai-Namco layout: data/*.bvh + "
        "data/*.json, cfg/*_label.txt) instead of one clip",
    )
    p.add_argument("--out", type=Path, help="dataset output folder (videos/<Label>/*.mp4)")
    p.add_argument(
        "--views",
        type=float,
        nargs="+",
        default=list(DEFAULT_VIEWS),
        help="dataset camera yaws, degrees",
    )
    p.add_argument(
        "--styles",
        nargs="+",
        default=list(DEFAULT_STYLES),
        choices=list(STYLE_LABELS),
        help="dataset styles to render",
    )
    p.add_argument("--jobs", type=int, default=1, help="dataset clips rendered in parallel")
    p.add_argument(
        "--max-frames",
        type=int,
        default=None,
        help="render only the first N frames of each clip (None: all)",
    )
    p.add_argument(
        "--joint-map",
        type=Path,
        default=None,
        help="JSON of body role -> joint name for a non-Bandai skeleton",
    )
    p.add_argument(
        "--unit-m", type=float, default=0.01, help="metres per BVH unit (0.01 for centimetres)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code (2 on bad input, with one line on stderr)."""
    try:
        args = build_parser().parse_args(argv)
        return _run(args)
    except _UsageError as e:
        print(f"error: {e} (see python -m offline.render.renderer --help)", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, RuntimeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    if args.max_frames is not None and args.max_frames < 1:
        raise ValueError(f"--max-frames must be >= 1, got {args.max_frames}")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    body = BANDAI if args.joint_map is None else BodyMap.from_json(args.joint_map)
    camera = VirtualCamera(yaw_deg=_check_view(args.view), distance_m=args.distance)
    if args.dataset is None:
        if args.bvh is None or args.video is None:
            raise _UsageError("give a BVH clip and an output .mp4, or --dataset DIR --out DIR")
        if not args.bvh.is_file():
            raise FileNotFoundError(f"BVH file not found: {args.bvh}")
        if args.video.suffix.lower() != ".mp4":
            raise ValueError(f"output video must end in .mp4, got {args.video.name}")
        total = _frames_to_render(args.bvh, args.max_frames)
        with tqdm(total=total, unit="frame", disable=args.no_progress) as bar:
            n = render_bvh(
                args.bvh,
                args.video,
                camera,
                body=body,
                unit_m=args.unit_m,
                max_frames=args.max_frames,
                progress=bar.update,
            )
        print(f"wrote {args.video} ({n} frames, view {args.view:g} deg)")
        return 0
    if args.bvh is not None or args.out is None:
        raise _UsageError("--dataset takes --out DIR and no positional BVH/video")
    jobs = plan_dataset(
        args.dataset, args.out, args.views, args.styles, camera=camera, max_frames=args.max_frames
    )
    todo = [j for j in jobs if not j.is_done()]
    print(
        f"{len(jobs)} videos, {len(jobs) - len(todo)} already rendered, {len(todo)} to render "
        f"({sum(j.n_frames for j in todo)} frames) -> {args.out / 'videos'}"
    )
    render_jobs(todo, body, n_jobs=args.jobs, progress=not args.no_progress)
    print(f"done: {len(jobs)} videos in {args.out / 'videos'}")
    return 0


if __name__ == "__main__":
    from offline.render.renderer import (
        main as _main,  # run the importable module (joblib pickles it)
    )

    raise SystemExit(_main())
