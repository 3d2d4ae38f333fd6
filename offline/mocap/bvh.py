"""BVH motion-capture files: parser and forward kinematics in numpy.

The hierarchy may give each joint any number and order of channels (positions and
rotations, as its CHANNELS line declares). Rotations are Euler angles in degrees applied
in the declared order (intrinsic, so R = R_first @ R_second @ R_third), the common BVH
convention. Positions are converted from the file's unit (centimetres by default) to
metres. End Sites are kept as joints with no channels so that callers can use them.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from pipeline.io import check_regular_file, open_regular, read_bytes

FloatArr = npt.NDArray[np.float64]

# Metres per file unit unless told otherwise: centimetres, as in the Bandai-Namco files.
DEFAULT_UNIT_M: Final[float] = 0.01
# Seconds between frames a clip may declare: 10 000 to 0.1 frames per second.
FRAME_TIME_S: Final[tuple[float, float]] = (1e-4, 10.0)
# Farthest a joint may be from the origin, metres: a capture volume is tens of metres; a
# clip beyond (values that would overflow float32 later) is no data, like NaN.
MAX_POSITION_M: Final[float] = 1e4

_CHANNEL_NAMES = ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")


class BVHError(ValueError):
    """A BVH file that cannot be read; the message names the file and the problem."""


class BVHNotFinite(BVHError):
    """A well-formed BVH file whose motion holds NaN or infinite values (or values so
    large that a joint lies beyond `MAX_POSITION_M`): no data, to be skipped and reported."""


@dataclass(frozen=True)
class Motion:
    """A BVH clip after forward kinematics, in the file's axes (metres).

    Attributes:
        names: joint names in file order; End Sites are named `<parent>_End`.
        parents: (J,) index of each joint's parent, -1 for the root.
        offsets: (J, 3) rest offsets from the parent, metres.
        positions: (F, J, 3) global joint positions, metres.
        rotations: (F, J, 3, 3) global joint orientation matrices (local → file axes).
        frame_time_s: seconds between frames.
    """

    names: tuple[str, ...]
    parents: npt.NDArray[np.int64]
    offsets: FloatArr
    positions: FloatArr
    rotations: FloatArr
    frame_time_s: float

    @property
    def n_frames(self) -> int:
        return int(self.positions.shape[0])

    @property
    def t_s(self) -> FloatArr:
        """(F,) timestamps in seconds, starting at 0."""
        return np.arange(self.n_frames) * self.frame_time_s

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"joint {name!r} not in BVH (has: {', '.join(self.names)})") from None


@dataclass(frozen=True)
class _Joint:
    name: str
    parent: int
    offset: tuple[float, float, float]
    channels: tuple[str, ...]


def read_bvh(path: str | Path, *, unit_m: float = DEFAULT_UNIT_M) -> Motion:
    """Read a BVH file and run forward kinematics.

    Args:
        path: the .bvh file.
        unit_m: metres per file unit (0.01 for centimetres).

    Raises:
        FileNotFoundError: no such file.
        NotAFileError: a folder, FIFO or device (never opened for reading: no hang).
        BVHNotFinite: NaN or infinite values in the motion or the joint positions, or a
            joint farther than `MAX_POSITION_M` from the origin.
        BVHError: the file is malformed (the message says where and how).
    """
    path = Path(path)
    raw = read_bytes(path, "BVH file")
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")  # a BOM is no token
    try:
        joints, frame_time, data = _parse(text)
    except BVHError as e:
        raise type(e)(f"{path}: {e}") from None
    with np.errstate(over="ignore", invalid="ignore"):
        motion = _forward_kinematics(joints, frame_time, data, unit_m)
        far = ~(np.abs(motion.positions) <= MAX_POSITION_M).all(axis=(1, 2))  # NaN too
    nonfinite = ~np.isfinite(data).all(axis=1) | ~np.isfinite(motion.positions).all(axis=(1, 2))
    bad = nonfinite | far
    if bad.any():
        what = "NaN or infinite values"
        if (far & ~nonfinite).any():
            what = f"NaN, infinite or too large values (a joint beyond {MAX_POSITION_M:g} m)"
        raise BVHNotFinite(
            f"{path}: {what} in {int(bad.sum())} of {len(bad)} frames "
            f"(the first is frame {int(np.argmax(bad))})"
        )
    return motion


def frame_count(path: str | Path) -> int:
    """The 'Frames:' count of a BVH file, read from its header without the motion."""
    return int(_header_value(path, r"\s*Frames:\s*(\d+)", "Frames:"))


def frame_time_s(path: str | Path) -> float:
    """The 'Frame Time:' of a BVH file (seconds), read from its header without the motion."""
    value = float(_header_value(path, r"\s*Frame Time:\s*(\S+)", "Frame Time:"))
    if not FRAME_TIME_S[0] <= value <= FRAME_TIME_S[1]:
        raise ValueError(f"{path}: Frame Time {value} s is outside {FRAME_TIME_S} s")
    return value


def _header_value(path: str | Path, pattern: str, what: str) -> str:
    with io.TextIOWrapper(open_regular(path, "BVH file"), "utf-8-sig", errors="replace") as f:
        for line in f:
            m = re.match(pattern, line)
            if m:
                return m.group(1)
    raise ValueError(f"{path}: no '{what}' line; is it a BVH file?")


def clip_files(folder: str | Path) -> list[Path]:
    """The `*.bvh` files of a folder, sorted by name. Anything else named `*.bvh` (a
    folder, FIFO, device, broken link) is refused, named, before any is opened: a FIFO
    would block its reader forever.

    Raises:
        FileNotFoundError, NotAFileError: naming the entry.
    """
    found = sorted(Path(folder).glob("*.bvh"))
    for path in found:
        check_regular_file(path, "BVH clip")
    return found


def _parse(text: str) -> tuple[list[_Joint], float, FloatArr]:
    head, sep, motion = text.partition("MOTION")
    if not sep:
        raise BVHError("no MOTION section")
    tokens = head.split()
    if not tokens or tokens[0] != "HIERARCHY":
        raise BVHError("does not start with HIERARCHY")
    joints: list[_Joint] = []
    stack: list[int] = []
    pending: tuple[str, int] | None = None
    offset: tuple[float, float, float] | None = None
    i = 1
    try:
        while i < len(tokens):
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                pending = (tokens[i + 1], stack[-1] if stack else -1)
                i += 2
            elif tok == "End":
                parent = stack[-1]
                pending = (f"{joints[parent].name}_End", parent)
                i += 2
            elif tok == "{":
                if pending is None:
                    raise BVHError("'{' without a joint")
                stack.append(len(joints))
                joints.append(_Joint(pending[0], pending[1], (0.0, 0.0, 0.0), ()))
                pending = None
                i += 1
            elif tok == "}":
                stack.pop()
                i += 1
            elif tok == "OFFSET":
                offset = (float(tokens[i + 1]), float(tokens[i + 2]), float(tokens[i + 3]))
                j = joints[stack[-1]]
                joints[stack[-1]] = _Joint(j.name, j.parent, offset, j.channels)
                i += 4
            elif tok == "CHANNELS":
                n = int(tokens[i + 1])
                channels = tuple(tokens[i + 2 : i + 2 + n])
                bad = [c for c in channels if c not in _CHANNEL_NAMES]
                if len(channels) != n or bad:
                    raise BVHError(f"joint {joints[stack[-1]].name}: bad CHANNELS {channels}")
                j = joints[stack[-1]]
                joints[stack[-1]] = _Joint(j.name, j.parent, j.offset, channels)
                i += 2 + n
            else:
                raise BVHError(f"unexpected token {tok!r} in HIERARCHY")
    except (IndexError, ValueError) as e:
        if isinstance(e, BVHError):
            raise
        raise BVHError(f"malformed HIERARCHY near token {i}: {e}") from None
    if stack or not joints:
        raise BVHError("unbalanced braces in HIERARCHY")

    frames_m = re.search(r"Frames:\s*(\d+)", motion)
    time_m = re.search(r"Frame Time:[ \t]*(\S*)", motion)
    if not frames_m or not time_m:
        raise BVHError("MOTION section lacks 'Frames:' or 'Frame Time:'")
    n_frames = int(frames_m.group(1))
    try:
        frame_time = float(time_m.group(1))
    except ValueError:
        frame_time = float("nan")
    low, high = FRAME_TIME_S
    if not low <= frame_time <= high:  # also NaN
        raise BVHError(
            f"'Frame Time: {time_m.group(1)}' must be {low:g} to {high:g} seconds between "
            f"frames ({1 / high:g} to {1 / low:g} frames per second); fix the file's header"
        )
    body = motion[time_m.end() :].split("\n")
    rows = [line.split() for line in body if line.strip()]
    n_channels = sum(len(j.channels) for j in joints)
    bad_rows = [k for k, r in enumerate(rows) if len(r) != n_channels]
    if bad_rows:
        k = bad_rows[0]
        raise BVHError(
            f"MOTION frame {k} has {len(rows[k])} values, but the HIERARCHY declares "
            f"{n_channels} channels"
        )
    if len(rows) < n_frames:
        raise BVHError(f"MOTION is truncated: 'Frames: {n_frames}' but {len(rows)} rows")
    try:
        data = np.asarray(rows[:n_frames], dtype=np.float64).reshape(n_frames, n_channels)
    except ValueError as e:
        raise BVHError(f"non-numeric value in MOTION: {e}") from None
    if n_frames == 0:
        raise BVHError("MOTION has 0 frames")
    return joints, frame_time, data


def _axis_rotation(axis: str, deg: FloatArr) -> FloatArr:
    """(F,) degrees → (F, 3, 3) rotation matrices about one axis."""
    r = np.deg2rad(deg)
    c, s = np.cos(r), np.sin(r)
    o, z = np.ones_like(r), np.zeros_like(r)
    if axis == "X":
        m = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == "Y":
        m = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        m = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.moveaxis(np.array(m), (0, 1), (-2, -1))


def _forward_kinematics(
    joints: list[_Joint], frame_time: float, data: FloatArr, unit_m: float
) -> Motion:
    n_frames, n_joints = data.shape[0], len(joints)
    positions = np.zeros((n_frames, n_joints, 3))
    rotations = np.zeros((n_frames, n_joints, 3, 3))
    offsets = np.array([j.offset for j in joints]) * unit_m
    col = 0
    for k, joint in enumerate(joints):
        local_t = np.broadcast_to(offsets[k], (n_frames, 3)).copy()
        local_r = np.broadcast_to(np.eye(3), (n_frames, 3, 3)).copy()
        has_pos = False
        for ch in joint.channels:
            values = data[:, col]
            col += 1
            if ch.endswith("position"):
                if not has_pos:  # position channels replace the rest offset
                    local_t[:] = 0.0
                    has_pos = True
                local_t[:, "XYZ".index(ch[0])] = values * unit_m
            else:
                local_r = local_r @ _axis_rotation(ch[0], values)
        if joint.parent < 0:
            positions[:, k] = local_t
            rotations[:, k] = local_r
        else:
            parent_r = rotations[:, joint.parent]
            positions[:, k] = positions[:, joint.parent] + np.einsum(
                "fij,fj->fi", parent_r, local_t
            )
            rotations[:, k] = parent_r @ local_r
    return Motion(
        names=tuple(j.name for j in joints),
        parents=np.array([j.parent for j in joints], dtype=np.int64),
        offsets=offsets,
        positions=positions,
        rotations=rotations,
        frame_time_s=frame_time,
    )
