"""Tests for offline/mocap/body.py: the body map and the shared joints read through it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from offline.mocap.body import BANDAI, JOINT_SOURCES, BodyMap, from_bvh
from offline.mocap.bvh import Motion
from pipeline import skeleton as sk


def test_body_map_from_json_and_its_checks(tmp_path: Path) -> None:
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"head": "Skull", "head_up": [0, 1, 0], "head_forward": [0, 0, 1]}))
    body = BodyMap.from_json(path)
    assert body.head == "Skull" and body.head_up == (0, 1, 0) and body.hips == "Hips"
    path.write_text(json.dumps({"pelvis": "Hips"}))
    with pytest.raises(ValueError, match=r"keys among .* got \['pelvis'\]"):
        BodyMap.from_json(path)
    with pytest.raises(ValueError, match=r"`head_up` must be a unit 3-vector"):
        BodyMap(head_up=(0.0, 2.0, 0.0))
    with pytest.raises(ValueError, match=r"must be perpendicular"):
        BodyMap(head_up=(1.0, 0.0, 0.0), head_forward=(1.0, 0.0, 0.0))
    with pytest.raises(FileNotFoundError, match="joint map not found"):
        BodyMap.from_json(tmp_path / "nope.json")


def test_joint_sources_follow_the_shared_joint_set() -> None:
    assert tuple(JOINT_SOURCES) == sk.JOINTS
    for name, (role, _) in JOINT_SOURCES.items():  # left joints use the BVH's _L joint
        if name.startswith(("l_", "r_")):
            assert getattr(BANDAI, role).endswith("_" + name[0].upper())


def _bvh_motion(head_rotation: np.ndarray) -> Motion:
    """A one-frame Motion with the Bandai-Namco joint names, every joint at its own spot."""
    names = tuple({getattr(BANDAI, role) for role, _ in JOINT_SOURCES.values()})
    n = len(names)
    positions = np.arange(n * 3, dtype=np.float64).reshape(1, n, 3) / 10
    rotations = np.broadcast_to(np.eye(3), (1, n, 3, 3)).copy()
    rotations[0, names.index("Head")] = head_rotation
    return Motion(names, np.full(n, -1), np.zeros((n, 3)), positions, rotations, 1 / 30)


def test_from_bvh_places_the_nose_in_the_head_axes() -> None:
    angle = np.pi / 2  # head turned 90 degrees about y: local x -> -z
    c, s = np.cos(angle), np.sin(angle)
    ry = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    motion = _bvh_motion(ry)
    points = from_bvh(motion)
    assert points.shape == (1, 13, 3) and points.dtype == np.float32
    for j, (name, (role, _)) in enumerate(JOINT_SOURCES.items()):
        bvh = motion.positions[0, motion.index(getattr(BANDAI, role))]
        if name == "nose":
            np.testing.assert_allclose(points[0, j], bvh + [0.0, 0.09, -0.07], atol=1e-6)
        else:
            np.testing.assert_allclose(points[0, j], bvh, atol=1e-6)


def test_from_bvh_names_the_joints_a_clip_lacks() -> None:
    motion = _bvh_motion(np.eye(3))
    other = BodyMap(l_wrist="LeftHand")
    with pytest.raises(ValueError, match=r"BVH lacks joints the body map needs: l_wrist=LeftHand"):
        from_bvh(motion, other)
    from_bvh(motion, BodyMap(l_toes="NoToes"))  # the toes are not a shared joint


def _read_map(tmp_path: Path, data: dict[str, object]) -> BodyMap:
    path = tmp_path / "map.json"
    path.write_text(json.dumps(data))
    return BodyMap.from_json(path)


def test_toe_joints_are_optional_in_a_json_map(tmp_path: Path) -> None:
    """A toe role the JSON leaves out keeps Bandai-Namco's name only below Bandai-Namco's
    ankle; null says there is no toe joint."""
    assert (BANDAI.l_toes, BANDAI.r_toes) == ("Toes_L", "Toes_R")
    # another skeleton's ankles, no toes named (like CMU's map): no toe joints
    other = _read_map(tmp_path, {"l_ankle": "lFoot", "r_ankle": "rFoot"})
    assert other.l_toes is None and other.r_toes is None
    assert "l_toes" not in other.joint_names and other.joint_names["l_ankle"] == "lFoot"
    # a Bandai-Namco map that leaves the feet alone (or names their ankles) keeps the toes
    assert _read_map(tmp_path, {"head": "Head"}).l_toes == "Toes_L"
    kept = _read_map(tmp_path, {"l_ankle": "Foot_L", "r_ankle": "RightFoot"})
    assert (kept.l_toes, kept.r_toes) == ("Toes_L", None)
    named = _read_map(tmp_path, {"l_ankle": "LeftFoot", "l_toes": "LeftToeBase", "r_toes": None})
    assert (named.l_toes, named.r_toes) == ("LeftToeBase", None)
    with pytest.raises(ValueError, match=r"`hips` must be a joint name \(a string\), got null"):
        _read_map(tmp_path, {"hips": None})
    with pytest.raises(ValueError, match=r"`l_toes` must be a joint name or None .*got ''"):
        BodyMap(l_toes="")


def test_check_asks_for_named_toes_only() -> None:
    names = tuple(n for role, n in BANDAI.joint_names.items() if not role.endswith("_toes"))
    n = len(names)
    rotations = np.broadcast_to(np.eye(3), (1, n, 3, 3)).copy()
    motion = Motion(names, np.full(n, -1), np.zeros((n, 3)), np.zeros((1, n, 3)), rotations, 0.1)
    with pytest.raises(ValueError, match=r"needs: r_toes=Toes_R; .*r_toes may be null"):
        BodyMap(l_toes=None).check(motion)
    BodyMap(l_toes=None, r_toes=None).check(motion)
    with pytest.raises(ValueError, match=r"needs: l_knee=Knee_L; .*joints \(has"):  # no hint
        BodyMap(l_knee="Knee_L", l_toes=None, r_toes=None).check(motion)
