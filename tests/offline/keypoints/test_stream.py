"""Tests for offline/keypoints/stream.py: requests are checked, streams convert like live."""

from __future__ import annotations

import numpy as np
import pytest

from offline.keypoints.stream import KeypointStream, StreamRequest
from pipeline import skeleton
from pipeline.pose import PoseFrame
from tests.offline.keypoints.conftest import WH


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"frames": np.array([3, 2])}, "strictly increasing"),
        ({"frames": np.array([-1, 2])}, "strictly increasing"),
        ({"frames": np.array([], np.int64)}, "must not be empty"),
        ({"frames": np.array([1.0])}, "dtype kind"),
        ({"boxes": np.zeros((1, 4))}, "need `frames`"),
        ({"frames": np.array([1]), "boxes": np.zeros((2, 4))}, "shape"),
        ({"frames": np.array([1]), "boxes": np.array([[0.5, 0.5, 0.4, 0.6]])}, "x1 > x0"),
        ({"frames": np.array([1]), "boxes": np.array([[1.1, 0.5, 1.4, 0.6]])}, "overlap"),
    ],
)
def test_track_request_rejects_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        StreamRequest("r", **kwargs)


def _frame(seed: int, wh: tuple[int, int] = WH) -> PoseFrame:
    rng = np.random.default_rng(seed)
    return PoseFrame(
        rng.random((33, 3), dtype=np.float32),
        rng.normal(size=(33, 3)).astype(np.float32),
        rng.random(33, dtype=np.float32),
        rng.random(33, dtype=np.float32),
        wh,
    )


def test_track_joints_match_the_live_conversion() -> None:
    frames = [_frame(0), PoseFrame.empty(WH), _frame(1)]
    track = KeypointStream(
        image=np.stack([f.image for f in frames]),
        world=np.stack([f.world for f in frames]),
        visibility=np.stack([f.visibility for f in frames]),
        presence=np.stack([f.presence for f in frames]),
        frames=np.array([0, 1, 2]),
        t_s=np.array([0.0, 0.1, 0.2]),
        image_wh=WH,
    )
    world, image, vis = track.joints()
    assert world.shape == (3, skeleton.N_JOINTS, 3) and image.shape == (3, skeleton.N_JOINTS, 2)
    for i, f in enumerate(frames):
        live = f.joints()
        np.testing.assert_array_equal(world[i], live[0])
        np.testing.assert_array_equal(image[i], live[1])
        np.testing.assert_array_equal(vis[i], live[2])
    assert track.found.tolist() == [True, False, True]
