"""Tests for offline/render/body.py: the mannequin's size and primitives."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline.mocap.bvh import read_bvh
from offline.mocap.virtual_camera import VirtualCamera
from offline.render.body import body_scale
from offline.render.scene import build_scene


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
