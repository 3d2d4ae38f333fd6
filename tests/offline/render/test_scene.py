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
from tests.offline.render.conftest import TOELESS_BODY, write_tiny_bvh


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


def test_a_skeleton_without_toe_joints_gets_feet_from_its_ankles(tmp_path: Path) -> None:
    """The shoes of a toe-less skeleton run forward from the ankles, flat, and are drawn."""
    motion = read_bvh(write_tiny_bvh(tmp_path / "a.bvh", toes=False, head_zxy=(0, 0, 0)))
    assert not any(name.startswith("Toes_") for name in motion.names)
    camera = VirtualCamera(yaw_deg=90.0, width=240, height=320)  # from the subject's left
    with pytest.raises(ValueError, match=r"l_toes=Toes_L, r_toes=Toes_R;.*may be null"):
        build_scene(motion, camera)
    scene = build_scene(motion, camera, TOELESS_BODY)
    parts = {p.name: p for p in scene.parts}
    forward = scene.frames["pelvis"][1][..., 2]  # camera axes, like the parts
    up = scene.frames["pelvis"][1][..., 1]
    for side in ("l", "r"):
        ankle = parts[f"shin_{side}"].b
        heel, tip = parts[f"shoe_{side}"].a, parts[f"shoe_{side}"].b
        assert ankle is not None and tip is not None
        along = np.sum((tip - heel) * forward, axis=-1)
        np.testing.assert_allclose(along, 0.185 * scene.scale, atol=0.005)  # forward
        np.testing.assert_allclose(np.sum((tip - heel) * up, axis=-1), 0.0, atol=0.01)  # flat
        below = np.sum((ankle - heel) * up, axis=-1)
        np.testing.assert_allclose(below, 0.030 * scene.scale, atol=0.005)
    # The balls of the feet cast shadows in front of the ankles (shadow points: ankles,
    # balls, hips).
    ball_ahead = np.sum(
        (scene.shadow_points[:, 2:4] - scene.shadow_points[:, 0:2]) * forward[:, None], axis=-1
    )
    assert (ball_ahead > 0.1).all()
    # The left shoe is seen where its toe end projects.
    out = Renderer(camera).render(scene, 0)
    tip = parts["shoe_l"].b
    assert tip is not None
    u = 0.5 * camera.width + camera.focal_px * tip[0, 0] / tip[0, 2]
    v = 0.5 * camera.height - camera.focal_px * tip[0, 1] / tip[0, 2]
    names = [p.name for p in scene.parts]
    assert names[out.part[int(v), int(u)]] == "shoe_l"
