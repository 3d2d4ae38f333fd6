"""The joint set shared by MediaPipe and motion capture, and the canonical body frame.

Joint set (J = 13): nose, shoulders, elbows, wrists, hips, knees, ankles. One table maps
each joint to its MediaPipe landmark index; where each joint sits on a motion-capture
skeleton is defined with the mocap reader, not in the live pipeline.

Axes used throughout `pipeline/`:
- world: metres, y up, right-handed; a person facing +z has their left at +x.
  MediaPipe world landmarks (x right, y down, z away from the camera) map by
  (x, y, z) -> (x, -y, -z); negating y alone would mirror the body.
- image plane: 2D landmark coordinates (not pixels) in units of image height, x to the
  right, y up (MediaPipe's normalised (x, y) -> (x * width / height, -y)).
- canonical: world translated so that the mid-hip is the origin in every frame and
  rotated about the vertical so that the mean right-to-left hip axis points along +x.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

FloatArr = npt.NDArray[np.float32]


class JointSource(NamedTuple):
    """Where one joint of the shared set comes from."""

    name: str
    mediapipe: int  # PoseLandmarker landmark index


# The one joint table of the live pipeline.
JOINT_TABLE: Final[tuple[JointSource, ...]] = (
    JointSource("nose", 0),
    JointSource("l_shoulder", 11),
    JointSource("r_shoulder", 12),
    JointSource("l_elbow", 13),
    JointSource("r_elbow", 14),
    JointSource("l_wrist", 15),
    JointSource("r_wrist", 16),
    JointSource("l_hip", 23),
    JointSource("r_hip", 24),
    JointSource("l_knee", 25),
    JointSource("r_knee", 26),
    JointSource("l_ankle", 27),
    JointSource("r_ankle", 28),
)

JOINTS: Final[tuple[str, ...]] = tuple(j.name for j in JOINT_TABLE)
N_JOINTS: Final[int] = len(JOINTS)
(
    NOSE,
    L_SHOULDER,
    R_SHOULDER,
    L_ELBOW,
    R_ELBOW,
    L_WRIST,
    R_WRIST,
    L_HIP,
    R_HIP,
    L_KNEE,
    R_KNEE,
    L_ANKLE,
    R_ANKLE,
) = range(N_JOINTS)

MEDIAPIPE_INDEX: Final[npt.NDArray[np.intp]] = np.array([j.mediapipe for j in JOINT_TABLE])
N_LANDMARKS: Final[int] = 33  # PoseLandmarker output

# Index permutation that swaps left and right joints (used by `mirror`).
MIRROR_INDEX: Final[npt.NDArray[np.intp]] = np.array(
    [JOINTS.index(n.replace("l_", "#").replace("r_", "l_").replace("#", "r_")) for n in JOINTS]
)

# Bones of the shared set, (parent, child), 0-based; drawn by the overlay.
BONES: Final[tuple[tuple[int, int], ...]] = (
    (L_SHOULDER, R_SHOULDER),
    (L_HIP, R_HIP),
    (L_SHOULDER, L_HIP),
    (R_SHOULDER, R_HIP),
    (L_SHOULDER, L_ELBOW),
    (L_ELBOW, L_WRIST),
    (R_SHOULDER, R_ELBOW),
    (R_ELBOW, R_WRIST),
    (L_HIP, L_KNEE),
    (L_KNEE, L_ANKLE),
    (R_HIP, R_KNEE),
    (R_KNEE, R_ANKLE),
)

# The 33-landmark MediaPipe pose graph, 0-based (supervision's Skeleton.GHUM is 1-based).
MEDIAPIPE_EDGES: Final[tuple[tuple[int, int], ...]] = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)  # fmt: skip

VISIBILITY_THRESHOLD: Final[float] = 0.3  # the study's cut-off for a usable landmark

# One frame with nobody in view.
EMPTY_WORLD: Final[FloatArr] = np.full((N_JOINTS, 3), np.nan, np.float32)
EMPTY_IMAGE: Final[FloatArr] = np.full((N_JOINTS, 2), np.nan, np.float32)
EMPTY_VISIBILITY: Final[FloatArr] = np.zeros(N_JOINTS, np.float32)

_CAMERA_TO_WORLD: Final = np.array([1.0, -1.0, -1.0], dtype=np.float32)


def from_mediapipe(
    world_landmarks: FloatArr,
    image_landmarks: FloatArr,
    visibility: FloatArr,
    image_wh: tuple[int, int],
) -> tuple[FloatArr, FloatArr, FloatArr]:
    """Select the shared joints from PoseLandmarker output and convert their axes.

    Args:
        world_landmarks: (..., 33, 3) metres, MediaPipe camera axes (y down, z away).
        image_landmarks: (..., 33, 3) normalised image coordinates (x, y in [0, 1]).
        visibility: (..., 33) landmark visibility in [0, 1].
        image_wh: (width, height) of the analysed image in pixels.

    Returns:
        world (..., J, 3) metres y-up, image-plane coordinates (..., J, 2) in image
        heights y-up, visibility (..., J).
    """
    w, h = image_wh
    world = world_landmarks[..., MEDIAPIPE_INDEX, :] * _CAMERA_TO_WORLD
    image_xy = image_landmarks[..., MEDIAPIPE_INDEX, :2] * np.array([w / h, -1.0], np.float32)
    return (
        world.astype(np.float32, copy=False),
        image_xy.astype(np.float32, copy=False),
        visibility[..., MEDIAPIPE_INDEX].astype(np.float32, copy=False),
    )


def mask_invisible(
    points: FloatArr, visibility: FloatArr, threshold: float = VISIBILITY_THRESHOLD
) -> FloatArr:
    """Copy of (..., J, D) `points` with joints whose visibility < `threshold` set to NaN."""
    out = np.array(points, dtype=np.float32, copy=True)
    out[~(visibility >= threshold)] = np.nan
    return out


def mid_hip(points: FloatArr) -> FloatArr:
    """(..., J, D) -> (..., D): midpoint of the two hip joints."""
    return 0.5 * (points[..., L_HIP, :] + points[..., R_HIP, :])


def mid_shoulder(points: FloatArr) -> FloatArr:
    """(..., J, D) -> (..., D): midpoint of the two shoulder joints."""
    return 0.5 * (points[..., L_SHOULDER, :] + points[..., R_SHOULDER, :])


def facing_yaw(world: FloatArr) -> float:
    """Yaw (radians, about +y) of the mean right-to-left hip axis of (T, J, 3) `world`.

    0 when the axis points along +x (the body faces +z); `rotate_about_y(world, -yaw)`
    undoes it. NaN frames are ignored.
    """
    axis = np.nanmean(world[:, L_HIP, :] - world[:, R_HIP, :], axis=0)
    return float(np.arctan2(-axis[2], axis[0]))


def rotate_about_y(points: FloatArr, yaw: float) -> FloatArr:
    """Rotate (..., 3) points by `yaw` radians about +y (right-handed)."""
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]], dtype=np.float32)
    return points @ rot.T


# Largest tilt (degrees) `upright` takes out: a camera looking down on a person, or a
# lean; a body lying down (90 deg) or upside down keeps the rest, and stays unlike anyone.
MAX_UPRIGHT_DEG: Final[float] = 45.0


def upright(centred: FloatArr, max_deg: float = MAX_UPRIGHT_DEG) -> FloatArr:
    """Turn (T, J, 3) mid-hip-centred points so that the mean trunk (mid-hip to
    mid-shoulder) points up (+y), by at most `max_deg` degrees.

    MediaPipe's world axes follow the camera, not gravity: a camera that looks down on
    the person tilts the whole body (about 40 deg in the pose2sim demo). Measuring posture
    against the body's own trunk makes the features the same for any camera pitch or
    roll; what is lost is the trunk's lean itself, which leave-one-person-out showed
    carries no signal that holds across people (0.483 with this frame, 0.477 without).
    """
    trunk = np.nanmean(mid_shoulder(centred) - mid_hip(centred), axis=0)
    norm = float(np.sqrt(np.dot(trunk, trunk)))
    if not norm > 1e-6:
        return centred
    u = trunk / norm
    axis = np.array([-u[2], 0.0, u[0]])  # u x (0, 1, 0): turning about it takes u to +y
    sin_full = float(np.sqrt(np.dot(axis, axis)))
    angle = float(np.arctan2(sin_full, u[1]))
    if angle < 1e-6:
        return centred
    axis = axis / sin_full if sin_full > 1e-9 else np.array([1.0, 0.0, 0.0])
    a = min(angle, np.deg2rad(max_deg))
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    rot = (np.eye(3) + np.sin(a) * k + (1.0 - np.cos(a)) * (k @ k)).astype(np.float32)
    turned: FloatArr = centred @ rot.T
    return turned


def canonical_world(world: FloatArr) -> FloatArr:
    """(T, J, 3) world metres -> canonical frame: mid-hip origin per frame, the window's
    mean trunk up (`upright`, at most 45 deg turned), hips along +x.

    The tilt and the yaw are taken from the whole sequence, so leaning and turning within
    it are kept.
    """
    centred = upright(world - mid_hip(world)[:, None, :])
    return rotate_about_y(centred, -facing_yaw(centred)).astype(np.float32, copy=False)


def canonical_image(image_xy: FloatArr) -> FloatArr:
    """(T, J, 2) image-plane coordinates -> mid-hip origin in every frame (image heights,
    y up)."""
    return (image_xy - mid_hip(image_xy)[:, None, :]).astype(np.float32, copy=False)


def mirror(points: FloatArr) -> FloatArr:
    """Mirror (..., J, D) points through the body's sagittal plane: swap left/right, negate x.

    Valid for canonical world points and for image-plane points (x = image right).
    """
    out = points[..., MIRROR_INDEX, :].copy()
    out[..., 0] *= -1.0
    return out
