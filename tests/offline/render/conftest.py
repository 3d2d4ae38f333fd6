"""Test clips for the renderer: a tiny BVH figure with Bandai-Namco joint names, and a
tiny labelled library in the Bandai-Namco layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from offline.mocap.body import BodyMap

# A standing figure with Bandai-Namco joint names, facing +z (its left at +x), in cm:
# (name, parent, offset). The left arm is raised sideways, the right one hangs down.
_TINY_JOINTS = (
    ("Hips", None, (0.0, 94.0, 0.0)),
    ("Spine", "Hips", (0.0, 14.0, 0.0)),
    ("Chest", "Spine", (0.0, 10.0, 0.0)),
    ("Neck", "Chest", (0.0, 17.0, 0.0)),
    ("Head", "Neck", (0.0, 6.0, 0.0)),
    ("Shoulder_L", "Chest", (5.0, 13.0, 0.0)),
    ("UpperArm_L", "Shoulder_L", (5.5, 0.0, 0.0)),
    ("LowerArm_L", "UpperArm_L", (25.0, 0.0, 0.0)),
    ("Hand_L", "LowerArm_L", (22.0, 0.0, 0.0)),
    ("Shoulder_R", "Chest", (-5.0, 13.0, 0.0)),
    ("UpperArm_R", "Shoulder_R", (-5.5, 0.0, 0.0)),
    ("LowerArm_R", "UpperArm_R", (-1.0, -25.0, 0.0)),
    ("Hand_R", "LowerArm_R", (-1.0, -22.0, 0.0)),
    ("UpperLeg_L", "Hips", (7.0, -3.0, 0.0)),
    ("LowerLeg_L", "UpperLeg_L", (0.0, -40.0, 0.0)),
    ("Foot_L", "LowerLeg_L", (0.0, -40.0, -1.0)),
    ("Toes_L", "Foot_L", (0.0, -8.0, 10.0)),
    ("UpperLeg_R", "Hips", (-7.0, -3.0, 0.0)),
    ("LowerLeg_R", "UpperLeg_R", (0.0, -40.0, 0.0)),
    ("Foot_R", "LowerLeg_R", (0.0, -40.0, -1.0)),
    ("Toes_R", "Foot_R", (0.0, -8.0, 10.0)),
)
# Head rotation (Z, X, Y degrees) that gives it Bandai's local axes: x up, y forward, z left.
_HEAD_ZXY = (90.0, 90.0, 0.0)


# The body map of the tiny figure written with `toes=False, head_zxy=(0, 0, 0)`: no toe
# joints, and the head's local axes are the world's (up +y, forward +z) as in CMU's skeleton.
TOELESS_BODY = BodyMap(
    l_toes=None, r_toes=None, head_up=(0.0, 1.0, 0.0), head_forward=(0.0, 0.0, 1.0)
)


def write_tiny_bvh(
    path: Path,
    n_frames: int = 4,
    prefix: str = "",
    *,
    toes: bool = True,
    head_zxy: tuple[float, float, float] = _HEAD_ZXY,
) -> Path:
    """Write the tiny skeleton as a BVH: the root drifts along +x, the left arm waves.

    `toes=False` leaves out the toe joints (the feet end at the ankles), `head_zxy` is
    the head's rotation on every frame.
    """
    joints = [j for j in _TINY_JOINTS if toes or not j[0].startswith("Toes_")]
    children: dict[str | None, list[str]] = {}
    for name, parent, _ in joints:
        children.setdefault(parent, []).append(name)
    offsets = {name: off for name, _, off in joints}
    lines = ["HIERARCHY"]
    order: list[str] = []  # joints in file order: the order of the motion channels

    def emit(name: str, depth: int) -> None:
        order.append(name)
        pad = "  " * depth
        kind = "ROOT" if depth == 0 else "JOINT"
        lines.append(f"{pad}{kind} {prefix}{name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {' '.join(f'{v:g}' for v in offsets[name])}")
        channels = "Xposition Yposition Zposition " if depth == 0 else ""
        n = 6 if depth == 0 else 3
        lines.append(f"{pad}  CHANNELS {n} {channels}Zrotation Xrotation Yrotation")
        kids = children.get(name, [])
        for kid in kids:
            emit(kid, depth + 1)
        if not kids:
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0 0 0", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    emit("Hips", 0)
    lines += ["MOTION", f"Frames: {n_frames}", "Frame Time: 0.0333333"]
    for f in range(n_frames):
        row: list[float] = []
        for name in order:
            if name == "Hips":
                row += [0.5 * f, 94.0, 0.0, 0.0, 0.0, 0.0]
            elif name == "Head":
                row += list(head_zxy)
            elif name == "UpperArm_L":
                row += [20.0 * np.sin(f / 5.0), 0.0, 0.0]
            else:
                row += [0.0, 0.0, 0.0]
        lines.append(" ".join(f"{v:.4f}" for v in row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def tiny_bvh(tmp_path: Path) -> Path:
    return write_tiny_bvh(tmp_path / "tiny.bvh")


def tiny_dataset(root: Path) -> Path:
    (root / "cfg").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "cfg" / "content_label.txt").write_text("dataset-1_walk\ndataset-1_bow\n")
    styles = "dataset-1_normal\ndataset-1_happy\ndataset-1_old\n"
    (root / "cfg" / "style_label.txt").write_text(styles)
    for stem, content, style in (
        ("d_walk_happy_001", 0, 1),
        ("d_bow_normal_001", 1, 0),
        ("d_bow_old_001", 1, 2),
    ):
        write_tiny_bvh(root / "data" / f"{stem}.bvh", n_frames=3)
        label = {"content": content, "style": style}
        (root / "data" / f"{stem}.json").write_text(json.dumps(label))
    return root
