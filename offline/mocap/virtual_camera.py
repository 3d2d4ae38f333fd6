"""The virtual camera: a simulated pinhole camera that follows a motion-capture subject.

Not a real camera (no capture device is opened here). Used twice, with one definition:
to project mocap skeletons into the image plane for training on image-plane features
(`offline.datasets.mocap`), and to render mocap clips as video (`offline.render`). World
axes are those of `pipeline.skeleton` (metres, y up).

The camera stands `distance_m` from the subject's (smoothed) hips at `yaw_deg` around
them, measured from the subject's mean facing over the clip: 0 = in front, 90 = at the
subject's left, -90 = at their right. It looks at a point `look_at_height_m` above the
floor over the hips. Image right is the camera's right, so a subject facing the camera
has their left on the image's right, as in a webcam image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from pipeline import skeleton as sk
from pipeline.validate import check_positive

FloatArr = npt.NDArray[np.float64]
Points = npt.NDArray[np.floating[Any]]  # float32 or float64 input


@dataclass(frozen=True, slots=True)
class CameraPoses:
    """Per-frame camera placement.

    Attributes:
        position: (F, 3) camera centre, metres.
        rotation: (F, 3, 3) rows are the camera's right, up and forward axes in world axes.
    """

    position: FloatArr
    rotation: FloatArr


@dataclass(frozen=True, slots=True)
class VirtualCamera:
    """A virtual camera orbiting a mocap subject at a fixed yaw and distance.

    Attributes:
        yaw_deg: angle around the subject from their mean facing, degrees.
        distance_m: horizontal distance from the hips, metres.
        height_m: camera height above the floor (y = 0), metres.
        look_at_height_m: height of the point looked at, metres.
        vfov_deg: vertical field of view, degrees.
        width, height: image size, pixels.
        follow_s: the hips are smoothed over this many seconds before the camera follows.
    """

    yaw_deg: float = 0.0
    distance_m: float = 3.0
    height_m: float = 1.2
    look_at_height_m: float = 0.9
    vfov_deg: float = 45.0
    width: int = 480
    height: int = 640
    follow_s: float = 0.5

    def __post_init__(self) -> None:
        check_positive("distance_m", self.distance_m, "metres")
        check_positive("width", self.width, "pixels")
        check_positive("height", self.height, "pixels")
        if not 0 < self.vfov_deg < 180:
            raise ValueError(f"`vfov_deg` must be in (0, 180) degrees, got {self.vfov_deg}")

    @property
    def focal_px(self) -> float:
        """Focal length in pixels (square pixels)."""
        focal: float = 0.5 * self.height / np.tan(np.deg2rad(self.vfov_deg) / 2)
        return focal

    def poses(self, world: Points, fps: float) -> CameraPoses:
        """Camera placement for each frame of a (F, J, 3) shared-joint clip at `fps`."""
        joints = cast("npt.NDArray[np.float32]", world)  # the skeleton helpers take either
        hips = sk.mid_hip(joints).astype(np.float64)
        target = _smooth(hips, max(1, int(round(self.follow_s * fps))))
        facing = sk.facing_yaw(joints)
        angle = facing + np.deg2rad(self.yaw_deg)
        offset = self.distance_m * np.array([np.sin(angle), 0.0, np.cos(angle)])
        position = target + offset
        position[:, 1] = self.height_m
        look = target.copy()
        look[:, 1] = self.look_at_height_m
        forward = _normalise(look - position)
        right = _normalise(np.cross(forward, np.array([0.0, 1.0, 0.0])))
        up = np.cross(right, forward)
        return CameraPoses(position, np.stack([right, up, forward], axis=1))

    def project(self, points: Points, poses: CameraPoses) -> tuple[FloatArr, FloatArr]:
        """Project (F, ..., 3) world points; returns pixels (F, ..., 2) (x right, y down)
        and depth along the camera's forward axis (F, ...), metres."""
        shape = points.shape
        p = points.reshape(shape[0], -1, 3) - poses.position[:, None, :]
        cam = np.einsum("fij,fnj->fni", poses.rotation, p)
        depth = cam[..., 2]
        f = self.focal_px
        u = 0.5 * self.width + f * cam[..., 0] / depth
        v = 0.5 * self.height - f * cam[..., 1] / depth
        return (
            np.stack([u, v], axis=-1).reshape(*shape[:-1], 2),
            depth.reshape(shape[:-1]),
        )

    def image_points(self, world: Points, fps: float) -> npt.NDArray[np.float32]:
        """(F, J, 3) clip -> (F, J, 2) image-plane joint coordinates (not pixels) in image
        heights, y up (the units of `pipeline.skeleton.from_mediapipe`)."""
        pixel_xy, _ = self.project(world, self.poses(world, fps))
        plane: npt.NDArray[np.float32] = (pixel_xy * np.array([1.0, -1.0]) / self.height).astype(
            np.float32
        )
        return plane


def _normalise(v: FloatArr) -> FloatArr:
    unit: FloatArr = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return unit


def _smooth(x: FloatArr, n: int) -> FloatArr:
    """Centred moving average of (F, D) over `n` frames, edges held."""
    if n <= 1 or x.shape[0] < 2:
        return x.copy()
    pad = n // 2
    padded = np.concatenate([np.repeat(x[:1], pad, 0), x, np.repeat(x[-1:], n - 1 - pad, 0)])
    kernel = np.ones(n) / n
    return np.stack([np.convolve(padded[:, d], kernel, mode="valid") for d in range(x.shape[1])], 1)
