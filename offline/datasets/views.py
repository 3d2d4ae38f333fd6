"""A 3D movement seen by virtual cameras: the image-plane joints the `image` features
need, for skeletons that have no video (motion capture, .npz skeleton files)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from offline.datasets.movement import Movement
from offline.mocap.virtual_camera import VirtualCamera
from pipeline import skeleton as sk

F64 = npt.NDArray[np.float64]


class CameraViews(Protocol):
    """What `view_movements` reads from the options (`MocapOptions` has it)."""

    @property
    def views_deg(self) -> tuple[float, ...]: ...
    @property
    def distance_m(self) -> float: ...
    @property
    def image_jitter(self) -> float: ...
    @property
    def world_jitter_m(self) -> float: ...


def view_movements(
    world: npt.NDArray[np.floating[Any]],
    t_s: F64,
    label: str,
    groups: Mapping[str, str],
    name: str,
    options: CameraViews,
    rng: np.random.Generator,
    *,
    fps: float | None = None,
    units_per_m: float = 1.0,
    floor_y: float = 0.0,
) -> list[Movement]:
    """One 3D movement seen by a virtual camera from each of `options.views_deg`.

    For complete skeletons in metres on a floor at y = 0 (the defaults) this gives the
    same numbers as `offline.datasets.mocap.clip_sequences` for the same `rng` state:
    per view, the camera's image-plane joints, then image jitter (a fraction of the
    median body height in the image), then world jitter, in that order of random draws.

    Args:
        world: (N, 13, 3) shared joints, y up, NaN where unseen.
        t_s: (N,) increasing seconds.
        label, groups, name: the movements' label, groups (each gets "view_deg") and name
            (each gets "@<view>").
        options: views, camera distance, jitter.
        rng: draws the jitter.
        fps: frame rate for the camera's smoothing; default from the median frame step.
        units_per_m: `world` units per metre: the camera sees `world` in metres and world
            jitter is scaled to `world`'s unit, which the movements keep.
        floor_y: the floor's height in `world` units (the camera stands above it).

    Missing joints: visibility is 1 where a joint is finite and 0 where it is NaN; a NaN
    joint stays NaN in the image, and frames with a NaN hip are placed by interpolating
    the hips over time, so one unseen hip does not blank the whole frame's image.
    """
    world = np.asarray(world)
    fps = _frame_rate(t_s) if fps is None else fps
    camera_world = world
    if units_per_m != 1.0 or floor_y != 0.0:
        camera_world = (world - np.array([0.0, floor_y, 0.0])) / units_per_m
    camera_world = _hips_filled(camera_world)
    seen = np.isfinite(world).all(axis=-1)
    visibility = seen.astype(np.float32)
    out = []
    for view in options.views_deg:
        camera = VirtualCamera(yaw_deg=float(view), distance_m=options.distance_m)
        plane = camera.image_points(camera_world, fps)  # image-plane joints, not pixels
        if not seen.all():
            plane[~seen] = np.nan  # joints placed only for the camera
        noisy_world = world
        if options.image_jitter > 0:
            height = _median_height(plane[..., 1], seen)
            plane = plane + rng.normal(0.0, options.image_jitter * height, plane.shape)
        if options.world_jitter_m > 0:
            sigma = options.world_jitter_m * units_per_m
            noisy_world = world + rng.normal(0.0, sigma, world.shape)
        out.append(
            Movement(
                world=noisy_world.astype(np.float32),
                image=plane.astype(np.float32),
                visibility=visibility,
                t_s=t_s,
                label=label,
                groups={**groups, "view_deg": f"{view:g}"},
                source="mocap",
                name=f"{name}@{view:g}",
            )
        )
    return out


def _frame_rate(t_s: F64) -> float:
    """Frames per second from the median step (1 for fewer than two frames)."""
    if t_s.shape[0] < 2:
        return 1.0
    return float(1.0 / np.median(np.diff(t_s)))


def _hips_filled(world: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """`world` with each hip's NaN frames interpolated along time (ends held), for placing
    the camera; unchanged (the same array) when both hips are seen in every frame."""
    hips = world[:, [sk.L_HIP, sk.R_HIP]]
    good = np.isfinite(hips).all(axis=-1)  # (N, 2)
    if good.all() or not good.any(axis=0).all():
        return world
    out = np.array(world, copy=True)
    frames = np.arange(world.shape[0])
    for k, joint in enumerate((sk.L_HIP, sk.R_HIP)):
        ok = good[:, k]
        for d in range(3):
            out[:, joint, d] = np.interp(frames, frames[ok], world[ok, joint, d])
    return out


def _median_height(y: npt.NDArray[Any], seen: npt.NDArray[np.bool_]) -> np.floating[Any]:
    """Median over frames of the body's image height (top to bottom joint), from frames
    where every joint is seen if any are (for complete skeletons: `np.ptp` per frame).
    A numpy scalar of `y`'s dtype, as in `clip_sequences`, so the jitter draws match."""
    complete = seen.all(axis=1)
    if complete.any():
        rows = y[complete]
        height: np.floating[Any] = np.median(np.ptp(rows, axis=1))
        return height
    heights = np.fmax.reduce(y, axis=1) - np.fmin.reduce(y, axis=1)
    return np.median(heights[np.isfinite(heights)])  # type: ignore[no-any-return]
