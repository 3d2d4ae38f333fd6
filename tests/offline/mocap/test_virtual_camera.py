"""Tests for offline/mocap/virtual_camera.py: the virtual camera that films mocap clips."""

from __future__ import annotations

import numpy as np
import pytest

from offline.mocap.virtual_camera import VirtualCamera
from pipeline import skeleton as sk


@pytest.fixture
def standing(synthetic_sequence) -> np.ndarray:
    """(30, 13, 3) a person standing without moving near the origin, facing +z, left at +x."""
    first = synthetic_sequence(1, 30, "still").world.astype(np.float64)
    return np.repeat(first, 30, axis=0)


def test_point_straight_ahead_projects_to_the_centre(standing: np.ndarray) -> None:
    cam = VirtualCamera(yaw_deg=25.0, width=480, height=640)
    poses = cam.poses(standing, fps=30)
    ahead = poses.position + 2.5 * poses.rotation[:, 2]  # 2.5 m along the optical axis
    pixels, depth = cam.project(ahead[:, None, :], poses)
    np.testing.assert_allclose(pixels[:, 0], [[240.0, 320.0]] * 30, atol=1e-9)
    np.testing.assert_allclose(depth, 2.5, atol=1e-9)


def test_camera_looks_at_the_subject(standing: np.ndarray) -> None:
    cam = VirtualCamera()
    poses = cam.poses(standing, fps=30)
    hips = sk.mid_hip(standing)
    look = np.column_stack([hips[:, 0], np.full(30, cam.look_at_height_m), hips[:, 2]])
    pixels, _ = cam.project(look[:, None, :], poses)
    np.testing.assert_allclose(pixels[:, 0], [[240.0, 320.0]] * 30, atol=1e-6)
    np.testing.assert_allclose(poses.position[:, 1], cam.height_m)
    horizontal = np.linalg.norm((poses.position - hips)[:, [0, 2]], axis=-1)
    np.testing.assert_allclose(horizontal, cam.distance_m, atol=0.05)
    r = poses.rotation
    np.testing.assert_allclose(
        r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape), atol=1e-9
    )
    # right x up = backwards (the camera looks along -z of the right-handed right, up, back)
    np.testing.assert_allclose(np.cross(r[:, 0], r[:, 1]), -r[:, 2], atol=1e-9)
    assert (r[:, 1, 1] > 0).all()  # up is up


def test_yaw_0_films_the_front(standing: np.ndarray) -> None:
    cam = VirtualCamera(yaw_deg=0.0)
    poses = cam.poses(standing, fps=30)
    assert (poses.position[:, 2] > 2.5).all()  # in front: the subject faces +z
    pixels, depth = cam.project(standing, poses)
    assert (depth > 0).all()
    assert (pixels[:, sk.L_HIP, 0] > pixels[:, sk.R_HIP, 0]).all()  # left hip on the right
    assert (pixels[:, sk.NOSE, 1] < pixels[:, sk.L_ANKLE, 1]).all()  # pixel y grows downwards
    assert (depth[:, sk.NOSE] < depth[:, sk.L_HIP]).all()  # the nose is nearer


@pytest.mark.parametrize(("yaw_deg", "side"), [(90.0, 1.0), (-90.0, -1.0)])
def test_yaw_90_is_on_the_subjects_left(standing: np.ndarray, yaw_deg: float, side: float) -> None:
    cam = VirtualCamera(yaw_deg=yaw_deg)
    poses = cam.poses(standing, fps=30)
    np.testing.assert_allclose(poses.position[:, 0], side * cam.distance_m, atol=0.05)
    np.testing.assert_allclose(poses.position[:, 2], 0.0, atol=0.05)
    _, depth = cam.project(standing, poses)
    near, far = (sk.L_SHOULDER, sk.R_SHOULDER) if side > 0 else (sk.R_SHOULDER, sk.L_SHOULDER)
    assert (depth[:, near] < depth[:, far]).all()


def test_yaw_follows_the_subjects_facing(standing: np.ndarray) -> None:
    turned = sk.rotate_about_y(standing, np.pi / 2)  # now facing +x, left at -z
    poses = VirtualCamera(yaw_deg=0.0).poses(turned, fps=30)
    np.testing.assert_allclose(poses.position[:, [0, 2]], [[3.0, 0.0]] * 30, atol=0.05)
    poses = VirtualCamera(yaw_deg=90.0).poses(turned, fps=30)
    np.testing.assert_allclose(poses.position[:, [0, 2]], [[0.0, -3.0]] * 30, atol=0.05)


def test_camera_follows_a_walking_subject(synthetic_sequence) -> None:
    walk = synthetic_sequence(120, 30, "walk").world.astype(np.float64)
    cam = VirtualCamera(yaw_deg=90.0, follow_s=0.5)
    poses = cam.poses(walk, fps=30)
    travelled = poses.position[-1, 2] - poses.position[0, 2]
    assert travelled > 3.0  # 4 s at 1.2 m/s, minus the smoothing at the ends
    pixels, _ = cam.project(walk, poses)
    assert np.abs(pixels[:, :, 0] - 240).max() < 200  # stays in the frame


def test_image_points_are_in_image_heights_with_y_up(standing: np.ndarray) -> None:
    cam = VirtualCamera(width=480, height=640)
    pixels, _ = cam.project(standing, cam.poses(standing, fps=30))
    points = cam.image_points(standing, fps=30)
    assert points.shape == (30, 13, 2) and points.dtype == np.float32
    np.testing.assert_allclose(points[..., 0], pixels[..., 0] / 640, rtol=1e-6)
    np.testing.assert_allclose(points[..., 1], -pixels[..., 1] / 640, rtol=1e-6)
    assert (points[:, sk.NOSE, 1] > points[:, sk.L_ANKLE, 1]).all()
    assert (points[:, sk.L_HIP, 0] > points[:, sk.R_HIP, 0]).all()
    # a pinhole: the body's height in the image is focal * height / distance
    size = points[:, sk.NOSE, 1] - points[:, [sk.L_ANKLE, sk.R_ANKLE], 1].mean(-1)
    world_size = standing[:, sk.NOSE, 1] - standing[:, [sk.L_ANKLE, sk.R_ANKLE], 1].mean(-1)
    np.testing.assert_allclose(size, cam.focal_px * world_size / cam.distance_m / 640, rtol=0.05)


@pytest.mark.parametrize(
    ("vfov", "height", "focal"), [(90.0, 640, 320.0), (60.0, 480, 240 * np.sqrt(3))]
)
def test_focal_length(vfov: float, height: int, focal: float) -> None:
    assert VirtualCamera(vfov_deg=vfov, height=height).focal_px == pytest.approx(focal)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"distance_m": 0.0}, r"`distance_m` must be > 0 metres, got 0.0"),
        ({"width": 0}, r"`width` must be > 0 pixels"),
        ({"height": -1}, r"`height` must be > 0 pixels"),
        ({"vfov_deg": 180.0}, r"`vfov_deg` must be in \(0, 180\) degrees, got 180.0"),
        ({"vfov_deg": 0.0}, r"`vfov_deg` must be in \(0, 180\)"),
    ],
)
def test_bad_camera_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VirtualCamera(**kwargs)
