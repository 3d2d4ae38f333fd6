"""PosEmotion's shared pipeline: frames -> pose -> skeletons -> windows -> feature vectors.

Everything here is used by both `train.py` and the live app (`realtime/`). mediapipe,
OpenCV and scikit-learn are imported lazily, where they are needed.
"""

from pipeline.features import DEFAULT_FEATURE_SET, FEATURE_SETS, FEATURE_VERSIONS, vectorize
from pipeline.models import EmotionModel, ModelError, load_model, save_model
from pipeline.pose import PoseEstimator, PoseFrame
from pipeline.window import SkeletonBuffer, Window, WindowSpec, make_window

__all__ = [
    "DEFAULT_FEATURE_SET",
    "FEATURE_SETS",
    "FEATURE_VERSIONS",
    "EmotionModel",
    "ModelError",
    "PoseEstimator",
    "PoseFrame",
    "SkeletonBuffer",
    "Window",
    "WindowSpec",
    "load_model",
    "make_window",
    "save_model",
    "vectorize",
]
