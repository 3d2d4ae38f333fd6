"""Ray casting against the mannequin's primitives: nearest hits and surface normals.

Rays start at the camera centre (the origin of camera axes) with unit directions
(rx, ry, rz); every `*_hit` returns the distance t along each ray (`FAR`, inf, for a
miss), every `*_normal` the unit outward normals at surface points. Shapes: round cones
(Quilez's intersector), flat cones (a round cone in a squashed space) and ellipsoids; see
`offline.render.body.Part`. float32 arrays, float64 shape parameters.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from offline.render.body import Part

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

FAR: Final[float] = np.inf


def cone_hit(rx: F32, ry: F32, rz: F32, a: F64, b: F64, ra: float, rb: float) -> F32:
    """Nearest hit of unit rays from the origin with a round cone (Quilez's intersector)."""
    ba = b - a
    m0 = float(ba @ ba)
    m1 = -float(ba @ a)  # ba . (origin - a)
    m5 = float(a @ a)
    m7 = float(b @ b)
    rr = ra - rb
    d2 = m0 - rr * rr
    k0 = d2 * m5 - m1 * m1 + 2.0 * m1 * rr * ra - m0 * ra * ra
    f32 = np.float32
    m2 = rx * f32(ba[0]) + ry * f32(ba[1]) + rz * f32(ba[2])
    m3 = -(rx * f32(a[0]) + ry * f32(a[1]) + rz * f32(a[2]))  # rd . (origin - a)
    m6 = -(rx * f32(b[0]) + ry * f32(b[1]) + rz * f32(b[2]))
    k2 = f32(d2) - m2 * m2
    k1 = f32(d2) * m3 + m2 * f32(rr * ra - m1)
    h = k1 * k1 - f32(k0) * k2
    with np.errstate(invalid="ignore", divide="ignore"):
        t_body = (-np.sqrt(h) - k1) / k2
        y = f32(m1 - ra * rr) + t_body * m2
        body = (h >= 0) & (y > 0) & (y < d2)
        h1 = m3 * m3 + f32(ra * ra - m5)
        h2 = m6 * m6 + f32(rb * rb - m7)
        t1 = np.where(h1 >= 0, -m3 - np.sqrt(h1), f32(FAR))
        t2 = np.where(h2 >= 0, -m6 - np.sqrt(h2), f32(FAR))
    t = np.where(body, t_body, np.minimum(t1, t2))
    t[h < 0] = FAR
    t[~(t > 0)] = FAR  # behind the camera or NaN
    return t


def cone_normal(
    px: F32, py: F32, pz: F32, a: F64, b: F64, ra: float, rb: float
) -> tuple[F32, F32, F32]:
    """Unit outward normals of a round cone at surface points p."""
    f32 = np.float32
    ba = b - a
    rr = ra - rb
    d2 = float(ba @ ba) - rr * rr
    qx, qy, qz = px - f32(a[0]), py - f32(a[1]), pz - f32(a[2])
    y = qx * f32(ba[0]) + qy * f32(ba[1]) + qz * f32(ba[2]) - f32(ra * rr)
    nx = f32(d2) * qx - f32(ba[0]) * y
    ny = f32(d2) * qy - f32(ba[1]) * y
    nz = f32(d2) * qz - f32(ba[2]) * y
    cap_a = y <= 0
    cap_b = y >= d2
    if cap_a.any():
        nx[cap_a], ny[cap_a], nz[cap_a] = qx[cap_a], qy[cap_a], qz[cap_a]
    if cap_b.any():
        nx[cap_b] = px[cap_b] - f32(b[0])
        ny[cap_b] = py[cap_b] - f32(b[1])
        nz[cap_b] = pz[cap_b] - f32(b[2])
    inv = 1.0 / np.sqrt(nx * nx + ny * ny + nz * nz + f32(1e-20))
    return nx * inv, ny * inv, nz * inv


def _squash_matrix(p: Part, frame: int) -> F64:
    """Linear map that turns a flat cone into a round one (forward axis scaled by 1/squash)."""
    assert p.axes is not None
    axes = p.axes[frame]
    squash: F64 = axes @ np.diag([1.0, 1.0, 1.0 / p.squash]) @ axes.T
    return squash


def flatcone_hit(rx: F32, ry: F32, rz: F32, p: Part, frame: int) -> F32:
    """Nearest hit with a flat cone: a round cone hit in the unsquashed space.

    The map is linear and the rays start at the origin, so they still start there; their
    directions are renormalised and the distance scaled back.
    """
    assert p.b is not None
    m = _squash_matrix(p, frame)
    f32 = np.float32
    d = [rx * f32(m[i, 0]) + ry * f32(m[i, 1]) + rz * f32(m[i, 2]) for i in range(3)]
    inv = 1.0 / np.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    t = cone_hit(d[0] * inv, d[1] * inv, d[2] * inv, m @ p.a[frame], m @ p.b[frame], p.ra, p.rb)
    scaled: F32 = t * inv
    return scaled


def flatcone_normal(px: F32, py: F32, pz: F32, p: Part, frame: int) -> tuple[F32, F32, F32]:
    """Unit outward normals of a flat cone: the round cone's normal mapped back (by M^T)."""
    assert p.b is not None
    m = _squash_matrix(p, frame)
    f32 = np.float32
    q = [px * f32(m[i, 0]) + py * f32(m[i, 1]) + pz * f32(m[i, 2]) for i in range(3)]
    n = cone_normal(q[0], q[1], q[2], m @ p.a[frame], m @ p.b[frame], p.ra, p.rb)
    w = [n[0] * f32(m[0, j]) + n[1] * f32(m[1, j]) + n[2] * f32(m[2, j]) for j in range(3)]
    inv = 1.0 / np.sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2] + f32(1e-20))
    return w[0] * inv, w[1] * inv, w[2] * inv


def ellipsoid_hit(
    rx: F32, ry: F32, rz: F32, c: F64, axes: F64, radii: tuple[float, float, float]
) -> F32:
    """Nearest hit of unit rays from the origin with an ellipsoid."""
    f32 = np.float32
    m = axes.T / np.asarray(radii)[:, None]  # rows: axis_k / radius_k; maps p - c to unit sphere
    o = -(m @ c)  # the ray origin in unit-sphere coordinates
    d0 = rx * f32(m[0, 0]) + ry * f32(m[0, 1]) + rz * f32(m[0, 2])
    d1 = rx * f32(m[1, 0]) + ry * f32(m[1, 1]) + rz * f32(m[1, 2])
    d2 = rx * f32(m[2, 0]) + ry * f32(m[2, 1]) + rz * f32(m[2, 2])
    a = d0 * d0 + d1 * d1 + d2 * d2
    b = d0 * f32(o[0]) + d1 * f32(o[1]) + d2 * f32(o[2])
    # b^2 - a (|o|^2 - 1) = a - |o x d|^2, without the cancellation of two large numbers.
    cx = f32(o[1]) * d2 - f32(o[2]) * d1
    cy = f32(o[2]) * d0 - f32(o[0]) * d2
    cz = f32(o[0]) * d1 - f32(o[1]) * d0
    disc = a - (cx * cx + cy * cy + cz * cz)
    with np.errstate(invalid="ignore"):
        t: F32 = (-b - np.sqrt(disc)) / a
    t[~(disc >= 0) | ~(t > 0)] = FAR
    return t


def ellipsoid_normal(
    px: F32, py: F32, pz: F32, c: F64, axes: F64, radii: tuple[float, float, float]
) -> tuple[F32, F32, F32]:
    """Unit outward normals of an ellipsoid at surface points p."""
    f32 = np.float32
    g = axes / np.asarray(radii) ** 2  # columns axis_k / radius_k^2
    qx, qy, qz = px - f32(c[0]), py - f32(c[1]), pz - f32(c[2])
    # gradient = sum_k axis_k (axis_k . q) / r_k^2
    s = [qx * f32(axes[0, k]) + qy * f32(axes[1, k]) + qz * f32(axes[2, k]) for k in range(3)]
    nx = s[0] * f32(g[0, 0]) + s[1] * f32(g[0, 1]) + s[2] * f32(g[0, 2])
    ny = s[0] * f32(g[1, 0]) + s[1] * f32(g[1, 1]) + s[2] * f32(g[1, 2])
    nz = s[0] * f32(g[2, 0]) + s[1] * f32(g[2, 1]) + s[2] * f32(g[2, 2])
    inv = 1.0 / np.sqrt(nx * nx + ny * ny + nz * nz + f32(1e-20))
    return nx * inv, ny * inv, nz * inv
