"""Fixtures shared by the offline tests: a stand-in for PoseLandmarker and a fake model file."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from pipeline.pose import BUNDLE_MEMBERS, PoseFrame

Mask = Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.bool_]]


def bright(image_rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
    """Pixels brighter than mid-grey in any channel."""
    return image_rgb.max(axis=2) > 128


@dataclass
class FakePose:
    """Stands in for `PoseEstimator` (VIDEO mode): counts estimators and calls, records
    what it is shown, and puts every landmark at the centre of the `person` pixels (an
    all-NaN frame when there are none), so a test can tell which pixels pose ran on."""

    person: Mask = bright
    constructed: int = 0
    timestamps: list[list[int]] = field(default_factory=list)  # per estimator, ms
    sizes: list[tuple[int, int]] = field(default_factory=list)  # (w, h) of every image

    @property
    def detect_calls(self) -> int:
        return sum(len(t) for t in self.timestamps)

    def __call__(self, model_path: object = None, **kwargs: object) -> _FakeEstimator:
        assert kwargs["mode"] == "video"
        self.constructed += 1
        self.timestamps.append([])
        return _FakeEstimator(self, self.timestamps[-1])


class _FakeEstimator:
    def __init__(self, owner: FakePose, timestamps: list[int]) -> None:
        self.owner, self.ts = owner, timestamps

    def detect(
        self, image_rgb: np.ndarray, timestamp_ms: int, previous: object = None
    ) -> PoseFrame:
        assert image_rgb.dtype == np.uint8 and image_rgb.flags.c_contiguous
        assert not self.ts or timestamp_ms > self.ts[-1], "VIDEO mode needs increasing ms"
        self.ts.append(timestamp_ms)
        h, w = image_rgb.shape[:2]
        self.owner.sizes.append((w, h))
        ys, xs = np.nonzero(self.owner.person(image_rgb))
        if xs.size == 0:
            return PoseFrame.empty((w, h))
        centre = np.array([(xs.mean() + 0.5) / w, (ys.mean() + 0.5) / h, 0.25], np.float32)
        world = np.arange(99, dtype=np.float32).reshape(33, 3) / 100
        ones = np.ones(33, np.float32)
        return PoseFrame(np.tile(centre, (33, 1)), world, ones, ones.copy(), (w, h))

    def close(self) -> None:
        pass


@pytest.fixture
def fake_pose(monkeypatch: pytest.MonkeyPatch) -> FakePose:
    """`FakePose` in place of PoseLandmarker where extraction constructs it."""
    fake = FakePose()
    monkeypatch.setattr("offline.keypoints.extract.PoseEstimator", fake)
    return fake


@pytest.fixture
def fake_model(tmp_path: Path) -> Path:
    """A file that passes `check_pose_model` (a zip with the bundle's member names)."""
    path = tmp_path / "fake.task"
    with zipfile.ZipFile(path, "w") as zf:
        for name in BUNDLE_MEMBERS:
            zf.writestr(name, b"weights v1")
    return path
