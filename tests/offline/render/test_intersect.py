"""Tests for offline/render/intersect.py: ray-primitive hits and normals."""

from __future__ import annotations

import numpy as np
import pytest

from offline.render.body import SHIRT, Part
from offline.render.intersect import (
    cone_hit,
    cone_normal,
    ellipsoid_hit,
    ellipsoid_normal,
    flatcone_hit,
    flatcone_normal,
)

# Reference: march along each ray in 0.5 mm steps and test inside/outside with the plain
# definition of each shape (a round cone is the union of the spheres interpolated between
# its end spheres; an ellipsoid is |M (p - c)| <= 1).

_STEP = 0.0005


def _inside_cone(p: np.ndarray, a: np.ndarray, b: np.ndarray, ra: float, rb: float) -> np.ndarray:
    s = np.linspace(0.0, 1.0, 201)
    centres = a + s[:, None] * (b - a)  # (S, 3)
    radii = ra + s * (rb - ra)
    d = np.linalg.norm(p[..., None, :] - centres, axis=-1) - radii
    return d.min(axis=-1) <= 0


def _inside_ellipsoid(p: np.ndarray, c: np.ndarray, axes: np.ndarray, radii) -> np.ndarray:
    q = (p - c) @ axes / np.asarray(radii)
    return (q * q).sum(-1) <= 1


def _reference_t(inside, rays: np.ndarray, t0: float, t1: float) -> np.ndarray:
    ts = np.arange(t0, t1, _STEP)
    out = np.full(len(rays), np.inf)
    for i, ray in enumerate(rays):
        hit = np.nonzero(inside(ts[:, None] * ray))[0]
        if hit.size:
            out[i] = ts[hit[0]]
    return out


def _random_rays(centre: np.ndarray, spread: float, n: int = 150) -> np.ndarray:
    rng = np.random.default_rng(0)
    targets = centre + rng.uniform(-spread, spread, size=(n, 3)) * np.array([1, 1, 0])
    return targets / np.linalg.norm(targets, axis=1, keepdims=True)


def _check_angles(normals: np.ndarray, reference: np.ndarray, max_deg: float = 2.0) -> None:
    reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    cos = np.clip(np.sum(normals * reference, axis=1), -1.0, 1.0)
    assert np.degrees(np.arccos(cos)).max() < max_deg


def _rotation(yaw: float, pitch: float) -> np.ndarray:
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    return np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]]) @ np.array(
        [[1, 0, 0], [0, cp, -sp], [0, sp, cp]]
    )


def _check_hits(fast: np.ndarray, ref: np.ndarray) -> None:
    both = np.isfinite(fast) & np.isfinite(ref)
    assert both.mean() > 0.2, "too few rays hit the shape for a meaningful test"
    assert np.isinf(ref).mean() > 0.1, "too few rays miss the shape for a meaningful test"
    assert np.abs(fast[both] - ref[both]).max() < 2.5 * _STEP
    assert (np.isfinite(fast) != np.isfinite(ref)).mean() < 0.02  # only grazing rays


@pytest.mark.parametrize(
    ("a", "b", "ra", "rb", "spread"),
    [
        ((0.05, 0.2, 3.0), (0.1, -0.15, 3.1), 0.08, 0.05, 0.2),  # tapering, across the view
        ((0.0, 0.0, 2.8), (0.02, 0.05, 3.2), 0.04, 0.06, 0.08),  # pointing away from the camera
        ((-0.1, 0.0, 3.0), (0.1, 0.0, 3.0), 0.05, 0.05, 0.12),  # a plain capsule
    ],
)
def test_round_cone_hits_match_ray_marching(a, b, ra: float, rb: float, spread: float) -> None:
    a, b = np.array(a), np.array(b)
    rays = _random_rays(0.5 * (a + b), spread)
    rx, ry, rz = (rays[:, k].astype(np.float32) for k in range(3))
    fast = cone_hit(rx, ry, rz, a, b, ra, rb)
    near = min(np.linalg.norm(a), np.linalg.norm(b)) - max(ra, rb) - 0.01
    far = max(np.linalg.norm(a), np.linalg.norm(b)) + 0.01
    ref = _reference_t(lambda p: _inside_cone(p, a, b, ra, rb), rays, near, far)
    _check_hits(fast, ref)
    hit = np.isfinite(fast)
    p = [fast[hit] * r[hit] for r in (rx, ry, rz)]
    n = np.stack(cone_normal(*p, a, b, ra, rb), axis=-1).astype(np.float64)
    p = np.stack(p, axis=-1).astype(np.float64)
    assert (np.sum(n * rays[hit], axis=1) < 0).all()  # normals face the camera
    assert not _inside_cone(p + 0.002 * n, a, b, ra, rb).any()
    assert _inside_cone(p - 0.002 * n, a, b, ra, rb).all()
    # the normal of a union of spheres is the radial direction of the nearest one
    s = np.linspace(0.0, 1.0, 4001)
    centres, radii = a + s[:, None] * (b - a), ra + s * (rb - ra)
    d = np.linalg.norm(p[:, None, :] - centres, axis=-1) - radii
    radial = p - centres[d.argmin(axis=1)]
    _check_angles(n, radial)


def test_ellipsoid_hits_match_ray_marching() -> None:
    c, axes, radii = np.array([0.05, 0.1, 3.0]), _rotation(0.6, 0.3), (0.12, 0.08, 0.05)
    rays = _random_rays(c, 0.15)
    rx, ry, rz = (rays[:, k].astype(np.float32) for k in range(3))
    fast = ellipsoid_hit(rx, ry, rz, c, axes, radii)
    ref = _reference_t(lambda p: _inside_ellipsoid(p, c, axes, radii), rays, 2.8, 3.2)
    _check_hits(fast, ref)
    hit = np.isfinite(fast)
    p = [fast[hit] * r[hit] for r in (rx, ry, rz)]
    n = np.stack(ellipsoid_normal(*p, c, axes, radii), axis=-1).astype(np.float64)
    p = np.stack(p, axis=-1).astype(np.float64)
    assert not _inside_ellipsoid(p + 0.002 * n, c, axes, radii).any()
    assert _inside_ellipsoid(p - 0.002 * n, c, axes, radii).all()

    def level(q: np.ndarray) -> np.ndarray:  # |M (q - c)|^2, 1 on the surface
        u = (q - c) @ axes / np.asarray(radii)
        return (u * u).sum(-1)

    eye = 1e-5 * np.eye(3)
    gradient = np.stack([level(p + e) - level(p - e) for e in eye], axis=-1)
    _check_angles(n, gradient)


def test_flat_cone_hits_match_ray_marching() -> None:
    axes = _rotation(0.8, 0.1)  # columns lateral, up, forward (camera axes)
    a, b = np.array([0.0, -0.1, 3.0]), np.array([0.02, 0.15, 3.0])
    part = Part(
        "torso", "flatcone", SHIRT, a[None], b[None], 0.12, 0.14, axes=axes[None], squash=0.6
    )
    m = axes @ np.diag([1.0, 1.0, 1 / 0.6]) @ axes.T

    def inside(p: np.ndarray) -> np.ndarray:
        return _inside_cone(p @ m.T, m @ a, m @ b, 0.12, 0.14)

    rays = _random_rays(0.5 * (a + b), 0.3)
    rx, ry, rz = (rays[:, k].astype(np.float32) for k in range(3))
    fast = flatcone_hit(rx, ry, rz, part, 0)
    _check_hits(fast, _reference_t(inside, rays, 2.7, 3.3))
    hit = np.isfinite(fast)
    p = [fast[hit] * r[hit] for r in (rx, ry, rz)]
    n = np.stack(flatcone_normal(*p, part, 0), axis=-1).astype(np.float64)
    p = np.stack(p, axis=-1).astype(np.float64)
    assert not inside(p + 0.002 * n).any()
    assert inside(p - 0.002 * n).all()
