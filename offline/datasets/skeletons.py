"""Skeleton files: a folder of `.npz` files, one labelled 3D movement each.

For 3D skeletons from any source (another motion-capture format, a depth camera, a pose
model) converted once with numpy. Layout: `<root>/*.npz` (not searched recursively), each
written with `np.savez` and holding

- `positions`: (frames, joints, 3) numbers, y up, in ANY length unit (metres, centimetres,
  inches...); NaN marks a joint not seen in a frame (±inf is refused).
- `joints`: (joints,) strings naming the columns of `positions`, either the 13 shared
  joints of `pipeline.skeleton.JOINTS` (nose, l_shoulder, r_shoulder, l_elbow, r_elbow,
  l_wrist, r_wrist, l_hip, r_hip, l_knee, r_knee, l_ankle, r_ankle) or MediaPipe
  PoseLandmarker's 33 landmark names (`MEDIAPIPE_LANDMARKS`: nose, left_shoulder, ...,
  right_foot_index), any case. Other names (extra joints) are ignored; all 13 shared joints
  must be present.
- `fps` (a number, frames per second; frames start at 0 s) or `t_s` ((frames,) strictly
  increasing seconds), not both.
- `label`: the emotion, a string: a name of `offline.labels.EMOTIONS` or an accepted
  spelling (`happy`, `angry`, `normal`, ...; see `offline.labels.LABEL_ALIASES`).
- `group` (optional): a string the evaluation groups by, e.g. the actor, so that one
  actor's movements never fall on both sides of a split; default the file's stem.

Example (a 3 s movement of 13 joints in metres; a file in centimetres is read the same):

    import numpy as np
    from pipeline.skeleton import JOINTS  # or MediaPipe's 33 landmark names
    rest = np.array([[0, 1.6, .1], [.18, 1.4, 0], [-.18, 1.4, 0], [.2, 1.1, 0], [-.2, 1.1, 0],
                     [.2, .85, 0], [-.2, .85, 0], [.1, .95, 0], [-.1, .95, 0], [.1, .5, 0],
                     [-.1, .5, 0], [.1, .08, 0], [-.1, .08, 0]])  # facing +z, left at +x
    t = np.arange(90) / 30.0  # 3 s at 30 fps
    positions = np.repeat(rest[None], 90, 0); positions[:, 5, 1] += 0.3 * np.sin(2 * np.pi * t)
    positions[40:45, 6] = np.nan  # the right wrist not seen in 5 frames
    np.savez("skeletons/actor1_take1.npz", positions=positions, joints=np.array(JOINTS),
             fps=30.0, label="happy", group="actor1")

Files are read with `np.load(allow_pickle=False)`: no code in a data file is ever run
(object arrays are refused, so save names with `np.array(names)`, not lists of objects).
A file that breaks the layout stops the read with one `ValueError` line naming it and
what to fix; files with no usable movement (no frames, a single frame, every value NaN, a
shared joint never seen in any frame) are skipped and reported by name and reason.

Each file becomes one `Movement` (source "mocap") per virtual camera view, exactly as
motion capture does (`view_movements`, `MocapOptions.views_deg`, jitter): `world` is
`positions` as float32 in the file's own unit (the 3D features are scale-free: they
retarget every bone to a standard length), `image` the joints seen by the virtual
camera, `visibility` 1 where a joint is given and 0 where it is NaN. So that the camera
frames every body alike whatever the unit and origin, it sees the skeleton scaled to a
standard torso (`REFERENCE_TORSO_M`, mid-hip to mid-shoulder, median over frames) and
standing on a floor set from its lowest ankle. Groups: {"group": ..., "clip": <stem>,
"view_deg": ...}. Of `MocapOptions`, `views_deg`, `distance_m`, the two jitters (world
jitter in metres of the standard body) and `seed` apply; `styles`, `body` and `unit_m`
are for BVH files and are ignored (filter labels with the registry's `labels`).
"""

from __future__ import annotations

import math
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from offline.datasets.mocap import MocapOptions
from offline.datasets.movement import Movement
from offline.datasets.views import view_movements
from offline.keypoints.report import shorten
from offline.labels import EMOTIONS, LABEL_ALIASES, canonical_label
from pipeline import skeleton as sk
from pipeline.reading import npz_member_shape
from pipeline.validate import FRAME_NUMBERS, FRAMES_PER_SECOND

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
AnyArr = npt.NDArray[Any]
Fail = Callable[[str], ValueError]  # problem -> the error naming the file

# MediaPipe PoseLandmarker's landmarks, in landmark-index order.
MEDIAPIPE_LANDMARKS: Final[tuple[str, ...]] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb",
    "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip
# Joint name (lower case, either convention) -> index into `pipeline.skeleton.JOINTS`.
JOINT_NAMES: Final[dict[str, int]] = {
    **{MEDIAPIPE_LANDMARKS[int(m)]: j for j, m in enumerate(sk.MEDIAPIPE_INDEX)},
    **{name: j for j, name in enumerate(sk.JOINTS)},
}

# The standard body the virtual camera sees (median over the Bandai-Namco actors):
# mid-hip to mid-shoulder, metres, and ankle joint height above the floor, torso lengths.
REFERENCE_TORSO_M: Final[float] = 0.39
ANKLE_HEIGHT_TORSOS: Final[float] = 0.30
FLOOR_PERCENTILE: Final[float] = 5.0  # the floor: this percentile of the lower ankle's height

MAX_VALUES: Final[int] = 10**9  # numbers in one array of a skeleton file (8 GB as float64)
_REQUIRED = ("positions", "joints", "label")
_OPTIONAL = ("fps", "t_s", "group")


class UnusableSkeleton(ValueError):
    """A well-formed skeleton file with no usable movement (skipped, not an error)."""


@dataclass(frozen=True)
class SkeletonFile:
    """One skeleton file, validated.

    Attributes:
        path: the file.
        world: (N, 13, 3) shared joints, float32, the file's unit, y up, NaN where unseen.
        t_s: (N,) strictly increasing seconds.
        label: the canonical emotion label.
        group: the evaluation group and person (the file's `group`, e.g. the actor, or
            its stem: a file that names nobody is a person of its own).
        units_per_m: file units per metre of the standard body (from the median torso).
        floor_y: height of the floor in file units (from the lowest ankle).
    """

    path: Path
    world: F32
    t_s: F64
    label: str
    group: str
    units_per_m: float
    floor_y: float

    def movements(self, options: MocapOptions, rng: np.random.Generator) -> list[Movement]:
        """This file seen from each of `options.views_deg`."""
        stem = self.path.stem
        return view_movements(
            self.world, self.t_s, self.label,
            {"group": self.group, "person": self.group, "clip": stem}, stem,
            options, rng, units_per_m=self.units_per_m, floor_y=self.floor_y,
        )  # fmt: skip


def is_skeleton_folder(path: str | Path) -> bool:
    """True for a folder holding `*.npz` files and no `data/*.bvh` (motion capture)."""
    path = Path(path)
    if not path.is_dir() or any((path / "data").glob("*.bvh")):
        return False
    return any(p.is_file() for p in path.glob("*.npz"))


def read_skeletons(
    root: str | Path,
    options: MocapOptions | None = None,
    *,
    skipped: dict[str, str] | None = None,
) -> list[Movement]:
    """Read a folder of skeleton files into movements (one per file and view).

    Args:
        root: the folder holding the `*.npz` files.
        options: views and jitter (`MocapOptions`; BVH-only fields are ignored).
        skipped: filled with file name -> why it gave no movement; None to have the
            skipped files reported in one `UserWarning`.

    Raises:
        FileNotFoundError: `root` is not a folder.
        ValueError: no `.npz` files, a file that breaks the layout (one line naming the
            file and the fix), or no file with a usable movement.
    """
    options = options or MocapOptions()
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"skeleton folder not found: {root}")
    paths = sorted(p for p in root.glob("*.npz") if p.is_file())
    if not paths:
        raise ValueError(f"no .npz skeleton files in {root} (see offline/datasets/skeletons.py)")
    report: dict[str, str] = {} if skipped is None else skipped
    files = []
    for path in paths:  # every file is checked before any is projected
        try:
            files.append(load_skeleton(path))
        except UnusableSkeleton as e:
            report[path.name] = str(e)
    if not files:
        raise ValueError(f"no usable movement in {root}: {skipped_line(report)}")
    if skipped is None and report:
        warnings.warn(skipped_line(report), stacklevel=2)
    rng = np.random.default_rng(options.seed)
    movements = []
    for file in files:
        movements.extend(file.movements(options, rng))
    return movements


def skipped_line(skipped: Mapping[str, str]) -> str:
    """'2 skeleton files skipped: a.npz (why), b.npz (why)' (long lists shortened)."""
    items = [f"{name} ({why})" for name, why in skipped.items()]
    return f"{len(items)} skeleton files skipped: {shorten(items)}"


def load_skeleton(path: str | Path) -> SkeletonFile:
    """Read and check one skeleton file.

    Raises:
        UnusableSkeleton: a well-formed file with no usable movement (the reason, without
            the file name: the reader reports it by name).
        ValueError: the file breaks the layout; one line naming the file and the fix.
    """
    path = Path(path)
    arrays = _load_arrays(path)

    def fail(problem: str) -> ValueError:
        return ValueError(f"skeleton file {path}: {problem}")

    positions = arrays["positions"]
    if positions.ndim != 3 or positions.shape[2] != 3 or positions.dtype.kind not in "fiu":
        raise fail(
            f"`positions` must be a (frames, joints, 3) float array, got shape "
            f"{positions.shape} of {positions.dtype}"
        )
    names = _strings(arrays["joints"], "joints", fail)
    if len(names) != positions.shape[1]:
        raise fail(
            f"`joints` names {len(names)} joints but `positions` has {positions.shape[1]}; "
            "give one name per column"
        )
    columns = _shared_columns(names, fail)
    values = positions.astype(np.float64)
    if np.isinf(values).any():
        frames, cols = np.nonzero(np.isinf(values).any(axis=-1))
        where = sorted({names[c] for c in cols})
        raise fail(
            f"`positions` holds ±inf (joints {', '.join(where)}, frames "
            f"{shorten([str(f) for f in np.unique(frames)], 5)}); mark unseen joints with NaN"
        )
    with np.errstate(over="ignore"):
        world = values[:, columns].astype(np.float32)
    if np.isinf(world).any():
        raise fail("`positions` has values too large for float32; use a smaller unit")
    t_s = _timestamps(arrays, world.shape[0], fail)
    label = _label(_string(arrays["label"], "label", fail), fail)
    group = _string(arrays["group"], "group", fail) if "group" in arrays else path.stem
    if not group:
        raise fail("`group` is empty; give a name such as the actor's, or leave it out")
    n = world.shape[0]
    seen = np.isfinite(world).all(axis=-1)  # (N, 13)
    if n == 0:
        raise UnusableSkeleton("no frames")
    if n == 1:
        raise UnusableSkeleton("a single frame; a movement needs at least 2")
    if not seen.any():
        raise UnusableSkeleton("every joint is NaN in every frame")
    if not seen.any(axis=0).all():
        never = [sk.JOINTS[j] for j in np.flatnonzero(~seen.any(axis=0))]
        raise UnusableSkeleton(f"joints never seen: {', '.join(never)}")
    torso = np.linalg.norm(sk.mid_shoulder(world) - sk.mid_hip(world), axis=-1)
    torso = torso[np.isfinite(torso)]
    if torso.size == 0:
        raise UnusableSkeleton("no frame shows both shoulders and both hips")
    torso_units = float(np.median(torso))
    if not torso_units > 0:
        raise UnusableSkeleton("shoulders and hips coincide (zero torso length)")
    ankle = np.fmin(world[:, sk.L_ANKLE, 1], world[:, sk.R_ANKLE, 1])  # NaN only if both are
    lowest = float(np.percentile(ankle[np.isfinite(ankle)], FLOOR_PERCENTILE))
    return SkeletonFile(
        path=path,
        world=world,
        t_s=t_s,
        label=label,
        group=group,
        units_per_m=torso_units / REFERENCE_TORSO_M,
        floor_y=lowest - ANKLE_HEIGHT_TORSOS * torso_units,
    )


def _load_arrays(path: Path) -> dict[str, AnyArr]:
    """The layout's arrays of an .npz file, loaded without pickle."""

    def fail(problem: str) -> ValueError:
        return ValueError(f"skeleton file {path}: {problem}")

    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as e:  # a pickle, which is never loaded
        raise fail(f"not an .npz archive ({e}); write it with np.savez") from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise fail(f"cannot be read as .npz ({type(e).__name__}: {e}); rewrite it") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise fail("is a single .npy array, not an .npz archive; write it with np.savez")
    with data:
        keys = set(data.files)
        missing = [k for k in _REQUIRED if k not in keys]
        if missing:
            raise fail(
                f"missing {', '.join(f'`{k}`' for k in missing)} (has "
                f"{', '.join(sorted(keys)) or 'nothing'}); see offline/datasets/skeletons.py"
            )
        arrays = {}
        for key in (*_REQUIRED, *_OPTIONAL):
            if key not in keys:
                continue
            _check_declared_size(data, key, fail)  # before numpy allocates it
            try:
                arrays[key] = data[key]
            except ValueError:  # allow_pickle=False refuses object arrays
                raise fail(
                    f"`{key}` is an object array (pickled Python objects, never loaded); "
                    "save numbers as a float array and names as np.array(names)"
                ) from None
            except (OSError, EOFError, zipfile.BadZipFile) as e:
                raise fail(
                    f"`{key}` cannot be read ({type(e).__name__}: {e}); rewrite it"
                ) from None
    return arrays


def _check_declared_size(data: np.lib.npyio.NpzFile, key: str, fail: Fail) -> None:
    """Refuse an array declaring more than `FRAME_NUMBERS`' frames or `MAX_VALUES` values,
    from its header alone (numpy would try to allocate what a crafted header declares)."""
    try:
        shape = npz_member_shape(data, key)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise fail(f"`{key}` cannot be read ({type(e).__name__}: {e}); rewrite it") from None
    if (shape[0] if shape else 1) > FRAME_NUMBERS[1] or math.prod(shape) > MAX_VALUES:
        raise fail(f"`{key}` declares shape {shape}: more than {FRAME_NUMBERS[1]} frames or "
                   f"{MAX_VALUES} values; is the file damaged?")  # fmt: skip


def _strings(value: AnyArr, key: str, fail: Fail) -> list[str]:
    if value.dtype.kind not in "US" or value.ndim != 1:
        raise fail(
            f"`{key}` must be a 1-D string array (np.array(names)), got shape "
            f"{value.shape} of {value.dtype}"
        )
    return [_decode(v) for v in value.tolist()]


def _string(value: AnyArr, key: str, fail: Fail) -> str:
    if value.dtype.kind not in "US" or value.size != 1 or value.ndim > 1:
        raise fail(f"`{key}` must be one string, got shape {value.shape} of {value.dtype}")
    return _decode(value.reshape(()).item())


def _decode(value: str | bytes) -> str:
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else value).strip()


def _shared_columns(names: list[str], fail: Fail) -> list[int]:
    """The column of each shared joint (extra names ignored)."""
    columns: dict[int, int] = {}
    for col, name in enumerate(names):
        joint = JOINT_NAMES.get(name.lower())
        if joint is None:
            continue
        if joint in columns:
            first = names[columns[joint]]
            raise fail(
                f"joint {sk.JOINTS[joint]} is given twice ({first!r} and {name!r}); "
                "keep one column per joint"
            )
        columns[joint] = col
    missing = [sk.JOINTS[j] for j in range(sk.N_JOINTS) if j not in columns]
    if missing:
        mp = [MEDIAPIPE_LANDMARKS[int(sk.MEDIAPIPE_INDEX[sk.JOINTS.index(j)])] for j in missing]
        raise fail(
            f"missing joints {', '.join(missing)} (MediaPipe names: {', '.join(mp)}); "
            f"`joints` has {shorten([repr(n) for n in names], 8)}"
        )
    return [columns[j] for j in range(sk.N_JOINTS)]


def _timestamps(arrays: Mapping[str, AnyArr], n: int, fail: Fail) -> F64:
    if ("fps" in arrays) == ("t_s" in arrays):
        raise fail("give either `fps` (frames per second) or `t_s` (seconds per frame), not both")
    if "fps" in arrays:
        fps = arrays["fps"]
        if fps.size != 1 or fps.ndim > 1 or fps.dtype.kind not in "fiu":
            raise fail(f"`fps` must be one number, got shape {fps.shape} of {fps.dtype}")
        rate = float(fps.reshape(()))
        low, high = FRAMES_PER_SECOND
        if not low <= rate <= high:  # NaN too
            raise fail(f"`fps` must be {low:g} to {high:g} frames per second, got {rate}")
        return np.arange(n, dtype=np.float64) / rate
    t_s = arrays["t_s"]
    if t_s.shape != (n,) or t_s.dtype.kind not in "fiu":
        raise fail(
            f"`t_s` must be ({n},) numbers, one time in seconds per frame, got shape "
            f"{t_s.shape} of {t_s.dtype}"
        )
    t = t_s.astype(np.float64)
    if not np.isfinite(t).all():
        raise fail("`t_s` holds NaN or ±inf; give every frame its time in seconds")
    if n > 1 and not (np.diff(t) > 0).all():
        k = int(np.flatnonzero(np.diff(t) <= 0)[0])
        raise fail(f"`t_s` must strictly increase, but frame {k + 1} is at {t[k + 1]} s "
                   f"after {t[k]} s")  # fmt: skip
    return t


def _label(name: str, fail: Fail) -> str:
    try:
        return canonical_label(name)
    except ValueError:
        aliases = sorted(k for k in LABEL_ALIASES if k.title() not in EMOTIONS)
        raise fail(
            f"label {name!r} is not an emotion; use one of {', '.join(EMOTIONS)} "
            f"(or {', '.join(aliases)})"
        ) from None
