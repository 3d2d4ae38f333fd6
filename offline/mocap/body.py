"""Which joint of a BVH skeleton is which body part, and the shared joints read through it.

One mapping for training and rendering: `BodyMap` names the BVH joint of every body part
(defaults: the Bandai-Namco skeleton, `BANDAI`) and the head's axes; `from_bvh` reads the
13 joints of `pipeline.skeleton.JOINTS` from a clip through it. Another skeleton is used
with a JSON joint map (`BodyMap.from_json`, the `--joint-map map.json` option), e.g.

    {"hips": "mixamorig:Hips", "head": "mixamorig:Head",
     "head_up": [0, 1, 0], "head_forward": [0, 0, 1]}

(any keys among the `BodyMap` fields; the others keep their Bandai-Namco defaults, except
the toes: see `BodyMap.from_json`). A skeleton without toe joints maps `l_toes`/`r_toes` to
null (None): the renderer then places the ball of the foot from the ankle's rotation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from offline.mocap.bvh import Motion
from pipeline import skeleton as sk
from pipeline.io import read_json

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BodyMap:
    """Which BVH joint drives each body part; defaults are the Bandai-Namco names.

    Attributes:
        hips, spine, chest, neck, head: the spine chain, pelvis to head.
        l_clavicle, l_shoulder, l_elbow, l_wrist: the left arm (`r_*` the right one);
            the clavicle joint is the start of the shoulder girdle.
        l_hip, l_knee, l_ankle, l_toes: the left leg (`r_*` the right one); the toes
            joint is the ball of the foot, None for a skeleton without one (the renderer
            then places it from the ankle's rotation, `offline.render.body.synthetic_foot`).
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
    l_toes: str | None = "Toes_L"
    r_hip: str = "UpperLeg_R"
    r_knee: str = "LowerLeg_R"
    r_ankle: str = "Foot_R"
    r_toes: str | None = "Toes_R"
    head_up: tuple[float, float, float] = (1.0, 0.0, 0.0)
    head_forward: tuple[float, float, float] = (0.0, 1.0, 0.0)
    hand_thickness_axis: tuple[float, float, float] = (0.0, 1.0, 0.0)

    def __post_init__(self) -> None:
        for role in _JOINT_ROLES:
            name = getattr(self, role)
            if name is None and role in TOE_ROLES:
                continue
            if not (isinstance(name, str) and name):
                none = " or None (no toe joint)" if role in TOE_ROLES else ""
                raise ValueError(f"`{role}` must be a joint name{none}, got {name!r}")
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
        """Role -> BVH joint name, for every role the skeleton has a joint for (a toe role
        set to None is left out)."""
        return {r: getattr(self, r) for r in _JOINT_ROLES if getattr(self, r) is not None}

    @classmethod
    def from_json(cls, path: str | Path) -> BodyMap:
        """Read a JSON object of role -> joint name (and optional axes) over the defaults.

        A toe role may be null: the skeleton has no toe joint there. A toe role the JSON
        leaves out keeps its Bandai-Namco name only if that side's ankle is Bandai-Namco's
        too (Toes_L is the joint below Foot_L); below another ankle it is None.
        """
        path = Path(path)
        data = read_json(path, "joint map")
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) - known:
            unknown = sorted(set(data) - known) if isinstance(data, dict) else type(data).__name__
            raise ValueError(
                f"joint map {path} must be an object with keys among {sorted(known)}, got {unknown}"
            )
        values: dict[str, Any] = {k: _map_value(path, k, v) for k, v in data.items()}
        for toes in TOE_ROLES:  # Toes_L is the joint below Foot_L, not below another ankle
            ankle = toes.replace("toes", "ankle")
            bandai_ankle = getattr(BANDAI, ankle)
            if toes not in values and values.get(ankle, bandai_ankle) != bandai_ankle:
                values[toes] = None
        try:
            return cls(**values)
        except ValueError as e:
            raise ValueError(f"joint map {path}: {e}") from None

    def check(self, motion: Motion, roles: Iterable[str] | None = None) -> None:
        """Raise ValueError naming every role (default: all) whose joint the clip lacks
        (a toe role set to None needs none)."""
        names = self.joint_names
        missing = [
            role
            for role in (names if roles is None else roles)
            if role in names and names[role] not in motion.names
        ]
        if missing:
            listed = ", ".join(f"{role}={names[role]}" for role in missing)
            toes = set(missing) & set(TOE_ROLES)
            hint = " (l_toes/r_toes may be null: no toe joint)" if toes else ""
            raise ValueError(
                f"BVH lacks joints the body map needs: {listed}; pass a joint "
                f"map (--joint-map) naming this skeleton's joints{hint} (has: "
                f"{', '.join(motion.names)})"
            )

    def head_basis(self) -> F64:
        """3x3 matrix whose columns are the head's up, forward and left in its local axes."""
        up = np.asarray(self.head_up, float)
        fwd = np.asarray(self.head_forward, float)
        return np.stack([up, fwd, np.cross(up, fwd)], axis=1)


def _map_value(path: Path, key: str, value: object) -> object:
    """A joint map's value checked for its key's type: a joint name (a string; null for a
    toe role) or an axis (a list of 3 numbers). ValueError naming the file and key."""
    if key in _JOINT_ROLES:
        if isinstance(value, str) or (value is None and key in TOE_ROLES):
            return value
        want = "a joint name (a string" + (", or null: no toe joint)" if key in TOE_ROLES else ")")
    else:
        items = value if isinstance(value, list) else []
        if len(items) == 3 and all(_is_number(x) for x in items):
            return tuple(float(x) for x in items)
        want = "a list of 3 numbers (an axis, e.g. [0, 1, 0])"
    shown = json.dumps(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    raise ValueError(f"joint map {path}: `{key}` must be {want}, got {shown}")


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


# The roles that name a joint (the other fields are axes); the toe roles may be None.
_JOINT_ROLES: Final[tuple[str, ...]] = tuple(
    f.name for f in fields(BodyMap) if f.type in ("str", "str | None")
)
TOE_ROLES: Final[tuple[str, str]] = ("l_toes", "r_toes")
BANDAI: Final[BodyMap] = BodyMap()

# Where each shared joint (`pipeline.skeleton.JOINTS`, in that order) sits on a skeleton:
# a body role and an offset in that role's joint axes, metres. Offsets are given in the
# Bandai-Namco head axes (x up the neck, y forward): the nose sits about 7 cm above and
# 9 cm in front of the Head joint; `from_bvh` turns them into the map's head axes.
JOINT_SOURCES: Final[dict[str, tuple[str, tuple[float, float, float]]]] = {
    "nose": ("head", (0.07, 0.09, 0.0)),
    **{name: (name, (0.0, 0.0, 0.0)) for name in sk.JOINTS[1:]},
}
_SHARED_ROLES: Final[tuple[str, ...]] = tuple(role for role, _ in JOINT_SOURCES.values())


def from_bvh(motion: Motion, body: BodyMap = BANDAI) -> F32:
    """(F, 13, 3) shared joints of a clip, metres, in the file's axes (y up).

    The one reading of a mocap skeleton: training (`offline.datasets.mocap`) and the
    renderer's camera (`offline.render`) both use it. The nose offset is turned into
    `body`'s head axes (the identity for Bandai-Namco).
    """
    body.check(motion, _SHARED_ROLES)
    names = body.joint_names
    head_basis = body.head_basis()  # Bandai head axes -> this skeleton's head axes
    idx, offsets = [], []
    for role, bandai_offset in JOINT_SOURCES.values():
        idx.append(motion.index(names[role]))
        offset = np.asarray(bandai_offset)
        offsets.append(head_basis @ offset if role == "head" else offset)
    points = motion.positions[:, idx] + np.einsum(
        "fjab,jb->fja", motion.rotations[:, idx], np.array(offsets)
    )
    shared: F32 = points.astype(np.float32)
    return shared
