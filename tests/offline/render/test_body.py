"""Tests for offline/render/body.py: the mannequin's size and primitives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from offline.mocap.body import BodyMap
from offline.mocap.bvh import read_bvh
from offline.mocap.virtual_camera import VirtualCamera
from offline.render.body import BALL_OF_FOOT, body_scale, synthetic_foot
from offline.render.scene import build_scene
from tests.offline.render.conftest import TOELESS_BODY

CMU_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "cmu-emotion"


def test_the_figure_scales_with_the_skeleton(tiny_bvh: Path) -> None:
    full, small = read_bvh(tiny_bvh), read_bvh(tiny_bvh, unit_m=0.006)  # a 60% size person
    k_full, k_small = body_scale(full), body_scale(small)
    assert k_full == pytest.approx(0.8001 / 0.8007, abs=1e-3)  # the tiny leg is Bandai's
    assert k_small == pytest.approx(0.6 * k_full, rel=1e-6)
    camera = VirtualCamera(width=240, height=320)
    big_parts = {p.name: p for p in build_scene(full, camera).parts}
    small_parts = {p.name: p for p in build_scene(small, camera).parts}
    assert small_parts["thigh_l"].ra == pytest.approx(0.6 * big_parts["thigh_l"].ra)
    assert small_parts["head"].radii == pytest.approx(
        tuple(0.6 * r for r in big_parts["head"].radii)
    )


def test_a_synthetic_foot_turns_with_its_ankle() -> None:
    """The ball of the foot is forward and below the ankle in the rest axes (here up +y,
    forward +z), turned by the ankle's rotation and scaled with the figure."""
    ankle = np.array([[0.0, 0.1, 0.0], [1.0, 0.1, 0.0]])
    toes_down = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # +z -> -y
    rot = np.stack([np.eye(3), toes_down])
    ball, heel, tip = synthetic_foot(ankle, rot, TOELESS_BODY, 2.0)
    a, b = BALL_OF_FOOT
    np.testing.assert_allclose(ball[0], ankle[0] + 2.0 * np.array([0.0, b, a]))
    np.testing.assert_allclose(ball[1], ankle[1] + 2.0 * np.array([0.0, -a, b]))
    assert tip[0, 2] - heel[0, 2] > 0.3 and abs(tip[0, 1] - heel[0, 1]) < 0.02  # flat, forward
    assert heel[1, 1] - tip[1, 1] > 0.3 and abs(tip[1, 2] - heel[1, 2]) < 0.02  # pointing down


@pytest.mark.integration
@pytest.mark.skipif(not CMU_DATA.is_dir(), reason=f"shared CMU data absent ({CMU_DATA})")
def test_cmu_feet_from_the_ankles_stand_on_the_floor_and_point_ahead() -> None:
    """On a CMU walk (no toe joints), the lower shoe's sole touches the floor (y = 0) and
    that foot points where the walker goes."""
    body = BodyMap.from_json(CMU_DATA / "joint_map.json")
    motion = read_bvh(CMU_DATA / "data" / "91_29.bvh")
    k = body_scale(motion, body)
    hips = motion.positions[:, motion.index(body.hips)]
    velocity = np.gradient(hips, axis=0) * [1.0, 0.0, 1.0]
    speed = np.linalg.norm(velocity, axis=1)
    walking = speed > 0.5 * motion.frame_time_s  # faster than 0.5 m/s
    assert walking.mean() > 0.4
    soles, heading = [], []
    for side in ("l", "r"):
        ankle = motion.index(getattr(body, f"{side}_ankle"))
        _, heel, tip = synthetic_foot(
            motion.positions[:, ankle], motion.rotations[:, ankle], body, k
        )
        soles.append(np.minimum(heel[:, 1] - k * 0.042, tip[:, 1] - k * 0.038))
        along = (tip - heel) * [1.0, 0.0, 1.0]
        heading.append(np.sum(along * velocity, axis=1) / np.linalg.norm(along, axis=1))
    lower = np.argmin(soles, axis=0)
    frames = np.arange(motion.n_frames)
    sole = np.array(soles)[lower, frames][walking]
    assert -0.02 < np.median(sole) < 0.04, np.percentile(sole, [5, 50, 95])
    cos = np.array(heading)[lower, frames][walking] / speed[walking]
    assert np.percentile(cos, 10) > 0.8, np.percentile(cos, [5, 10, 50])
