"""Body landmarks from images with MediaPipe Tasks `PoseLandmarker`, as numpy arrays.

The default model is built offline on first use from the BlazePose weights that the
mediapipe 0.10.21 wheel carries (`modules/pose_detection/pose_detection.tflite`,
`modules/pose_landmark/pose_landmark_full.tflite`): the Tasks API needs image-input
metadata (normalisation mean 0, std 255), added with mediapipe's own metadata writers,
and the two models bundled as `pose_detector.tflite` + `pose_landmarks_detector.tflite`.
The bundle is cached under `models/` and written atomically. An official
`pose_landmarker_{lite,full,heavy}.task` can be passed instead.

mediapipe is imported lazily so that the rest of `pipeline/` works without it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from pipeline import skeleton
from pipeline.io import Closing, atomic_path, check_regular_file, error_line, user_cache_dir
from pipeline.types import FloatArr
from pipeline.validate import check_array, check_fraction
from pipeline.video import POSE_MAX_SIDE, check_max_side

BUNDLE_MEMBERS = ("pose_detector.tflite", "pose_landmarks_detector.tflite")
_WHEEL_MODELS = {
    "pose_detector.tflite": ("modules/pose_detection/pose_detection.tflite", "pose_detector"),
    "pose_landmarks_detector.tflite": (
        "modules/pose_landmark/pose_landmark_full.tflite",
        "pose_landmarks_detector",
    ),
}


@dataclass(frozen=True, slots=True)
class PoseFrame:
    """PoseLandmarker output for one person in one image.

    Attributes:
        image: (33, 3) normalised image landmarks (x, y in [0, 1] of width/height; z relative).
        world: (33, 3) world landmarks, metres, MediaPipe camera axes (x right, y down, z away),
            origin between the hips.
        visibility: (33,) likelihood that each landmark is visible, [0, 1].
        presence: (33,) likelihood that each landmark is in the image, [0, 1].
        image_wh: (width, height) of the analysed image, pixels.
    All arrays are NaN when no person was found.
    """

    image: FloatArr
    world: FloatArr
    visibility: FloatArr
    presence: FloatArr
    image_wh: tuple[int, int]

    @classmethod
    def empty(cls, image_wh: tuple[int, int]) -> PoseFrame:
        """The frame for an image with nobody in it."""
        nan3 = np.full((skeleton.N_LANDMARKS, 3), np.nan, np.float32)
        nan1 = np.full(skeleton.N_LANDMARKS, np.nan, np.float32)
        return cls(nan3, nan3.copy(), nan1, nan1.copy(), image_wh)

    @property
    def found(self) -> bool:
        return bool(np.isfinite(self.visibility).any())

    def joints(self) -> tuple[FloatArr, FloatArr, FloatArr]:
        """The shared joint set: world (J, 3) m y-up, image (J, 2) heights y-up, visibility (J,)."""
        vis = np.where(np.isnan(self.visibility), np.float32(0.0), self.visibility)
        return skeleton.from_mediapipe(self.world, self.image, vis, self.image_wh)


def default_model_path(models_dir: Path | None = None) -> Path:
    """Path of the built-in PoseLandmarker bundle (in the user cache folder unless
    `models_dir` is given), building it first if needed."""
    import mediapipe as mp

    directory = models_dir or user_cache_dir()
    path = directory / f"pose_landmarker_full_mp{mp.__version__}.task"
    if not is_pose_bundle(path):
        build_default_model(path)
    return path


def is_pose_bundle(path: Path) -> bool:
    """True when `path` is a readable .task bundle holding both pose models."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            return set(BUNDLE_MEMBERS) <= names and zf.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


def build_default_model(path: Path) -> Path:
    """Build the PoseLandmarker bundle from the mediapipe wheel's BlazePose weights.

    Written to a temporary file beside `path` and renamed into place, so two processes
    building at once, or a crash halfway, never leave a broken file at `path`.
    """
    import mediapipe as mp
    from mediapipe.tasks.python.metadata.metadata_writers import (
        metadata_writer,
        model_asset_bundle_utils,
    )

    root = Path(mp.__file__).parent
    models: dict[str, bytes] = {}
    for member, (relative, name) in _WHEEL_MODELS.items():
        source = root / relative
        if not source.is_file():
            raise RuntimeError(
                f"mediapipe {mp.__version__} has no {relative}; install mediapipe==0.10.21 "
                "(the last release that ships the pose weights) or pass an official "
                "pose_landmarker_*.task file"
            )
        writer = metadata_writer.MetadataWriter.create(bytearray(source.read_bytes()))
        writer.add_general_info(name, "BlazePose GHUM 3D, from the mediapipe wheel")
        writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
        models[member] = bytes(writer.populate()[0])
    with atomic_path(path) as tmp:
        model_asset_bundle_utils.create_model_asset_bundle(models, str(tmp))
    return path


def check_pose_model(path: str | Path) -> Path:
    """Check that `path` is a PoseLandmarker .task bundle; return it as a Path."""
    path = check_regular_file(path, "pose model")  # a folder or FIFO is named, never opened
    if not is_pose_bundle(path):
        raise ValueError(
            f"pose model {path} is not a PoseLandmarker .task bundle (a zip holding "
            f"{' + '.join(BUNDLE_MEMBERS)}); pass an official pose_landmarker_*.task "
            "or leave --pose-model out to use the built-in one"
        )
    return path


@dataclass(frozen=True)
class PoseSettings:
    """PoseLandmarker settings that change the extracted keypoints (part of the cache key).

    Attributes:
        min_detection_confidence, min_presence_confidence, min_tracking_confidence:
            PoseLandmarker thresholds, [0, 1] (see `PoseEstimator`).
        num_poses: most people PoseLandmarker looks for; `select_person` keeps one.
        crop_padding: margin added on every side of a person's box before cropping, as a
            fraction of the box's width (left/right) and height (top/bottom).
        max_side: images given to pose are scaled so their longer side is at most this
            many pixels (0: native size), by the same rule as the live app's `--max-side`
            (`pipeline.video.fit_size`), so training sees landmarks from images like the
            live ones.

    One object for training and live use: `train.py` sets it, the model card records it,
    and the live app follows the card (`EmotionModel.pose`).
    """

    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    num_poses: int = 1
    crop_padding: float = 0.1
    max_side: int = POSE_MAX_SIDE

    def __post_init__(self) -> None:
        for name in ("min_detection_confidence", "min_presence_confidence",
                     "min_tracking_confidence", "crop_padding"):  # fmt: skip
            check_fraction(name, getattr(self, name))
        if self.num_poses < 1:
            raise ValueError(f"`num_poses` must be >= 1, got {self.num_poses}")
        check_max_side(self.max_side)

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PoseSettings:
        """Settings from a card's `pose` entry; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown pose settings {unknown}")
        return cls(**d)


class PoseEstimator(Closing):
    """One PoseLandmarker for one stream of images (create it once, not per image).

    Args:
        model_path: a PoseLandmarker .task bundle; default the built-in one.
        mode: "video" (tracking across frames; timestamps must increase) or "image".
        num_poses: most people to find per image.
        min_detection_confidence: person detector score threshold, [0, 1].
        min_presence_confidence: landmark presence threshold, [0, 1].
        min_tracking_confidence: below this the detector runs again (video mode), [0, 1].
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        mode: Literal["video", "image"] = "video",
        num_poses: int = 1,
        min_detection_confidence: float = 0.5,
        min_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        if mode not in ("video", "image"):
            raise ValueError(f"`mode` must be 'video' or 'image', got {mode!r}")
        if num_poses < 1:
            raise ValueError(f"`num_poses` must be >= 1, got {num_poses}")
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self.model_path = (
            default_model_path() if model_path is None else check_pose_model(model_path)
        )
        self.mode = mode
        self._mp = mp
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=(
                vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE
            ),
            num_poses=num_poses,
            min_pose_detection_confidence=min_detection_confidence,
            min_pose_presence_confidence=min_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        try:
            self._landmarker: Any = vision.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as e:  # mediapipe's own words name no file
            raise RuntimeError(
                f"cannot load the pose model {self.model_path}: {error_line(e)}; give "
                "--pose-model an official pose_landmarker_*.task bundle, or leave it out "
                "to use the built-in one"
            ) from None
        self._last_ms = -1

    @classmethod
    def from_settings(
        cls,
        settings: PoseSettings,
        model_path: str | Path | None = None,
        *,
        mode: Literal["video", "image"] = "video",
        num_poses: int | None = None,
    ) -> PoseEstimator:
        """An estimator with `settings`' thresholds (and its `num_poses` unless given)."""
        return cls(
            model_path,
            mode=mode,
            num_poses=settings.num_poses if num_poses is None else num_poses,
            min_detection_confidence=settings.min_detection_confidence,
            min_presence_confidence=settings.min_presence_confidence,
            min_tracking_confidence=settings.min_tracking_confidence,
        )

    def detect_all(
        self, image_rgb: npt.NDArray[np.uint8], timestamp_ms: int | None = None
    ) -> list[PoseFrame]:
        """Every person found in one RGB image.

        Args:
            image_rgb: (H, W, 3) uint8, RGB order (convert OpenCV's BGR first).
            timestamp_ms: the frame's time in milliseconds; required in video mode and
                strictly increasing there.
        """
        check_array("image_rgb", image_rgb, (None, None, 3), kind="u")
        if image_rgb.dtype != np.uint8:
            raise ValueError(f"`image_rgb` must have dtype uint8, got {image_rgb.dtype}")
        height, width = image_rgb.shape[:2]
        image = self._mp.Image(
            image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(image_rgb)
        )
        if self.mode == "video":
            if timestamp_ms is None:
                raise ValueError("`timestamp_ms` is required in video mode")
            ms = int(timestamp_ms)  # what MediaPipe receives; it must increase
            if ms <= self._last_ms:
                raise ValueError(
                    f"`timestamp_ms` must increase in video mode (whole milliseconds), got "
                    f"{timestamp_ms} after {self._last_ms}"
                )
            self._last_ms = ms
            result = self._landmarker.detect_for_video(image, ms)
        else:
            result = self._landmarker.detect(image)
        return [
            _to_frame(image_lms, world_lms, (width, height))
            for image_lms, world_lms in zip(
                result.pose_landmarks, result.pose_world_landmarks, strict=True
            )
        ]

    def detect(
        self,
        image_rgb: npt.NDArray[np.uint8],
        timestamp_ms: int | None = None,
        previous: PoseFrame | None = None,
    ) -> PoseFrame:
        """The followed person (see `select_person`), or an all-NaN frame if nobody is found."""
        person = select_person(self.detect_all(image_rgb, timestamp_ms), previous)
        if person is None:
            return PoseFrame.empty((image_rgb.shape[1], image_rgb.shape[0]))
        return person

    def close(self) -> None:
        self._landmarker.close()


def _to_frame(image_lms: Any, world_lms: Any, image_wh: tuple[int, int]) -> PoseFrame:
    """Convert one person's landmark objects to arrays (the only per-landmark step)."""
    img = np.array(
        [(p.x, p.y, p.z, p.visibility or 0.0, p.presence or 0.0) for p in image_lms],
        dtype=np.float32,
    )
    world = np.array([(p.x, p.y, p.z) for p in world_lms], dtype=np.float32)
    return PoseFrame(img[:, :3], world, img[:, 3], img[:, 4], image_wh)


class PoseDetector(Protocol):
    """What following a person needs from a pose estimator (`PoseEstimator.detect`)."""

    def detect(
        self,
        image_rgb: npt.NDArray[np.uint8],
        timestamp_ms: int | None = None,
        previous: PoseFrame | None = None,
    ) -> PoseFrame: ...


class PersonTrack:
    """One stream of frames through a VIDEO-mode estimator: turns frame times in seconds
    into the strictly increasing milliseconds PoseLandmarker needs (frames less than 1 ms
    apart get the next millisecond) and follows one person (`select_person`, from the last
    person found). The live loop and keypoint extraction both call it, so they cannot
    time or follow people differently.

    Args:
        estimator: anything with `PoseEstimator.detect`'s signature, in video mode.
    """

    def __init__(self, estimator: PoseDetector) -> None:
        self.estimator = estimator
        self._last_ms = -1
        self._previous: PoseFrame | None = None

    def __call__(self, image_rgb: npt.NDArray[np.uint8], t_s: float) -> PoseFrame:
        """The followed person in the frame taken at `t_s` seconds (all-NaN if nobody)."""
        ms = max(round(t_s * 1000.0), self._last_ms + 1)
        self._last_ms = ms
        person = self.estimator.detect(image_rgb, ms, self._previous)
        if person.found:
            self._previous = person
        return person


def select_person(candidates: list[PoseFrame], previous: PoseFrame | None) -> PoseFrame | None:
    """Follow one person: the candidate whose mid-hip (image) is nearest the previous one's.

    With no previous person, the one with the largest image bounding box (the nearest).
    Returns None when `candidates` is empty.
    """
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    if previous is not None and previous.found:
        anchor = _hip_centre(previous)
        return min(candidates, key=lambda c: float(np.linalg.norm(_hip_centre(c) - anchor)))
    return max(candidates, key=_box_area)


def _hip_centre(frame: PoseFrame) -> FloatArr:
    return 0.5 * (frame.image[23, :2] + frame.image[24, :2])


def _box_area(frame: PoseFrame) -> float:
    xy = frame.image[:, :2]
    span = np.nanmax(xy, axis=0) - np.nanmin(xy, axis=0)
    return float(span[0] * span[1])


@contextlib.contextmanager
def quiet_stderr(replay: bool = True) -> Iterator[None]:
    """Mute what native libraries write straight to the process's stderr, in the block.

    mediapipe's C++ side prints start-up and log lines (absl/glog, TensorFlow Lite) on file
    descriptor 2. In the block, fd 2 goes to a temporary file, while Python's `sys.stderr`
    (messages, warnings, tracebacks) keeps writing to the real stderr. If the block raises
    and `replay` is true, the muted output is written out after all, in case it explains
    the error; entry points pass False, so their error is the one line they print (the
    error itself says what went wrong).
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all
        yield
        return
    python_stderr = sys.stderr
    try:
        rebind = python_stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # e.g. captured by a test runner
        rebind = False
    with tempfile.TemporaryFile() as muted:
        real = None
        if rebind:
            real = os.fdopen(
                os.dup(saved),
                "w",
                buffering=1,
                encoding=python_stderr.encoding,
                errors="backslashreplace",
            )
            sys.stderr = real
        os.dup2(muted.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            if real is not None:
                real.flush()
                sys.stderr = python_stderr
                real.close()
            os.dup2(saved, 2)
            os.close(saved)
            if failed and replay:
                muted.seek(0)
                python_stderr.write(muted.read().decode(errors="replace"))
                python_stderr.flush()
