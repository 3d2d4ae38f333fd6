"""One mocap clip rendered as frames or as an .mp4 of the mannequin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from offline.mocap.body import BANDAI, BodyMap
from offline.mocap.bvh import DEFAULT_UNIT_M, Motion, read_bvh
from offline.mocap.virtual_camera import VirtualCamera
from offline.progress import Progress, no_progress
from offline.render.body import Look
from offline.render.raycast import Renderer
from offline.render.scene import build_scene
from pipeline.video import write_video


def render_motion(
    motion: Motion,
    camera: VirtualCamera,
    *,
    body: BodyMap = BANDAI,
    look: Look | None = None,
    max_frames: int | None = None,
) -> Iterator[npt.NDArray[np.uint8]]:
    """Yield (H, W, 3) uint8 BGR frames of a clip seen by `camera`.

    The camera poses are computed on the whole clip (as for training) even when only the
    first `max_frames` frames are drawn.
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"`max_frames` must be >= 1, got {max_frames}")
    scene = build_scene(motion, camera, body)
    n = scene.n_frames if max_frames is None else min(max_frames, scene.n_frames)
    return Renderer(camera, look).frames(scene, range(n))


def render_bvh(
    bvh: str | Path,
    out: str | Path,
    camera: VirtualCamera,
    *,
    body: BodyMap = BANDAI,
    look: Look | None = None,
    unit_m: float = DEFAULT_UNIT_M,
    max_frames: int | None = None,
    progress: Progress = no_progress,
) -> int:
    """Render a BVH file to an mp4 at the clip's frame rate; returns the frame count.

    `progress("render", done, total)` is told the frames written.
    """
    motion = read_bvh(bvh, unit_m=unit_m)
    frames = render_motion(motion, camera, body=body, look=look, max_frames=max_frames)
    total = motion.n_frames if max_frames is None else min(max_frames, motion.n_frames)
    done = 0
    progress("render", 0, total)

    def frame_written(n: int) -> None:
        nonlocal done
        done += n
        progress("render", done, total)

    return write_video(frames, out, 1.0 / motion.frame_time_s, frame_written)
