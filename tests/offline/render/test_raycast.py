"""Tests for offline/render/raycast.py: the ray-casting renderer, frame by frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from offline.mocap.body import from_bvh
from offline.mocap.bvh import read_bvh
from offline.mocap.virtual_camera import VirtualCamera
from offline.render.raycast import RenderedFrame, Renderer
from offline.render.scene import Scene, build_scene
from pipeline import skeleton as sk


def _render(motion, camera: VirtualCamera, frame: int = 0) -> tuple[Scene, RenderedFrame]:
    scene = build_scene(motion, camera)
    return scene, Renderer(camera).render(scene, frame)


@pytest.mark.parametrize("view", [0.0, 35.0, -35.0, 90.0, 180.0])
def test_figure_appears_where_the_camera_projects_the_joints(tiny_bvh: Path, view: float) -> None:
    motion = read_bvh(tiny_bvh)
    camera = VirtualCamera(yaw_deg=view, width=240, height=320)
    scene, out = _render(motion, camera)
    world = from_bvh(motion).astype(np.float64)
    pixels, depth = camera.project(world, camera.poses(world, 30.0))
    names = [p.name for p in scene.parts]
    cols, rows = np.floor(pixels[0]).astype(int).T
    parts_seen = out.part[rows, cols]
    assert (parts_seen >= 0).all(), f"joints on background: {np.array(sk.JOINTS)[parts_seen < 0]}"
    # The joints are inside the body: the surface seen there is never behind them.
    surface_z = out.depth[rows, cols] * Renderer(camera).rays[2][rows, cols]
    gap = depth[0] - surface_z
    assert (gap > -0.01).all(), dict(zip(sk.JOINTS, gap.round(3), strict=True))
    if view == 0.0:  # from the front nothing is hidden: the surface is just in front
        assert (gap < 0.17).all(), dict(zip(sk.JOINTS, gap.round(3), strict=True))
        assert names[parts_seen[sk.NOSE]] in ("nose", "head", "jaw")
        assert abs(gap[sk.NOSE]) < 0.01
        # the raised left arm is on the image's right; its mirror image is background
        wrist = names[parts_seen[sk.L_WRIST]]
        assert wrist in ("hand_l", "forearm_l"), wrist
        hip_u = 0.5 * (pixels[0, sk.L_HIP, 0] + pixels[0, sk.R_HIP, 0])
        assert cols[sk.L_WRIST] > hip_u + 20
        mirror_col = int(2 * hip_u - pixels[0, sk.L_WRIST, 0])
        assert out.part[rows[sk.L_WRIST], mirror_col] == -1


def test_figure_stays_near_the_projected_joints(tiny_bvh: Path) -> None:
    motion = read_bvh(tiny_bvh)
    camera = VirtualCamera(yaw_deg=35.0, width=240, height=320)
    _, out = _render(motion, camera)
    world = from_bvh(motion).astype(np.float64)
    pixels, depth = camera.project(world, camera.poses(world, 30.0))
    margin = 0.3 * camera.focal_px / depth[0].min()  # 30 cm: head top, shoes, hands, flesh
    lo, hi = pixels[0].min(axis=0) - margin, pixels[0].max(axis=0) + margin
    rows, cols = np.nonzero(out.part >= 0)
    assert rows.size > 2000  # a figure, not a speck
    assert (cols + 0.5 >= lo[0]).all() and (cols + 0.5 <= hi[0]).all()
    assert (rows + 0.5 >= lo[1]).all() and (rows + 0.5 <= hi[1]).all()
    # and it is opaque between the joints: the mid-points of the bones are covered
    for a, b in sk.BONES:
        u, v = np.floor(0.5 * (pixels[0, a] + pixels[0, b])).astype(int)
        assert out.part[v, u] >= 0, (sk.JOINTS[a], sk.JOINTS[b])


def test_pixel_rays_pass_through_pixel_centres() -> None:
    camera = VirtualCamera(width=64, height=48)
    renderer = Renderer(camera)
    rays = np.stack(renderer.rays, axis=-1).astype(np.float64)  # (H, W, 3), camera axes
    np.testing.assert_allclose(np.linalg.norm(rays, axis=-1), 1.0, atol=1e-6)
    # a point on each ray, in world axes for an identity camera pose, projects to the centre
    poses = camera.poses(np.zeros((1, sk.N_JOINTS, 3)), 30.0)
    rot, pos = poses.rotation[0], poses.position[0]
    world = pos + 2.5 * rays @ rot  # camera -> world: x_w = R^T x_c
    pixels, _ = camera.project(world[None], poses)
    rows, cols = np.mgrid[0:48, 0:64]
    np.testing.assert_allclose(pixels[0, ..., 0], cols + 0.5, atol=1e-4)
    np.testing.assert_allclose(pixels[0, ..., 1], rows + 0.5, atol=1e-4)
