"""Tests for offline/render/scene.py: the figure posed on a clip for one camera."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from offline.mocap.body import BANDAI, BodyMap, from_bvh
from offline.mocap.bvh import read_bvh
from offline.mocap.virtual_camera import VirtualCamera
from offline.render.raycast import Renderer
from offline.render.scene import build_scene
from pipeline import skeleton as sk
from tests.offline.render.conftest import write_tiny_bvh


def test_tiny_bvh_has_bandai_head_axes(tiny_bvh: Path) -> None:
    motion = read_bvh(tiny_bvh)
    head = motion.rotations[0, motion.index("Head")]
    # columns: local x -> world up, local y -> forward (+z), local z -> the subject's left (+x)
    np.testing.assert_allclose(head, [[0, 0, 1], [1, 0, 0], [0, 1, 0]], atol=1e-9)
    world = from_bvh(motion)
    assert abs(sk.facing_yaw(world)) < 1e-6  # faces +z


def test_another_skeleton_through_a_joint_map(tmp_path: Path) -> None:
    bandai = read_bvh(write_tiny_bvh(tmp_path / "a.bvh"))
    other = read_bvh(write_tiny_bvh(tmp_path / "b.bvh", prefix="mixamorig:"))
    body = BodyMap(**{role: f"mixamorig:{name}" for role, name in BANDAI.joint_names.items()})
    np.testing.assert_array_equal(from_bvh(other, body), from_bvh(bandai))
    camera = VirtualCamera(width=120, height=160)
    a = Renderer(camera).render(build_scene(bandai, camera), 0).image
    b = Renderer(camera).render(build_scene(other, camera, body), 0).image
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match=r"BVH lacks joints the body map needs: hips=Hips"):
        build_scene(other, camera)
