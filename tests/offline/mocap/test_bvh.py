"""Tests for pipeline/bvh.py: parsing, forward kinematics and malformed files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from offline.mocap.body import from_bvh
from offline.mocap.bvh import BVHError, BVHNotFinite, frame_count, read_bvh
from pipeline import skeleton as sk

# A tiny skeleton: a root with 6 channels (ZXY), a spine with 3 rotation channels in XYZ
# order, a head (ZXY) with an End Site and a leg whose 3 channels are in YXZ order.
HIERARCHY = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Xrotation Yrotation Zrotation
    JOINT Head
    {
      OFFSET 0 20 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 5 0
      }
    }
  }
  JOINT Leg
  {
    OFFSET 10 0 0
    CHANNELS 3 Yrotation Xrotation Zrotation
    End Site
    {
      OFFSET 0 -40 0
    }
  }
}
"""
# Columns: Hips x y z (cm) rz rx ry | Spine rx ry rz | Head rz rx ry | Leg ry rx rz (degrees)
FRAMES = (
    "100 90 0 0 0 0 0 0 0 0 0 0 0 0 0",  # rest pose, root moved
    "0 100 0 90 0 0 0 0 0 0 0 0 0 0 0",  # root turned 90 degrees about z
    "0 0 0 0 0 0 90 90 0 0 0 0 90 90 0",  # spine x then y; leg y then x
)
MOTION = "MOTION\nFrames: 3\nFrame Time: 0.04\n" + "\n".join(FRAMES) + "\n"

# Worked out by hand (metres). Frame 1: Rz(90) maps (x, y, z) -> (-y, x, z).
# Frame 2: spine R = Rx(90) @ Ry(90) maps the head offset (0, .2, 0) to (0, 0, .2); the leg's
# R = Ry(90) @ Rx(90) maps its end (0, -.4, 0) to (-.4, 0, 0). The opposite orders would
# give (.2, 0, 0) and (0, 0, -.4).
EXPECTED = {
    "Hips": [(1.0, 0.9, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 0.0)],
    "Spine": [(1.0, 1.0, 0.0), (-0.1, 1.0, 0.0), (0.0, 0.1, 0.0)],
    "Head": [(1.0, 1.2, 0.0), (-0.3, 1.0, 0.0), (0.0, 0.1, 0.2)],
    "Head_End": [(1.0, 1.25, 0.0), (-0.35, 1.0, 0.0), (0.0, 0.1, 0.25)],
    "Leg": [(1.1, 0.9, 0.0), (0.0, 1.1, 0.0), (0.1, 0.0, 0.0)],
    "Leg_End": [(1.1, 0.5, 0.0), (0.4, 1.1, 0.0), (-0.3, 0.0, 0.0)],
}


def _rot(axis: str, deg: float) -> np.ndarray:
    c, s = np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))
    return {
        "x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis]


@pytest.fixture
def tiny_bvh(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.bvh"
    path.write_text(HIERARCHY + MOTION)
    return path


def test_hierarchy(tiny_bvh: Path) -> None:
    m = read_bvh(tiny_bvh)
    assert m.names == ("Hips", "Spine", "Head", "Head_End", "Leg", "Leg_End")
    np.testing.assert_array_equal(m.parents, [-1, 0, 1, 2, 0, 4])
    np.testing.assert_allclose(m.offsets[m.index("Head_End")], [0, 0.05, 0])  # cm -> m
    np.testing.assert_allclose(m.offsets[m.index("Leg")], [0.1, 0, 0])
    assert m.n_frames == 3 and m.frame_time_s == pytest.approx(0.04)
    np.testing.assert_allclose(m.t_s, [0.0, 0.04, 0.08])
    assert m.positions.shape == (3, 6, 3) and m.rotations.shape == (3, 6, 3, 3)


def test_forward_kinematics_by_hand(tiny_bvh: Path) -> None:
    m = read_bvh(tiny_bvh)
    for name, frames in EXPECTED.items():
        np.testing.assert_allclose(m.positions[:, m.index(name)], frames, atol=1e-9, err_msg=name)


def test_global_rotations(tiny_bvh: Path) -> None:
    m = read_bvh(tiny_bvh)
    np.testing.assert_allclose(m.rotations[1, m.index("Leg")], _rot("z", 90), atol=1e-12)
    spine = _rot("x", 90) @ _rot("y", 90)
    np.testing.assert_allclose(m.rotations[2, m.index("Spine")], spine, atol=1e-12)
    np.testing.assert_allclose(m.rotations[2, m.index("Head_End")], spine, atol=1e-12)
    np.testing.assert_allclose(
        m.rotations[2, m.index("Leg")], _rot("y", 90) @ _rot("x", 90), atol=1e-12
    )
    np.testing.assert_allclose(m.rotations[0], np.broadcast_to(np.eye(3), (6, 3, 3)), atol=1e-12)


def test_position_channels_replace_the_offset(tmp_path: Path) -> None:
    """As in the Bandai-Namco files: every joint has 6 channels and its position channels
    repeat its offset; the joint sits at parent + offset once, not twice."""
    path = tmp_path / "six.bvh"
    path.write_text(
        "HIERARCHY\nROOT Root\n{\n  OFFSET 5 5 5\n"
        "  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
        "  JOINT Hips\n  {\n    OFFSET 0 90 -3\n"
        "    CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
        "    End Site\n    {\n      OFFSET 0 10 0\n    }\n  }\n}\n"
        "MOTION\nFrames: 2\nFrame Time: 0.0333333\n"
        "0 0 0 0 0 0 0 90 -3 0 0 0\n"
        "0 0 100 0 0 0 1 91 -3 0 0 0\n"
    )
    m = read_bvh(path)
    np.testing.assert_allclose(m.positions[:, m.index("Root")], [[0, 0, 0], [0, 0, 1.0]])
    np.testing.assert_allclose(
        m.positions[:, m.index("Hips")], [[0, 0.9, -0.03], [0.01, 0.91, 0.97]]
    )
    np.testing.assert_allclose(
        m.positions[:, m.index("Hips_End")], [[0, 1.0, -0.03], [0.01, 1.01, 0.97]]
    )


def test_unit_can_be_chosen(tiny_bvh: Path) -> None:
    m = read_bvh(tiny_bvh, unit_m=1.0)
    np.testing.assert_allclose(m.positions[0, m.index("Leg_End")], [110, 50, 0], atol=1e-9)


def test_index_of_an_unknown_joint_names_the_known_ones(tiny_bvh: Path) -> None:
    with pytest.raises(KeyError, match="'Neck' not in BVH .*Hips, Spine"):
        read_bvh(tiny_bvh).index("Neck")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="BVH file not found: .*nope.bvh"):
        read_bvh(tmp_path / "nope.bvh")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (HIERARCHY + MOTION.replace("Frames: 3", "Frames: 5"),
         r"MOTION is truncated: 'Frames: 5' but 3 rows"),
        (HIERARCHY + MOTION.rsplit(" 90 90 0", 1)[0],  # cut in the middle of the last row
         r"MOTION frame 2 has 12 values, but the HIERARCHY declares 15 channels"),
        (HIERARCHY + MOTION.replace(FRAMES[1], FRAMES[1] + " 7"),
         r"MOTION frame 1 has 16 values, but the HIERARCHY declares 15 channels"),
        (HIERARCHY.replace("CHANNELS 3 Zrotation", "CHANNELS 4 Zrotation") + MOTION,
         r"joint Head: bad CHANNELS"),
        (HIERARCHY.replace("CHANNELS 3 Yrotation", "CHANNELS 2 Yrotation") + MOTION,
         r"unexpected token 'Zrotation' in HIERARCHY"),
        (HIERARCHY.replace("Yrotation Zrotation", "Yrotation Wrotation", 1) + MOTION,
         r"joint Spine: bad CHANNELS"),
        (HIERARCHY, r"no MOTION section"),
        ("ROOT Hips\n{\n}\n" + MOTION, r"does not start with HIERARCHY"),
        (HIERARCHY.rstrip().removesuffix("}") + MOTION, r"unbalanced braces"),
        (HIERARCHY + MOTION.replace("Time: 0.04", "Time: 0"),
         r"'Frame Time: 0' must be 0.0001 to 10 seconds between frames"),
        (HIERARCHY + MOTION.replace("Frame Time: 0.04\n", ""), r"lacks 'Frames:' or 'Frame Time:'"),
        (HIERARCHY + MOTION.replace("100 90", "100 abc"), r"non-numeric value in MOTION"),
        (HIERARCHY + "MOTION\nFrames: 0\nFrame Time: 0.04\n", r"MOTION has 0 frames"),
        (HIERARCHY.replace("OFFSET 0 20 0", "OFFSET 0 20") + MOTION, r"malformed HIERARCHY"),
    ],
)  # fmt: skip
def test_malformed_bvh_raises_a_clear_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "broken.bvh"
    path.write_text(text)
    with pytest.raises(BVHError, match=match) as info:
        read_bvh(path)
    assert str(path) in str(info.value)  # the message names the file
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("frame_time", ["1e-300", "0", "-0.04", "nan", "inf", "1e300", "x", ""])
def test_an_impossible_frame_time_is_refused(tmp_path: Path, frame_time: str) -> None:
    """Issue #11: `Frame Time: 1e-300` went on to a traceback in training and rendering."""
    path = tmp_path / "fast.bvh"
    path.write_text(HIERARCHY + MOTION.replace("Time: 0.04", f"Time: {frame_time}"))
    with pytest.raises(BVHError, match=r"'Frame Time: .*' must be 0.0001 to 10 seconds") as e:
        read_bvh(path)
    assert str(path) in str(e.value) and not isinstance(e.value, BVHNotFinite)


@pytest.mark.parametrize(
    ("value", "where", "bad_frames"),
    [
        ("nan", "100 90", "1 of 3 frames (the first is frame 0)"),
        ("NaN", "0 100 0 90", "1 of 3 frames (the first is frame 1)"),
        ("inf", "100 90", "1 of 3 frames"),
        ("-inf", "0 0 0 0 0 0 90", "1 of 3 frames (the first is frame 2)"),
        ("1e400", "100 90", "1 of 3 frames"),  # parsed as inf
    ],
)
def test_nan_or_infinite_motion_is_its_own_error(
    tmp_path: Path, value: str, where: str, bad_frames: str
) -> None:
    path = tmp_path / "nan.bvh"
    path.write_text(HIERARCHY + MOTION.replace(where, f"{value} {where.split(' ', 1)[1]}", 1))
    with pytest.raises(BVHNotFinite, match=f"NaN or infinite values in {re.escape(bad_frames)}"):
        read_bvh(path)


def test_nan_offsets_are_not_finite_either(tmp_path: Path) -> None:
    path = tmp_path / "offset.bvh"
    path.write_text(HIERARCHY.replace("OFFSET 0 20 0", "OFFSET 0 nan 0") + MOTION)
    with pytest.raises(BVHNotFinite, match=r"in 3 of 3 frames"):
        read_bvh(path)


# --- the shared Bandai-Namco clips ---------------------------------------------------------


@pytest.fixture
def walk(bandai_dir: Path) -> np.ndarray:
    return from_bvh(read_bvh(bandai_dir / "dataset-1_walk_normal_001.bvh"))


def test_walk_clip_has_human_proportions(walk: np.ndarray) -> None:
    hips = np.linalg.norm(walk[:, sk.L_HIP] - walk[:, sk.R_HIP], axis=-1)
    np.testing.assert_allclose(hips, 0.13, atol=0.01)  # metres
    shoulders = np.linalg.norm(walk[:, sk.L_SHOULDER] - walk[:, sk.R_SHOULDER], axis=-1)
    assert 0.18 < shoulders.mean() < 0.45  # mocap shoulder joints: ~0.21 m apart
    nose_height = walk[:, sk.NOSE, 1] - np.minimum(walk[:, sk.L_ANKLE, 1], walk[:, sk.R_ANKLE, 1])
    assert 1.3 < np.median(nose_height) < 1.75  # a standing adult's nose above the ankles
    assert 0.0 < walk[:, [sk.L_ANKLE, sk.R_ANKLE], 1].min() and walk[..., 1].max() < 2.0  # y up
    thigh = np.linalg.norm(walk[:, sk.L_HIP] - walk[:, sk.L_KNEE], axis=-1)
    assert np.ptp(thigh) < 1e-4 and 0.35 < thigh.mean() < 0.5  # rigid bone, plausible length


def test_walk_clip_faces_plus_z_with_left_at_plus_x(walk: np.ndarray) -> None:
    hips = sk.mid_hip(walk)
    assert hips[-1, 2] - hips[0, 2] > 3.0  # walks along +z
    assert abs(hips[-1, 0] - hips[0, 0]) < 0.5
    assert abs(np.degrees(sk.facing_yaw(walk))) < 10  # and faces where it walks
    assert (walk[:, sk.L_HIP, 0] - walk[:, sk.R_HIP, 0]).mean() > 0.1  # left at +x
    assert (walk[:, sk.NOSE, 2] - sk.mid_shoulder(walk)[:, 2]).mean() > 0.03  # nose in front
    # not mirrored: (left - right) x up points forward, the way it walks
    forward = np.cross(walk[:, sk.L_HIP] - walk[:, sk.R_HIP], sk.mid_shoulder(walk) - hips)
    assert (forward[:, 2] > 0).all()


def test_every_shared_clip_parses(bandai_dir: Path) -> None:
    paths = sorted(bandai_dir.glob("*.bvh"))
    assert paths, f"no .bvh files in {bandai_dir}"
    for path in paths:
        motion = read_bvh(path)
        points = from_bvh(motion)
        assert motion.n_frames > 10 and 0 < motion.frame_time_s < 0.1, path.name
        assert np.isfinite(points).all(), path.name
        hips = np.linalg.norm(points[:, sk.L_HIP] - points[:, sk.R_HIP], axis=-1)
        assert 0.1 < hips.mean() < 0.16, path.name


def test_frame_count_reads_the_header_only(tmp_path: Path) -> None:
    path = tmp_path / "clip.bvh"
    path.write_text("HIERARCHY\nROOT Hips\n{\n}\nMOTION\nFrames: 7\nFrame Time: 0.033\n")
    assert frame_count(path) == 7
    path.write_text("HIERARCHY\n")
    with pytest.raises(ValueError, match="no 'Frames:' line"):
        frame_count(path)
