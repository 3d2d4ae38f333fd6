"""realtime.app: pose settings follow the model; --max-side overrides it with a warning."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from pipeline.models import save_model
from pipeline.pose import PoseFrame, PoseSettings
from realtime import app
from realtime.config import RealtimeConfig
from tests.realtime.conftest import read_video

TRAINED = PoseSettings(
    min_detection_confidence=0.3,
    min_presence_confidence=0.4,
    min_tracking_confidence=0.6,
    num_poses=2,
    max_side=160,
)


class NobodyPose:
    """A pose estimator that finds nobody, recording how it was made."""

    made: list[tuple[PoseSettings, object, dict]] = []

    @classmethod
    def from_settings(cls, settings, model_path=None, **kwargs):
        cls.made.append((settings, model_path, kwargs))
        return cls()

    def detect(self, image_rgb, timestamp_ms=None, previous=None):
        return PoseFrame.empty((image_rgb.shape[1], image_rgb.shape[0]))

    def detect_all(self, image_rgb, timestamp_ms=None):
        return []

    def close(self):
        pass


@pytest.fixture
def trained_model(tiny_model, tmp_path):
    """The tiny model, recorded as trained on 160-pixel images with its own thresholds."""
    path = tmp_path / "trained.joblib"
    save_model(replace(tiny_model, pose=TRAINED), path)
    return path


@pytest.fixture
def run_app(monkeypatch, make_video, trained_model, tmp_path):
    """`run_app(**config)`: the app on a 320x240 clip, headless; returns the recording's size."""
    NobodyPose.made = []
    monkeypatch.setattr(app, "PoseEstimator", NobodyPose)
    # the CLI stops "realtime" propagating once it ran in this process; caplog needs it
    monkeypatch.setattr(logging.getLogger("realtime"), "propagate", True)
    clip = make_video("clip.avi", 10, size_wh=(320, 240))

    def run(**settings):
        rec = tmp_path / "out.avi"
        config = RealtimeConfig(
            video=clip, model=trained_model, realtime=False, headless=True, record=rec, **settings
        )
        summary = app.run(config, notify=lambda message: None)
        assert summary.frames == 10
        return read_video(rec)[1]

    return run


def test_pose_image_size_and_thresholds_come_from_the_model(run_app, caplog):
    with caplog.at_level(logging.WARNING, logger="realtime"):
        size = run_app(max_people=3)
    assert size == (160, 120)  # the model's pose.max_side, not the app's own 640
    [(settings, pose_model, kwargs)] = NobodyPose.made
    assert settings == TRAINED and pose_model is None
    assert kwargs == {"mode": "video", "num_poses": 3}  # --max-people stays the app's
    assert not caplog.records


def test_max_side_given_wins_with_one_warning(run_app, caplog):
    with caplog.at_level(logging.WARNING, logger="realtime"):
        size = run_app(max_side=0)
    assert size == (320, 240)
    [record] = caplog.records
    assert record.getMessage().startswith(
        "--max-side 0 differs from the 160 the model was trained with"
    )


def test_max_side_equal_to_the_model_s_gives_no_warning(run_app, caplog):
    with caplog.at_level(logging.WARNING, logger="realtime"):
        assert run_app(max_side=160) == (160, 120)
    assert not caplog.records


@pytest.mark.parametrize(
    ("requested", "expected"), [(None, (640, False)), (640, (640, False)), (320, (320, True))]
)
def test_pose_max_side(requested, expected):
    side, warning = app.pose_max_side(requested, PoseSettings(max_side=640))
    assert (side, warning is not None) == expected
