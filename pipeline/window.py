"""Fixed-length movement windows, shared by training and the live loop.

A window covers the last `window_s` seconds of a pose stream and is resampled by
timestamps to `n_frames` (T) evenly spaced instants, so a 30 fps clip and a 60 fps camera
give the same window for the same movement. Joints below the visibility threshold are
treated as missing and filled along time by linear interpolation between the nearest
visible samples (held constant at the ends); a window with too little visible body is
refused (`make_window` returns None), never filled with zeros.

The live loop keeps the stream in a `SkeletonBuffer` (fixed memory) and the offline path
passes whole sequences; both end in the same `make_window`, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from pipeline import skeleton
from pipeline.types import FloatArr
from pipeline.validate import MAX_WINDOW_FRAMES, WINDOW_SECONDS, check_fraction, check_positive


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """How a window is cut from a pose stream; saved with every model.

    The defaults are the shipped model's, chosen by leave-one-content-out cross-validation
    among 0.67-2 s (README, "Features").

    Attributes:
        window_s: length of the movement window, seconds.
        n_frames: number of evenly spaced instants the window is resampled to (T).
        visibility_threshold: landmarks below this visibility count as missing.
        min_coverage: fewest visible (frame, joint) samples, as a fraction, for a usable window.
        min_joint_coverage: fewest visible frames of any single joint, as a fraction.
    """

    window_s: float = 1.0
    n_frames: int = 10
    visibility_threshold: float = skeleton.VISIBILITY_THRESHOLD
    min_coverage: float = 0.6
    min_joint_coverage: float = 0.25

    def __post_init__(self) -> None:
        low, high = WINDOW_SECONDS  # a model card's window is read through here too
        if not low <= self.window_s <= high:  # NaN too
            raise ValueError(f"`window_s` must be {low:g} to {high:g} seconds, got {self.window_s}")
        if not 2 <= self.n_frames <= MAX_WINDOW_FRAMES:
            raise ValueError(
                f"`n_frames` must be 2 to {MAX_WINDOW_FRAMES} frames, got {self.n_frames}"
            )
        for name in ("visibility_threshold", "min_coverage", "min_joint_coverage"):
            check_fraction(name, getattr(self, name))

    @property
    def start_tolerance_s(self) -> float:
        """How much later than the window's start the first sample may be, seconds."""
        return 0.5 * self.window_s / (self.n_frames - 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowSpec:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Window:
    """One resampled movement window.

    Attributes:
        world: (T, J, 3) canonical skeleton, metres (mid-hip origin, hips along +x, y up).
        image: (T, J, 2) image-plane skeleton, image heights, mid-hip origin, y up.
        t_s: (T,) sample times, seconds (same clock as the source).
        coverage: fraction of (frame, joint) samples in the span that were visible.
    """

    world: FloatArr
    image: FloatArr
    t_s: npt.NDArray[np.float64]
    coverage: float

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0])


def make_window(
    world: FloatArr,
    image: FloatArr,
    visibility: FloatArr,
    t_s: npt.NDArray[np.float64],
    spec: WindowSpec,
    t_end: float | None = None,
) -> Window | None:
    """Cut, gap-fill, resample and canonicalise the window that ends at `t_end`.

    Args:
        world: (N, J, 3) skeletons, metres, y up (see `pipeline.skeleton`).
        image: (N, J, 2) image-plane skeletons, image heights, y up.
        visibility: (N, J) in [0, 1]; rows with no person are 0 (or NaN points).
        t_s: (N,) increasing timestamps, seconds.
        spec: window length, T and coverage rules.
        t_end: end of the window, seconds; default the last timestamp.

    Returns:
        The window, or None when the stream does not yet span `spec.window_s` or too
        little of the body is visible in it.
    """
    n = t_s.shape[0]
    if n == 0:
        return None
    t_end = float(t_s[-1]) if t_end is None else float(t_end)
    t_start = t_end - spec.window_s
    last = int(np.searchsorted(t_s, t_end, side="right")) - 1
    first = int(np.searchsorted(t_s, t_start, side="right")) - 1
    if first < 0:  # no sample at or before the start: accept one just after it
        if t_s[0] - t_start > spec.start_tolerance_s:
            return None
        first = 0
    if last <= first:
        return None
    rows = slice(first, last + 1)
    t = t_s[rows]
    points = np.concatenate([world[rows], image[rows]], axis=-1)  # (n, J, 5)
    valid = (visibility[rows] >= spec.visibility_threshold) & np.isfinite(points).all(axis=-1)
    joint_coverage = valid.mean(axis=0)
    coverage = float(joint_coverage.mean())
    if (
        coverage < spec.min_coverage
        or joint_coverage.min() < spec.min_joint_coverage
        or not joint_coverage.all()  # a joint never seen cannot be filled
    ):
        return None
    targets = np.linspace(t_start, t_end, spec.n_frames)
    sampled = _resample_filled(points, valid, t, targets)
    return Window(
        world=skeleton.canonical_world(sampled[..., :3]),
        image=skeleton.canonical_image(sampled[..., 3:]),
        t_s=targets,
        coverage=coverage,
    )


def _resample_filled(
    points: FloatArr,
    valid: npt.NDArray[np.bool_],
    t: npt.NDArray[np.float64],
    targets: npt.NDArray[np.float64],
) -> FloatArr:
    """Linear interpolation at `targets` of each joint between its nearest valid samples.

    (n, J, D) points, (n, J) valid mask, (n,) times, (T,) targets -> (T, J, D). Ends are
    held at the first/last valid sample; every joint must have at least one valid sample.
    """
    n, n_joints = valid.shape
    rows = np.arange(n)[:, None]
    prev_valid = np.maximum.accumulate(np.where(valid, rows, -1), axis=0)  # (n, J)
    next_valid = np.minimum.accumulate(np.where(valid, rows, n)[::-1], axis=0)[::-1]
    next_valid = np.vstack([next_valid, np.full((1, n_joints), n)])  # row n: none
    r = np.clip(np.searchsorted(t, targets, side="right") - 1, 0, n - 1)  # (T,)
    left = prev_valid[r]  # (T, J)
    right = next_valid[r + 1]
    left = np.where(left < 0, right, left)
    right = np.where(right >= n, left, right)
    t_left, t_right = t[left], t[right]
    span = np.where(right > left, t_right - t_left, 1.0)
    w = np.clip((targets[:, None] - t_left) / span, 0.0, 1.0)[..., None]
    joints = np.arange(n_joints)[None, :]
    a, b = points[left, joints], points[right, joints]
    out: FloatArr = (a + (b - a) * w).astype(np.float32)
    return out


class SkeletonBuffer:
    """Ring buffer of the most recent skeletons for the live path.

    Preallocated numpy storage: `push` is O(1) and memory is fixed however long it runs.
    Holds the shared joint set (world metres, image heights, visibility) and timestamps.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 2:
            raise ValueError(f"`capacity` must be >= 2 frames, got {capacity}")
        j = skeleton.N_JOINTS
        self._world = np.full((capacity, j, 3), np.nan, np.float32)
        self._image = np.full((capacity, j, 2), np.nan, np.float32)
        self._visibility = np.zeros((capacity, j), np.float32)
        self._t_s = np.zeros(capacity, np.float64)
        self._next = 0
        self._size = 0

    @classmethod
    def for_spec(cls, spec: WindowSpec, max_fps: float = 120.0) -> SkeletonBuffer:
        """A buffer long enough for one `spec` window at up to `max_fps` frames per second."""
        check_positive("max_fps", max_fps, "frames per second")
        return cls(int(np.ceil(spec.window_s * max_fps)) + 2)

    @property
    def capacity(self) -> int:
        return int(self._t_s.shape[0])

    def __len__(self) -> int:
        return self._size

    def clear(self) -> None:
        self._next = 0
        self._size = 0

    def push(self, world: FloatArr, image: FloatArr, visibility: FloatArr, t_s: float) -> None:
        """Append one frame: (J, 3) metres, (J, 2) image heights, (J,) visibility, seconds.

        Timestamps must increase; a frame with nobody in view is pushed with visibility 0.
        """
        if self._size and t_s <= self._t_s[self._next - 1]:
            raise ValueError(
                f"`t_s` must increase, got {t_s} after {self._t_s[self._next - 1]} seconds"
            )
        i = self._next
        self._world[i] = world
        self._image[i] = image
        self._visibility[i] = visibility
        self._t_s[i] = t_s
        self._next = (i + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def push_empty(self, t_s: float) -> None:
        """Append a frame in which no person was found."""
        self.push(skeleton.EMPTY_WORLD, skeleton.EMPTY_IMAGE, skeleton.EMPTY_VISIBILITY, t_s)

    def arrays(self) -> tuple[FloatArr, FloatArr, FloatArr, npt.NDArray[np.float64]]:
        """The stored frames in time order: world, image, visibility, t_s (copies)."""
        order = (np.arange(self._size) + self._next - self._size) % self.capacity
        return self._world[order], self._image[order], self._visibility[order], self._t_s[order]

    def span_s(self) -> float:
        """Seconds between the oldest and newest stored frame (0 when < 2 frames)."""
        if self._size < 2:
            return 0.0
        oldest = (self._next - self._size) % self.capacity
        return float(self._t_s[self._next - 1] - self._t_s[oldest])

    def window(self, spec: WindowSpec) -> Window | None:
        """`make_window` over the stored frames, ending at the newest one.

        Only the frames the window can use are copied out of the ring (the newest one at
        or before its start, and all after it): the same window as from all of `arrays()`,
        for a fraction of the copying when the buffer holds more than a window."""
        if not self._size:
            return None
        order = (np.arange(self._size) + self._next - self._size) % self.capacity
        t_s = self._t_s[order]
        first = max(int(np.searchsorted(t_s, t_s[-1] - spec.window_s, side="right")) - 1, 0)
        rows = order[first:]
        return make_window(
            self._world[rows], self._image[rows], self._visibility[rows], t_s[first:], spec
        )
