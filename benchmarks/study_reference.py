"""The study's code paths, re-implemented faithfully: the baselines of the speed benchmarks.

The study (PosEmotion on EiLA) did two things this project does differently:

- Pose: for every frame image its `PoseLandmarkerDetector.detect` created a new MediaPipe
  `PoseLandmarker` in IMAGE mode, ran it once and closed it (`study_pose`). We keep one
  landmarker per stream in VIDEO mode (`offline.keypoints.run`).
- Features: each skeleton was a pandas Series with one entry per joint coordinate
  (`nose_x`, `nose_y`, `nose_z`, ...), a movement segment of T frames a DataFrame of
  them (one row per frame), and features were computed with pandas column arithmetic per
  joint pair and gathered into a dict named per frame (`<feature>_<frame>`). The vector
  is the distances between nose, shoulders, elbows and wrists in each frame: our "seed"
  feature set. `study_features(window)` gives exactly `vectorize(window, "seed")`
  (tests/benchmarks/test_study_reference.py checks it); it is plain pandas as the study
  wrote it, neither deliberately slow nor rewritten in numpy.

pandas is only needed here (requirements-dev.txt), not by the app.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from pipeline import skeleton as sk
from pipeline.window import Window

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.pose import PoseFrame

# The study's upper-body joints, in the order of `pipeline.features._SEED_JOINTS`.
STUDY_JOINTS: Final[tuple[str, ...]] = (
    "nose",
    "l_shoulder",
    "r_shoulder",
    "l_elbow",
    "r_elbow",
    "l_wrist",
    "r_wrist",
)
STUDY_PAIRS: Final[tuple[tuple[str, str], ...]] = tuple(itertools.combinations(STUDY_JOINTS, 2))
AXES: Final[tuple[str, ...]] = ("x", "y", "z")
PANDAS_HINT: Final[str] = (
    "pandas is needed for the study's reference features; install the dev requirements: "
    "pip install -r requirements-dev.txt"
)


def import_pandas() -> Any:
    """The pandas module, or ImportError with the install hint (`PANDAS_HINT`)."""
    try:
        import pandas
    except ImportError:
        raise ImportError(PANDAS_HINT) from None
    return pandas


def skeleton_series(joints: npt.NDArray[np.floating]) -> pd.Series:
    """One frame's (J, 3) joints (metres) as the study's Series: `<joint>_<axis>` -> value."""
    pd = import_pandas()
    values = {}
    for j, name in enumerate(sk.JOINTS):
        for a, axis in enumerate(AXES):
            values[f"{name}_{axis}"] = float(joints[j, a])
    return pd.Series(values)


def window_frame(window: Window) -> pd.DataFrame:
    """The window's T skeletons as the study's DataFrame: one row per frame."""
    pd = import_pandas()
    return pd.DataFrame([skeleton_series(frame) for frame in window.world])


def distance_features(df: pd.DataFrame) -> npt.NDArray[np.float32]:
    """The study's distance features of one segment DataFrame, as a flat vector.

    Each joint pair's Euclidean distance is a pandas column operation over the frames;
    the values are then gathered row by row into a dict named `<a>-<b>_<frame>` (the
    study's feature naming), frame by frame, and the dict becomes the vector.

    Returns:
        (T * 21,) float32 distances in metres, frame-major (the "seed" layout).
    """
    pd = import_pandas()
    distances = pd.DataFrame()
    for a, b in STUDY_PAIRS:
        squared = sum((df[f"{a}_{axis}"] - df[f"{b}_{axis}"]) ** 2 for axis in AXES)
        distances[f"{a}-{b}"] = np.sqrt(squared)
    features = {}
    for frame, row in distances.iterrows():
        for name, value in row.items():
            features[f"{name}_{frame}"] = value
    return pd.Series(features).to_numpy(dtype=np.float32)


def study_features(window: Window) -> npt.NDArray[np.float32]:
    """The study's feature vector of one window: its DataFrame, then `distance_features`."""
    return distance_features(window_frame(window))


def study_pose(rgb: npt.NDArray[np.uint8], model_path: str | None = None) -> PoseFrame:
    """Pose of one image the study's way: a new IMAGE-mode PoseLandmarker, run once, closed.

    Args:
        rgb: (H, W, 3) uint8 RGB image.
        model_path: PoseLandmarker .task bundle; None for the built-in one.
    """
    from pipeline.pose import PoseEstimator

    with PoseEstimator(model_path, mode="image") as estimator:
        return estimator.detect(rgb)
