"""The one thing every dataset reader produces: labelled movements of shared-joint skeletons."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from pipeline import skeleton
from pipeline.validate import check_array
from pipeline.window import Window, WindowSpec, make_window

FloatArr = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Movement:
    """One labelled movement: a person's skeleton over time.

    Attributes:
        world: (N, J, 3) metres, y up (`pipeline.skeleton` axes), NaN where unseen.
        image: (N, J, 2) image-plane joints, image heights, y up.
        visibility: (N, J) in [0, 1].
        t_s: (N,) increasing timestamps, seconds.
        label: the emotion label.
        groups: ids the evaluation groups by, e.g. {"video": …, "clip": …, "content": …}.
        source: "mocap" (skeletons from motion capture) or "video" (from PoseLandmarker).
        name: a readable identifier (file name, segment id).
    """

    world: FloatArr
    image: FloatArr
    visibility: FloatArr
    t_s: npt.NDArray[np.float64]
    label: str
    groups: dict[str, str] = field(default_factory=dict)
    source: str = "video"
    name: str = ""

    def __post_init__(self) -> None:
        n = self.t_s.shape[0]
        j = skeleton.N_JOINTS
        check_array("world", self.world, (n, j, 3))
        check_array("image", self.image, (n, j, 2))
        check_array("visibility", self.visibility, (n, j))
        if n > 1 and not (np.diff(self.t_s) > 0).all():
            raise ValueError(f"movement {self.name!r}: `t_s` must increase")

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) if self.t_s.size else 0.0

    def mirrored(self) -> Movement:
        """The same movement performed mirror-wise (left and right swapped)."""
        return Movement(
            world=skeleton.mirror(self.world),
            image=skeleton.mirror(self.image),
            visibility=self.visibility[:, skeleton.MIRROR_INDEX],
            t_s=self.t_s,
            label=self.label,
            groups=dict(self.groups),
            source=self.source,
            name=self.name + "~mirror",
        )

    def windows(self, spec: WindowSpec, stride_s: float) -> list[Window]:
        """Every usable window ending at a frame, from t0 + window_s on, about `stride_s` apart.

        Windows end on frame timestamps, as they do in the live loop.
        """
        if self.t_s.size < 2 or self.duration_s < spec.window_s - spec.start_tolerance_s:
            return []
        start = float(self.t_s[0]) + spec.window_s - spec.start_tolerance_s
        targets = np.arange(start, float(self.t_s[-1]) + 1e-9, stride_s)
        ends = np.unique(np.searchsorted(self.t_s, targets - 1e-9))
        out = []
        for i in ends[ends < self.t_s.size]:
            w = make_window(self.world, self.image, self.visibility, self.t_s, spec, self.t_s[i])
            if w is not None:
                out.append(w)
        return out
