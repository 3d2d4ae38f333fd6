"""What keypoint extraction is asked for and what it gives back, per stream.

A *stream* is one sequence of frames of one video that pose runs on: every frame, or
chosen frame indices, optionally cropped per frame to a person's box (`StreamRequest`).
Its result is the full 33-landmark PoseLandmarker output (`KeypointStream`), so cached
results stay valid if the shared joint set changes; `KeypointStream.joints()` converts to
the shared joints exactly as the live app does (`PoseFrame.joints()`,
`pipeline.skeleton.from_mediapipe`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline import skeleton
from pipeline.types import FloatArr, IntArr
from pipeline.validate import check_array

# The arrays of a `KeypointStream`, by field name (also the array names in cache files).
ARRAYS = (
    "image", "world", "visibility", "presence", "frames", "t_s", "image_wh",
    "unreadable_frames", "frames_past_end",
)  # fmt: skip


@dataclass(frozen=True)
class StreamRequest:
    """One pose stream to extract from a video.

    Attributes:
        name: unique id of the stream (used in reports and as the result's key).
        frames: (N,) strictly increasing frame indices (0-based), or None for every frame.
        boxes: (N, 4) person boxes (x0, y0, x1, y1) as fractions of the frame's width and
            height, y down, one per frame in `frames`; None to use whole frames.
    """

    name: str
    frames: IntArr | None = None
    boxes: npt.NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        if self.frames is not None:
            check_array("frames", self.frames, (None,), kind="iu")
            if self.frames.size == 0:
                raise ValueError(f"request {self.name!r}: `frames` must not be empty")
            if self.frames[0] < 0 or (np.diff(self.frames) <= 0).any():
                raise ValueError(
                    f"request {self.name!r}: `frames` must be strictly increasing indices >= 0"
                )
        if self.boxes is not None:
            if self.frames is None:
                raise ValueError(f"request {self.name!r}: `boxes` need `frames`")
            check_array("boxes", self.boxes, (self.frames.size, 4))
            b = self.boxes
            if not np.isfinite(b).all() or (b[:, 2] <= b[:, 0]).any() or (b[:, 3] <= b[:, 1]).any():
                raise ValueError(
                    f"request {self.name!r}: `boxes` must be finite (x0, y0, x1, y1) "
                    "with x1 > x0 and y1 > y0"
                )
            if ((b[:, 2] <= 0) | (b[:, 3] <= 0) | (b[:, 0] >= 1) | (b[:, 1] >= 1)).any():
                raise ValueError(f"request {self.name!r}: every box must overlap the frame")

    def spec(self) -> dict[str, Any]:
        """The frames and boxes as JSON-able data for the cache key."""
        return {
            "frames": None if self.frames is None else digest(self.frames.astype(np.int64)),
            "boxes": None if self.boxes is None else digest(self.boxes.astype(np.float64)),
        }


@dataclass(frozen=True)
class KeypointStream:
    """PoseLandmarker output for one stream: 33 landmarks per decoded frame.

    Attributes:
        image: (N, 33, 3) image landmarks normalised to the whole frame (x / width,
            y / height, y down; z in the same scale as x), also when pose ran on a crop.
        world: (N, 33, 3) world landmarks, metres, MediaPipe camera axes (y down, z away).
        visibility: (N, 33) landmark visibility, [0, 1].
        presence: (N, 33) landmark presence, [0, 1].
        frames: (N,) frame indices, increasing.
        t_s: (N,) frame times, seconds (frame index / the video's fps).
        image_wh: (width, height) of the video frames, pixels.
        unreadable_frames: requested frame indices that failed to decode (for a
            whole-video stream: every frame skipped inside the file).
        frames_past_end: requested frame indices beyond the video's last decoded frame
            (for a whole-video stream: the frames its header lists that a file cut short
            lacks).
    Landmark arrays are NaN in frames where nobody was found.
    """

    image: FloatArr
    world: FloatArr
    visibility: FloatArr
    presence: FloatArr
    frames: IntArr
    t_s: npt.NDArray[np.float64]
    image_wh: tuple[int, int]
    unreadable_frames: IntArr = field(default_factory=lambda: np.zeros(0, np.int64))
    frames_past_end: IntArr = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        n, m = self.frames.shape[0], skeleton.N_LANDMARKS
        check_array("image", self.image, (n, m, 3))
        check_array("world", self.world, (n, m, 3))
        check_array("visibility", self.visibility, (n, m))
        check_array("presence", self.presence, (n, m))
        check_array("frames", self.frames, (n,), kind="iu")
        check_array("t_s", self.t_s, (n,))
        check_array("unreadable_frames", self.unreadable_frames, (None,), kind="iu")
        check_array("frames_past_end", self.frames_past_end, (None,), kind="iu")

    @property
    def found(self) -> npt.NDArray[np.bool_]:
        """(N,) True where a person was found."""
        found: npt.NDArray[np.bool_] = np.isfinite(self.visibility).any(axis=1)
        return found

    def joints(self) -> tuple[FloatArr, FloatArr, FloatArr]:
        """Shared joints as `PoseFrame.joints()` gives them live.

        Returns:
            world (N, J, 3) metres y-up, image (N, J, 2) in image heights y-up (whole
            frame), visibility (N, J) (0 where nobody was found).
        """
        vis = np.nan_to_num(self.visibility, nan=0.0)
        return skeleton.from_mediapipe(self.world, self.image, vis, self.image_wh)

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        return {name: np.asarray(getattr(self, name)) for name in ARRAYS}

    def since(self, frame: int) -> KeypointStream:
        """The rows of frames >= `frame` (lost frames too)."""
        keep = self.frames >= frame
        return replace(
            self,
            **{n: getattr(self, n)[keep] for n in ("image", "world", "visibility", "presence")},
            frames=self.frames[keep],
            t_s=self.t_s[keep],
            unreadable_frames=self.unreadable_frames[self.unreadable_frames >= frame],
            frames_past_end=self.frames_past_end[self.frames_past_end >= frame],
        )

    @staticmethod
    def concat(parts: list[KeypointStream]) -> KeypointStream:
        """Consecutive parts of one stream (time ranges of a video) as one stream."""
        if len(parts) == 1:
            return parts[0]
        joined = {
            n: np.concatenate([getattr(p, n) for p in parts]) for n in ARRAYS if n != "image_wh"
        }
        return KeypointStream(**joined, image_wh=parts[0].image_wh)


def digest(a: npt.NDArray[Any]) -> str:
    """sha256 of an array's bytes (C order)."""
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
