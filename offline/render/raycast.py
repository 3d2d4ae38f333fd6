"""The ray-casting renderer: draws a `Scene` frame by frame for one virtual camera.

Each pixel's ray is intersected with the primitives whose projected bounding box contains
it (`offline.render.intersect`; a z-buffer keeps the nearest hit), then shaded with a
camera-side key light (Lambert + specular) in skin, shirt, trousers and shoe colours; a
face (eyes, brows, mouth, hair) is painted on the head in the head joint's axes, because
the pose detector leans on the face; a V neckline, belt buckle and back pockets tell the
front of the body from its back. A floor and a wall (with soft contact shadows) fill the
background. Everything is vectorised numpy in float32 with no random state, so the same
clip and settings give byte-identical frames.

Pixel (column i, row j) shows the ray through the projected point (i + 0.5, j + 0.5) of
`VirtualCamera.project`, so `pixels / (width, height)` are MediaPipe's normalised image
coordinates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from offline.mocap.virtual_camera import CameraPoses, VirtualCamera
from offline.render.body import (
    BOTTOM,
    FACE,
    PAINT_FRAME,
    SHIRT,
    SHOES,
    SKIN,
    TOP,
    TROUSERS,
    Look,
    Part,
)
from offline.render.intersect import (
    cone_hit,
    cone_normal,
    ellipsoid_hit,
    ellipsoid_normal,
    flatcone_hit,
    flatcone_normal,
)
from offline.render.scene import Scene

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RenderedFrame:
    """One rendered frame.

    Attributes:
        image: (H, W, 3) uint8, BGR (OpenCV order).
        part: (H, W) int16 index into `Scene.parts` of the surface seen, -1 for background.
        depth: (H, W) float32 distance along each pixel's ray, metres (inf for background).
    """

    image: npt.NDArray[np.uint8]
    part: npt.NDArray[np.int16]
    depth: F32


class Renderer:
    """Draws a `Scene` frame by frame for one camera (image size and focal length).

    Args:
        camera: the virtual camera that posed the scene (its image size, focal length and
            distance, which places the wall, are used here; its placement per frame comes
            from the scene's poses).
        look: colours and lighting.
    """

    def __init__(self, camera: VirtualCamera, look: Look | None = None) -> None:
        self.camera = camera
        self.look = look or Look()
        w, h, f = camera.width, camera.height, camera.focal_px
        x = (np.arange(w, dtype=np.float64) + 0.5 - 0.5 * w) / f
        y = -(np.arange(h, dtype=np.float64) + 0.5 - 0.5 * h) / f
        xx, yy = np.meshgrid(x, y)
        norm = np.sqrt(xx * xx + yy * yy + 1.0)
        # Unit ray directions through the pixel centres, camera axes (x right, y up, z fwd).
        self.rays: tuple[F32, F32, F32] = (
            (xx / norm).astype(np.float32),
            (yy / norm).astype(np.float32),
            (1.0 / norm).astype(np.float32),
        )
        self._background_key: tuple[float, ...] | None = None
        self._background: npt.NDArray[np.uint8] | None = None
        self._floor_ab: tuple[F32, F32] | None = None
        self._floor_basis: F64 | None = None
        light = np.asarray(self.look.light_dir, dtype=np.float64)
        self._light = light / np.linalg.norm(light)
        look = self.look
        colours = {
            SKIN: look.skin,
            SHIRT: look.shirt,
            TROUSERS: look.trousers,
            SHOES: look.shoes,
            FACE: look.skin,
            TOP: look.shirt,
            BOTTOM: look.trousers,
        }  # base colours
        # RGB 0..1 per material (painted materials start from their base colour)
        self._albedo = np.array([colours[m] for m in range(len(colours))], np.float32) / 255.0

    # ------------------------------------------------------------------ background

    def background(self, poses: CameraPoses, frame: int) -> npt.NDArray[np.uint8]:
        """(H, W, 3) uint8 BGR floor and wall for one frame's camera (cached per tilt)."""
        rot = poses.rotation[frame]
        height = float(poses.position[frame, 1])
        key = tuple(np.round(np.r_[rot[:, 1], height], 9))  # world up in camera axes + height
        if key != self._background_key:
            self._background, self._floor_ab, self._floor_basis = self._make_background(rot, height)
            self._background_key = key
        assert self._background is not None
        return self._background

    def _make_background(
        self, rot: F64, height: float
    ) -> tuple[npt.NDArray[np.uint8], tuple[F32, F32], F64]:
        look = self.look
        rx, ry, rz = (r.astype(np.float64) for r in self.rays)
        up = rot[:, 1]  # world up in camera axes
        fwd_world = rot[2] - rot[2, 1] * np.array([0.0, 1.0, 0.0])
        fwd_world /= np.linalg.norm(fwd_world)
        fwd = rot @ fwd_world  # horizontal forward in camera axes
        right = np.cross(fwd, up)  # horizontal right in camera axes
        r_up = rx * up[0] + ry * up[1] + rz * up[2]
        r_fwd = rx * fwd[0] + ry * fwd[1] + rz * fwd[2]
        wall_d = self.camera.distance_m + look.wall_gap_m
        with np.errstate(divide="ignore", invalid="ignore"):
            t_floor = np.where(r_up < -1e-9, -height / r_up, np.inf)
            t_wall = np.where(r_fwd > 1e-9, wall_d / r_fwd, np.inf)
        floor = t_floor < t_wall
        wall_col = np.asarray(look.wall, dtype=np.float64) / 255.0
        floor_col = np.asarray(look.floor, dtype=np.float64) / 255.0
        # Wall: lit from above, darker towards the floor; a skirting board at its foot.
        y_wall = height + t_wall * r_up
        shade_wall = 0.82 + 0.12 * np.clip(y_wall / 2.5, 0.0, 1.0)
        img = wall_col * shade_wall[..., None]
        skirting = (~floor) & (y_wall < 0.10)
        img[skirting] = wall_col * 0.55
        # Floor: darker with distance, faint boards along the view direction.
        dist = np.where(floor, t_floor, 0.0)
        a = dist * (rx * right[0] + ry * right[1] + rz * right[2])  # metres right of camera
        b = dist * r_fwd  # metres ahead of the camera
        boards = 0.96 + 0.04 * np.cos(2 * np.pi * a / 0.18) ** 8
        shade_floor = (0.95 - 0.25 * np.clip((b - 1.0) / (wall_d - 1.0), 0.0, 1.0)) * boards
        img[floor] = floor_col * shade_floor[floor][:, None]
        bgr = np.clip(img[..., ::-1] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        fa = np.where(floor, a, np.nan).astype(np.float32)
        fb = np.where(floor, b, np.nan).astype(np.float32)
        return bgr, (fa, fb), np.stack([right, up, fwd])

    # ------------------------------------------------------------------ one frame

    def render(self, scene: Scene, frame: int) -> RenderedFrame:
        """Render frame `frame` of `scene`."""
        h, w = self.camera.height, self.camera.width
        image = self.background(scene.poses, frame).copy()
        depth = np.full((h, w), np.inf, dtype=np.float32)
        part = np.full((h, w), -1, dtype=np.int16)
        boxes: list[tuple[int, int, int, int] | None] = []
        for k, p in enumerate(scene.parts):
            box = self._box(p, frame)
            boxes.append(box)
            if box is None:
                continue
            y0, y1, x0, x1 = box
            rx, ry, rz = (r[y0:y1, x0:x1] for r in self.rays)
            if p.kind == "cone":
                assert p.b is not None
                t = cone_hit(rx, ry, rz, p.a[frame], p.b[frame], p.ra, p.rb)
            elif p.kind == "flatcone":
                t = flatcone_hit(rx, ry, rz, p, frame)
            else:
                assert p.axes is not None
                t = ellipsoid_hit(rx, ry, rz, p.a[frame], p.axes[frame], p.radii)
            zr = depth[y0:y1, x0:x1]
            closer = t < zr
            np.copyto(zr, t, where=closer)
            np.copyto(part[y0:y1, x0:x1], np.int16(k), where=closer)
        self._shadow(image, depth, scene, frame)
        for k, (p, box) in enumerate(zip(scene.parts, boxes, strict=True)):
            if box is not None:
                self._shade(image, depth, part, k, p, box, scene, frame)
        return RenderedFrame(image, part, depth)

    def _box(self, p: Part, frame: int) -> tuple[int, int, int, int] | None:
        """Pixel rows/cols [y0, y1) x [x0, x1) that can see the part, or None."""
        if p.kind in ("cone", "flatcone"):
            assert p.b is not None
            centres = np.stack([p.a[frame], p.b[frame]])
            radii = np.array([p.ra, p.rb])
        else:
            centres = p.a[frame][None]
            radii = np.array([max(p.radii)])
        near = centres[:, 2] - radii
        if (near < 0.05).any():
            return None  # at or behind the camera: never the case for a subject metres away
        corners = centres[:, None, :] + radii[:, None, None] * _CUBE[None]
        uv = corners[..., :2] / corners[..., 2:3]
        f = self.camera.focal_px
        u = 0.5 * self.camera.width + f * uv[..., 0]
        v = 0.5 * self.camera.height - f * uv[..., 1]
        x0 = max(int(np.floor(u.min() - 0.5)), 0)
        x1 = min(int(np.ceil(u.max() + 0.5)), self.camera.width)
        y0 = max(int(np.floor(v.min() - 0.5)), 0)
        y1 = min(int(np.ceil(v.max() + 0.5)), self.camera.height)
        if x1 <= x0 or y1 <= y0:
            return None
        return y0, y1, x0, x1

    def _shadow(self, image: npt.NDArray[np.uint8], depth: F32, scene: Scene, frame: int) -> None:
        """Darken the floor under the feet and hips with soft blobs (in place)."""
        if self.look.shadow <= 0 or self._floor_ab is None or self._floor_basis is None:
            return
        pts = scene.shadow_points[frame] @ self._floor_basis.T  # (K, 3): right, up, forward
        cam_h = float(scene.poses.position[frame, 1])
        height = pts[:, 1] + cam_h  # above the floor
        sigma = np.array([0.09, 0.09, 0.09, 0.09, 0.22])
        strength = (
            self.look.shadow
            * np.array([0.5, 0.5, 0.5, 0.5, 0.6])
            * np.exp(-np.maximum(height - np.array([0.1, 0.1, 0.05, 0.05, 0.9]), 0.0) / 0.4)
        )
        fa, fb = self._floor_ab
        reach = 2.5 * sigma
        # Screen box of the blobs: project the corners of their floor squares.
        ground = np.stack([pts[:, 0], np.full(len(pts), -cam_h), pts[:, 2]], axis=1)
        corners = np.concatenate(
            [ground + np.array([sa, 0, sb]) * reach[:, None] for sa in (-1, 1) for sb in (-1, 1)]
        )
        cam = corners @ self._floor_basis  # back to camera axes
        if (cam[:, 2] < 0.1).any():
            return
        f = self.camera.focal_px
        u = 0.5 * self.camera.width + f * cam[:, 0] / cam[:, 2]
        v = 0.5 * self.camera.height - f * cam[:, 1] / cam[:, 2]
        x0, x1 = max(int(u.min()) - 1, 0), min(int(u.max()) + 2, self.camera.width)
        y0, y1 = max(int(v.min()) - 1, 0), min(int(v.max()) + 2, self.camera.height)
        if x1 <= x0 or y1 <= y0:
            return
        a, b = fa[y0:y1, x0:x1], fb[y0:y1, x0:x1]
        light = np.ones_like(a)
        for k in range(len(pts)):
            d2 = (a - np.float32(pts[k, 0])) ** 2 + (b - np.float32(pts[k, 2])) ** 2
            light *= 1.0 - np.float32(strength[k]) * np.exp(d2 * np.float32(-0.5 / sigma[k] ** 2))
        mask = np.isfinite(light) & (light < 0.999) & ~np.isfinite(depth[y0:y1, x0:x1])
        region = image[y0:y1, x0:x1]
        region[mask] = (region[mask] * light[mask][:, None] + 0.5).astype(np.uint8)

    def _shade(
        self,
        image: npt.NDArray[np.uint8],
        depth: F32,
        part: npt.NDArray[np.int16],
        k: int,
        p: Part,
        box: tuple[int, int, int, int],
        scene: Scene,
        frame: int,
    ) -> None:
        """Shade the pixels where part `k` is the nearest surface (in place)."""
        y0, y1, x0, x1 = box
        mask = part[y0:y1, x0:x1] == k
        if not mask.any():
            return
        t = depth[y0:y1, x0:x1][mask]
        rx, ry, rz = (r[y0:y1, x0:x1][mask] for r in self.rays)
        px, py, pz = t * rx, t * ry, t * rz  # hit points, camera axes
        if p.kind == "cone":
            assert p.b is not None
            nx, ny, nz = cone_normal(px, py, pz, p.a[frame], p.b[frame], p.ra, p.rb)
        elif p.kind == "flatcone":
            nx, ny, nz = flatcone_normal(px, py, pz, p, frame)
        else:
            assert p.axes is not None
            nx, ny, nz = ellipsoid_normal(px, py, pz, p.a[frame], p.axes[frame], p.radii)
        look = self.look
        f32 = np.float32
        lx, ly, lz = (np.float32(c) for c in self._light)
        lam = np.maximum(nx * lx + ny * ly + nz * lz, 0.0)
        # Blinn-Phong half vector between the light and the direction to the camera (-ray).
        hx, hy, hz = lx - rx, ly - ry, lz - rz
        hn = np.sqrt(hx * hx + hy * hy + hz * hz)
        spec = np.maximum((nx * hx + ny * hy + nz * hz) / hn, 0.0) ** np.float32(look.shininess)
        sky = np.float32(0.08) * ny  # a little light from above, a little less from below
        light = np.float32(look.ambient) + sky + np.float32(look.diffuse) * lam
        if p.material in PAINT_FRAME:
            origin, axes = scene.frames[PAINT_FRAME[p.material]]
            o, ax = origin[frame], axes[frame]
            dx, dy, dz = px - f32(o[0]), py - f32(o[1]), pz - f32(o[2])
            inv = f32(1.0 / scene.scale)
            lat, up, fwd = (
                (dx * f32(ax[0, c]) + dy * f32(ax[1, c]) + dz * f32(ax[2, c])) * inv
                for c in range(3)
            )  # from the frame's joint along its lateral, up and forward axes, Bandai metres
            albedo = _PAINTERS[p.material](self, lat, up, fwd)
        else:
            albedo = np.broadcast_to(self._albedo[p.material], (t.size, 3))
        rgb = albedo * light[:, None] + (np.float32(look.specular) * spec)[:, None]
        bgr = np.clip(rgb[:, ::-1] * np.float32(255.0) + np.float32(0.5), 0, 255).astype(np.uint8)
        image[y0:y1, x0:x1][mask] = bgr

    def _face_albedo(self, lat: F32, up: F32, fwd: F32) -> F32:
        """(N, 3) RGB albedo of head/jaw points (head axes, metres from the head joint)."""
        look = self.look
        colour = np.empty((lat.size, 3), dtype=np.float32)
        colour[:] = self._albedo[SKIN]
        front = fwd > 0.02
        # Hair: over the top and the back, hairline at the forehead, longer at the back.
        hairline = np.where(
            fwd > 0.035,
            np.float32(0.158),
            np.float32(0.158) - np.float32(1.2) * (np.float32(0.035) - fwd),
        )
        hairline = np.maximum(hairline, np.float32(0.035))
        side = np.abs(lat) > 0.066
        back = (fwd < -0.005) & (up > 0.07)
        hair = (up > hairline) | back | (side & (up > 0.115) & (fwd < 0.05))
        colour[hair] = np.asarray(look.hair, np.float32) / 255
        for s in (-1.0, 1.0):
            ex = lat - np.float32(0.031 * s)
            ey = up - np.float32(0.106)
            eye = front & ((ex / np.float32(0.0135)) ** 2 + (ey / np.float32(0.0075)) ** 2 < 1)
            colour[eye] = np.asarray(look.eye_white, np.float32) / 255
            iris = front & (ex * ex + ey * ey < np.float32(0.0062**2))
            colour[iris] = np.asarray(look.iris, np.float32) / 255
            brow_y = np.float32(0.126) + np.float32(0.12) * (np.abs(ex) * np.float32(-1.0) + 0.015)
            brow = front & (np.abs(ex) < 0.017) & (np.abs(up - brow_y) < 0.0042)
            colour[brow] = np.asarray(look.brows, np.float32) / 255
        mouth_y = np.float32(0.036) + np.float32(1.8) * lat * lat
        mouth = front & (np.abs(lat) < 0.022) & (np.abs(up - mouth_y) < 0.0045)
        colour[mouth] = np.asarray(look.lips, np.float32) / 255
        return colour

    def _top_albedo(self, lat: F32, up: F32, fwd: F32) -> F32:
        """(N, 3) RGB albedo of shirt points (chest axes): a V neckline with a collar seam."""
        look = self.look
        colour = np.empty((lat.size, 3), dtype=np.float32)
        colour[:] = self._albedo[SHIRT]
        side = np.abs(lat)
        neckline = np.float32(0.125) + np.float32(0.9) * np.minimum(side, np.float32(0.05))
        front = fwd > 0.0
        collar = front & (up > neckline - np.float32(0.008))
        colour[collar] = self._albedo[SHIRT] * np.float32(0.55)
        colour[front & (up > neckline)] = np.asarray(look.skin, np.float32) / 255
        return colour

    def _bottom_albedo(self, lat: F32, up: F32, fwd: F32) -> F32:
        """(N, 3) RGB albedo of the hips (pelvis axes): shirt, belt, trousers, fly, pockets."""
        colour = np.empty((lat.size, 3), dtype=np.float32)
        base = self._albedo[TROUSERS]
        colour[:] = base
        side = np.abs(lat)
        colour[up >= 0.085] = self._albedo[SHIRT]  # the shirt hangs over the belt
        belt = (up > 0.055) & (up < 0.085)
        colour[belt] = base * np.float32(0.45)
        buckle = belt & (fwd > 0.0) & (side < 0.022) & (up > 0.058) & (up < 0.082)
        colour[buckle] = np.float32(0.78)
        fly = (fwd > 0.0) & (side < 0.005) & (up < 0.05) & (up > -0.09)
        colour[fly] = base * np.float32(0.6)
        pocket = (fwd < 0.0) & (side > 0.03) & (side < 0.11) & (up < 0.03) & (up > -0.09)
        seam = pocket & ~((side > 0.036) & (side < 0.104) & (up < 0.024) & (up > -0.084))
        colour[pocket] = base * np.float32(1.25)
        colour[seam] = base * np.float32(1.8)
        return colour

    def frames(
        self, scene: Scene, frames: Iterable[int] | None = None
    ) -> Iterator[npt.NDArray[np.uint8]]:
        """Yield (H, W, 3) uint8 BGR images of the given frames (default all)."""
        for f in range(scene.n_frames) if frames is None else frames:
            yield self.render(scene, int(f)).image


_PAINTERS: Final[dict[int, Callable[[Renderer, F32, F32, F32], F32]]] = {
    FACE: Renderer._face_albedo,
    TOP: Renderer._top_albedo,
    BOTTOM: Renderer._bottom_albedo,
}

_CUBE: Final[F64] = np.array(
    [[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=np.float64
)
