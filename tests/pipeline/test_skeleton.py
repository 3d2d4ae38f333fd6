"""Tests for pipeline/skeleton.py: the joint table, axes, canonical frame and mirroring."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import skeleton as sk

# MediaPipe Pose landmark indices (PoseLandmarker documentation).
MEDIAPIPE = {
    "nose": 0, "l_shoulder": 11, "r_shoulder": 12, "l_elbow": 13, "r_elbow": 14,
    "l_wrist": 15, "r_wrist": 16, "l_hip": 23, "r_hip": 24, "l_knee": 25, "r_knee": 26,
    "l_ankle": 27, "r_ankle": 28,
}  # fmt: skip


def test_joint_table_is_consistent() -> None:
    assert sk.N_JOINTS == 13 == len(sk.JOINTS) == len(set(sk.JOINTS)) == len(sk.JOINT_TABLE)
    assert sk.JOINTS == tuple(MEDIAPIPE)
    assert [j.mediapipe for j in sk.JOINT_TABLE] == list(MEDIAPIPE.values())
    np.testing.assert_array_equal(sk.MEDIAPIPE_INDEX, list(MEDIAPIPE.values()))
    constants = [sk.NOSE, sk.L_SHOULDER, sk.R_SHOULDER, sk.L_ELBOW, sk.R_ELBOW, sk.L_WRIST,
                 sk.R_WRIST, sk.L_HIP, sk.R_HIP, sk.L_KNEE, sk.R_KNEE, sk.L_ANKLE,
                 sk.R_ANKLE]  # fmt: skip
    assert constants == [sk.JOINTS.index(n) for n in MEDIAPIPE]


def test_mirror_index_is_an_involution_swapping_sides() -> None:
    m = sk.MIRROR_INDEX
    np.testing.assert_array_equal(m[m], np.arange(sk.N_JOINTS))
    for j, name in enumerate(sk.JOINTS):
        other = sk.JOINTS[m[j]]
        if name.startswith("l_"):
            assert other == "r_" + name[2:]
        elif name.startswith("r_"):
            assert other == "l_" + name[2:]
        else:
            assert other == name


def test_edge_lists() -> None:
    assert len(set(sk.BONES)) == len(sk.BONES) == 12
    assert all(0 <= a < sk.N_JOINTS and 0 <= b < sk.N_JOINTS and a != b for a, b in sk.BONES)
    flat = [i for e in sk.MEDIAPIPE_EDGES for i in e]
    assert min(flat) == 0 and max(flat) == sk.N_LANDMARKS - 1  # 0-based, all 33 landmarks
    assert (11, 12) in sk.MEDIAPIPE_EDGES and (23, 24) in sk.MEDIAPIPE_EDGES
    assert len(set(sk.MEDIAPIPE_EDGES)) == len(sk.MEDIAPIPE_EDGES)
    # the shared set's bones are MediaPipe edges too
    mp_edges = {frozenset(e) for e in sk.MEDIAPIPE_EDGES}
    for a, b in sk.BONES:
        assert frozenset((sk.MEDIAPIPE_INDEX[a], sk.MEDIAPIPE_INDEX[b])) in mp_edges


def test_empty_rows() -> None:
    assert sk.EMPTY_WORLD.shape == (13, 3) and np.isnan(sk.EMPTY_WORLD).all()
    assert sk.EMPTY_IMAGE.shape == (13, 2) and np.isnan(sk.EMPTY_IMAGE).all()
    assert sk.EMPTY_VISIBILITY.shape == (13,) and (sk.EMPTY_VISIBILITY == 0).all()


def _mediapipe_person_facing_camera() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """33 landmarks of a person facing the camera, in MediaPipe's axes.

    World: metres, origin mid-hip, x = image right, y down, z away from the camera: their
    left side is on the image's right, their nose nearer the camera than their hips.
    Image: normalised, a 640x480 frame.
    """
    world = np.zeros((33, 3), np.float32)
    world[0] = (0.0, -0.6, -0.1)  # nose: up and towards the camera
    world[11], world[12] = (0.18, -0.45, 0.0), (-0.18, -0.45, 0.0)
    world[13], world[14] = (0.22, -0.2, 0.0), (-0.22, -0.2, 0.0)
    world[15], world[16] = (0.24, 0.05, -0.05), (-0.24, 0.05, -0.05)
    world[23], world[24] = (0.1, 0.0, 0.0), (-0.1, 0.0, 0.0)
    world[25], world[26] = (0.1, 0.45, 0.0), (-0.1, 0.45, 0.0)
    world[27], world[28] = (0.1, 0.9, 0.0), (-0.1, 0.9, 0.0)
    image = np.zeros((33, 3), np.float32)
    image[:, 0] = 0.5 + 0.25 * world[:, 0]
    image[:, 1] = 0.5 + 0.25 * world[:, 1]
    return world, image, np.linspace(0.0, 1.0, 33, dtype=np.float32)


def test_from_mediapipe_faces_plus_z_with_left_at_plus_x() -> None:
    world_mp, image_mp, vis_mp = _mediapipe_person_facing_camera()
    world, image, vis = sk.from_mediapipe(world_mp, image_mp, vis_mp, (640, 480))
    assert world.dtype == image.dtype == vis.dtype == np.float32
    assert world.shape == (13, 3) and image.shape == (13, 2) and vis.shape == (13,)
    np.testing.assert_allclose(world, world_mp[sk.MEDIAPIPE_INDEX] * [1, -1, -1])
    np.testing.assert_allclose(vis, vis_mp[sk.MEDIAPIPE_INDEX])
    assert world[sk.NOSE, 1] > world[sk.L_HIP, 1]  # y up
    assert world[sk.NOSE, 2] > 0  # facing +z (towards the camera)
    assert world[sk.L_SHOULDER, 0] > world[sk.R_SHOULDER, 0]  # left at +x
    assert sk.facing_yaw(world[None]) == pytest.approx(0.0, abs=1e-6)
    # a rotation, not a mirror: (left - right) x up points the way the nose does
    left_right = world[sk.L_SHOULDER] - world[sk.R_SHOULDER]
    up = sk.mid_shoulder(world) - sk.mid_hip(world)
    forward = np.cross(left_right, up)
    assert forward @ (world[sk.NOSE] - sk.mid_shoulder(world)) > 0
    # image: x in image heights, y up
    np.testing.assert_allclose(image[:, 0], image_mp[sk.MEDIAPIPE_INDEX, 0] * 640 / 480, rtol=1e-6)
    np.testing.assert_allclose(image[:, 1], -image_mp[sk.MEDIAPIPE_INDEX, 1], rtol=1e-6)
    assert image[sk.NOSE, 1] > image[sk.L_HIP, 1]
    assert image[sk.L_SHOULDER, 0] > image[sk.R_SHOULDER, 0]  # webcam view: left on the right


def test_from_mediapipe_takes_a_time_axis() -> None:
    world_mp, image_mp, vis_mp = _mediapipe_person_facing_camera()
    stack = lambda a: np.stack([a, a + 0.1]).astype(np.float32)  # noqa: E731
    world, image, vis = sk.from_mediapipe(
        stack(world_mp), stack(image_mp), stack(vis_mp), (640, 480)
    )
    assert world.shape == (2, 13, 3) and image.shape == (2, 13, 2) and vis.shape == (2, 13)
    single, *_ = sk.from_mediapipe(world_mp + np.float32(0.1), image_mp, vis_mp, (640, 480))
    np.testing.assert_allclose(world[1], single, rtol=1e-6)


@pytest.mark.parametrize("yaw_deg", [0.0, 35.0, 90.0, -120.0, 179.0])
def test_facing_yaw_and_rotate_about_y(synthetic_sequence, yaw_deg: float) -> None:
    world = synthetic_sequence(30, 30, "wave").world
    turned = sk.rotate_about_y(world, np.deg2rad(yaw_deg))
    assert sk.facing_yaw(turned) == pytest.approx(np.deg2rad(yaw_deg), abs=1e-5)
    np.testing.assert_allclose(sk.rotate_about_y(turned, -np.deg2rad(yaw_deg)), world, atol=1e-5)
    np.testing.assert_allclose(turned[..., 1], world[..., 1], atol=1e-6)  # about the vertical


def test_rotate_about_y_is_right_handed() -> None:
    np.testing.assert_allclose(
        sk.rotate_about_y(np.array([0.0, 0.0, 1.0]), np.pi / 2), [1, 0, 0], atol=1e-7
    )
    np.testing.assert_allclose(
        sk.rotate_about_y(np.array([1.0, 0.0, 0.0]), np.pi / 2), [0, 0, -1], atol=1e-7
    )


def test_facing_yaw_ignores_nan_frames(synthetic_sequence) -> None:
    world = sk.rotate_about_y(synthetic_sequence(30, 30, "wave").world, 0.5)
    world[3:6] = np.nan
    assert sk.facing_yaw(world) == pytest.approx(0.5, abs=1e-5)


@pytest.mark.parametrize("yaw_deg", [0.0, 60.0, -150.0])
def test_canonical_world(synthetic_sequence, yaw_deg: float) -> None:
    world = synthetic_sequence(60, 30, "walk").world
    moved = sk.rotate_about_y(world, np.deg2rad(yaw_deg)) + np.array([3.0, 0.2, -1.0], np.float32)
    canon = sk.canonical_world(moved)
    assert canon.dtype == np.float32
    np.testing.assert_allclose(sk.mid_hip(canon), 0.0, atol=1e-5)  # origin mid-hip, every frame
    hips = (canon[:, sk.L_HIP] - canon[:, sk.R_HIP]).mean(0)
    assert hips[0] > 0.15 and abs(hips[2]) < 1e-5  # hips along +x
    np.testing.assert_allclose(canon, sk.canonical_world(world), atol=1e-5)  # yaw removed
    trunk = (sk.mid_shoulder(canon) - sk.mid_hip(canon)).mean(0)
    assert abs(trunk[0]) < 1e-5 and abs(trunk[2]) < 1e-5 and trunk[1] > 0  # trunk up
    # lengths and the body's own shape are kept (only a rigid turn and a shift)
    centred = world - sk.mid_hip(world)[:, None]
    np.testing.assert_allclose(
        np.linalg.norm(canon, axis=-1), np.linalg.norm(centred, axis=-1), atol=1e-5
    )


def _pitched(points: np.ndarray, degrees: float) -> np.ndarray:
    """Points turned about the x axis (a camera looking down tilts the body so)."""
    a = np.deg2rad(degrees)
    rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    return (points @ rot.T).astype(np.float32)


@pytest.mark.parametrize("degrees", [-35.0, 20.0, 40.0])
def test_a_camera_looking_down_or_up_does_not_change_the_canonical_world(
    synthetic_sequence, degrees: float
) -> None:
    world = synthetic_sequence(40, 30, "walk").world
    np.testing.assert_allclose(
        sk.canonical_world(_pitched(world, degrees)), sk.canonical_world(world), atol=1e-4
    )


@pytest.mark.parametrize(("degrees", "left_deg"), [(90.0, 45.0), (180.0, 135.0)])
def test_lying_down_or_upside_down_is_turned_45_degrees_only(
    synthetic_sequence, degrees: float, left_deg: float
) -> None:
    canon = sk.canonical_world(_pitched(synthetic_sequence(40, 30, "still").world, degrees))
    trunk = (sk.mid_shoulder(canon) - sk.mid_hip(canon)).mean(0)
    tilt = np.degrees(np.arccos(trunk[1] / np.linalg.norm(trunk)))
    assert tilt == pytest.approx(left_deg, abs=3.0)


def test_canonical_world_keeps_turning_within_the_sequence(synthetic_sequence) -> None:
    world = synthetic_sequence(60, 30, "still").world
    yaws = np.linspace(-0.5, 0.5, 60)
    turning = np.stack([sk.rotate_about_y(f, a) for f, a in zip(world, yaws, strict=True)])
    canon = sk.canonical_world(turning)
    axis = canon[:, sk.L_HIP] - canon[:, sk.R_HIP]
    yaw = np.arctan2(-axis[:, 2], axis[:, 0])
    np.testing.assert_allclose(yaw, np.linspace(-0.5, 0.5, 60), atol=2e-3)  # trunk put upright


def test_canonical_image(synthetic_sequence) -> None:
    image = synthetic_sequence(20, 30, "walk").image
    canon = sk.canonical_image(image + np.float32(0.4))
    np.testing.assert_allclose(sk.mid_hip(canon), 0.0, atol=1e-6)
    np.testing.assert_allclose(canon, image - sk.mid_hip(image)[:, None], atol=1e-6)


@pytest.mark.parametrize("dims", [2, 3])
def test_mirror(dims: int) -> None:
    rng = np.random.default_rng(dims)
    points = rng.normal(size=(7, sk.N_JOINTS, dims)).astype(np.float32)
    mirrored = sk.mirror(points)
    np.testing.assert_array_equal(sk.mirror(mirrored), points)  # twice = identity
    np.testing.assert_array_equal(mirrored[:, sk.L_WRIST, 0], -points[:, sk.R_WRIST, 0])
    np.testing.assert_array_equal(mirrored[:, sk.L_WRIST, 1:], points[:, sk.R_WRIST, 1:])
    np.testing.assert_array_equal(mirrored[:, sk.NOSE, 0], -points[:, sk.NOSE, 0])
    assert not np.shares_memory(mirrored, points)


def test_mirror_of_a_raised_left_arm_is_a_raised_right_arm(synthetic_sequence) -> None:
    canon = sk.canonical_world(synthetic_sequence(1, 30, "still").world)
    canon[0, sk.L_WRIST] = canon[0, sk.L_SHOULDER] + [0.1, 0.5, 0.0]
    mirrored = sk.mirror(canon)
    assert mirrored[0, sk.R_WRIST, 1] > mirrored[0, sk.R_SHOULDER, 1] + 0.4
    assert mirrored[0, sk.L_WRIST, 1] < mirrored[0, sk.L_SHOULDER, 1]
    assert mirrored[0, sk.L_HIP, 0] > 0  # still a body with its left at +x


def test_mask_invisible() -> None:
    points = np.ones((2, sk.N_JOINTS, 3), np.float32)
    vis = np.full((2, sk.N_JOINTS), 0.9, np.float32)
    vis[0, sk.NOSE] = 0.29
    vis[1, sk.L_KNEE] = 0.3  # at the threshold: kept
    vis[1, sk.R_KNEE] = np.nan
    out = sk.mask_invisible(points, vis)
    assert np.isnan(out[0, sk.NOSE]).all() and np.isnan(out[1, sk.R_KNEE]).all()
    assert np.isfinite(out[1, sk.L_KNEE]).all()
    assert np.isnan(out).any(axis=-1).sum() == 2
    assert np.isfinite(points).all()  # the input is not modified
    assert np.isnan(sk.mask_invisible(points, vis, threshold=0.95)).all()
