"""One video -> its keypoint streams: decode once, run pose per request, assemble arrays.

Pose runs on the request's crop (one `PoseEstimator` per request, VIDEO mode, timestamps
frame / fps in ms, one person followed by `PersonTrack`), and the image landmarks are
mapped back to the whole frame, so `KeypointStream.image` is always normalised to the full
frame whether or not a crop was used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from offline.keypoints.decode import OpenVideo
from offline.keypoints.stream import KeypointStream, StreamRequest
from pipeline import skeleton
from pipeline.pose import PersonTrack, PoseEstimator, PoseFrame, PoseSettings
from pipeline.types import FloatArr
from pipeline.video import VideoInfo, fit_size, resize_to

# Frames decoded ahead of pose on a thread (decoding overlaps inference).
PREFETCH = 4


def crop_pixels(
    box: npt.NDArray[np.float64], image_wh: tuple[int, int], padding: float
) -> tuple[int, int, int, int]:
    """Pixel crop (x0, y0, x1, y1), end-exclusive, for a fractional box plus padding.

    Args:
        box: (4,) x0, y0, x1, y1 as fractions of the frame's width and height.
        image_wh: frame (width, height), pixels.
        padding: margin on each side as a fraction of the box's width / height.

    The crop is clipped to the frame and is at least 1 pixel wide and high.
    """
    w, h = image_wh
    x0, y0, x1, y1 = (float(v) for v in box)
    px, py = padding * (x1 - x0), padding * (y1 - y0)
    left = min(max(math.floor((x0 - px) * w), 0), w - 1)
    top = min(max(math.floor((y0 - py) * h), 0), h - 1)
    right = max(min(math.ceil((x1 + px) * w), w), left + 1)
    bottom = max(min(math.ceil((y1 + py) * h), h), top + 1)
    return left, top, right, bottom


def uncrop(
    frame: PoseFrame, crop: tuple[int, int, int, int], image_wh: tuple[int, int]
) -> FloatArr:
    """(33, 3) image landmarks of a crop, renormalised to the whole frame (z scaled like x)."""
    x0, y0, x1, y1 = crop
    w, h = image_wh
    scale = np.array([(x1 - x0) / w, (y1 - y0) / h, (x1 - x0) / w], np.float32)
    offset = np.array([x0 / w, y0 / h, 0.0], np.float32)
    return frame.image * scale + offset


class _StreamRun:
    """One request's state while its video is decoded (estimator opened lazily)."""

    def __init__(self, request: StreamRequest) -> None:
        self.request = request
        self.rows: list[tuple[int, float, PoseFrame, FloatArr]] = []
        self.estimator: PoseEstimator | None = None
        self.person: PersonTrack | None = None  # follows one person through `estimator`

    def follow(self, model_path: str | Path, settings: PoseSettings) -> PersonTrack:
        """The request's person tracker, its VIDEO-mode estimator created on first use."""
        if self.person is None:
            self.estimator = PoseEstimator(
                model_path,
                mode="video",
                num_poses=settings.num_poses,
                min_detection_confidence=settings.min_detection_confidence,
                min_presence_confidence=settings.min_presence_confidence,
                min_tracking_confidence=settings.min_tracking_confidence,
            )
            self.person = PersonTrack(self.estimator)
        return self.person

    def close(self) -> None:
        if self.estimator is not None:
            self.estimator.close()
        self.estimator = self.person = None


def extract_video(
    video: str | Path,
    requests: list[StreamRequest],
    model_path: str | Path,
    settings: PoseSettings,
    on_open: Callable[[VideoInfo], None] | None = None,
    on_frames: Callable[[int], None] | None = None,
    span: tuple[int, int | None] = (0, None),
) -> list[KeypointStream]:
    """Open and decode `video` once and run every request on it (one PoseEstimator each).

    Args:
        video: the video file.
        requests: streams to extract; see `StreamRequest`.
        model_path: PoseLandmarker .task bundle.
        settings: pose settings.
        on_open: called with the video's header (frame count, fps) once it is open.
        on_frames: called with the number of pose calls made after each decoded frame.
        span: (first, end) frame indices decoded (end exclusive; None: to the end), for
            whole-video requests run on part of a long video (`run.plan_segments`).

    Returns:
        One stream per request, in order.

    Raises:
        FileNotFoundError, VideoError: the video is missing or cannot be decoded at all.
    """
    import cv2

    if not requests:
        return []
    runs = [_StreamRun(r) for r in requests]
    wanted: dict[int, list[tuple[_StreamRun, int]]] = {}
    every = [s for s in runs if s.request.frames is None]
    for s in runs:
        if s.request.frames is not None:
            for row, index in enumerate(s.request.frames.tolist()):
                wanted.setdefault(index, []).append((s, row))
    first, end = span
    last = (math.inf if end is None else end - 1) if every else max(wanted)
    # Whole frames are scaled while decoding, on the prefetch thread; crops are cut from
    # full-resolution frames and scaled afterwards.
    whole = all(r.boxes is None for r in requests)
    with OpenVideo(video) as opened:
        if on_open is not None:
            on_open(opened.info)
        frames = opened.frames(
            max_side=settings.max_side if whole else 0, prefetch=PREFETCH, start=first
        )
        try:
            for vf in frames:
                wh = opened.frame_wh  # set with the first frame, before scaling
                assert wh is not None
                users = [(s, -1) for s in every] + wanted.get(vf.index, [])
                if users:
                    rgb = np.asarray(cv2.cvtColor(vf.image, cv2.COLOR_BGR2RGB), np.uint8)
                    for run, row in users:
                        _detect(run, row, rgb, vf.t_s, vf.index, model_path, settings, wh)
                    if on_frames is not None:
                        on_frames(len(users))
                if vf.index >= last:
                    break
        finally:
            frames.close()
            for s in runs:
                s.close()
        wh, log = opened.frame_wh, opened.log
    assert wh is not None  # frames() raised VideoError if no frame decoded
    stop = log.last_index + 1  # a whole-video request asks for every frame the file lists
    if log.ended and log.total_frames:
        stop = max(stop, log.total_frames if end is None else min(log.total_frames, end))
    if end is not None:  # frames decoded ahead (prefetch) past the span are not its own
        stop = min(stop, end)
    return [_assemble(s, wh, set(log.skipped), range(first, stop)) for s in runs]


def _detect(
    run: _StreamRun,
    row: int,
    rgb: npt.NDArray[np.uint8],
    t_s: float,
    index: int,
    model_path: str | Path,
    settings: PoseSettings,
    wh: tuple[int, int],
) -> None:
    """Pose on one frame of one request (`row`: its index in the request's frames)."""
    request = run.request
    person = run.follow(model_path, settings)
    if request.boxes is None:
        crop = (0, 0, wh[0], wh[1])
        image = rgb  # the whole frame, maybe already scaled
    else:
        crop = crop_pixels(request.boxes[row], wh, settings.crop_padding)
        x0, y0, x1, y1 = crop
        image = rgb[y0:y1, x0:x1]
    image = resize_to(image, fit_size(image.shape[1], image.shape[0], settings.max_side))
    frame = person(np.ascontiguousarray(image), t_s)
    run.rows.append((index, t_s, frame, uncrop(frame, crop, wh)))
    if request.frames is not None and row == request.frames.size - 1:
        run.close()  # free the estimator as soon as its segment ends


def _assemble(
    run: _StreamRun, wh: tuple[int, int], skipped: set[int], whole: range
) -> KeypointStream:
    """The request's rows as arrays, with its lost frames split by why they were lost:
    undecodable inside the file, or missing at its end (asked for past the last frame
    that decoded: beyond the video, or in a file cut short). `whole`: the frames a
    whole-video request asks for (every frame the file lists, in the decoded span)."""
    rows = run.rows
    m = skeleton.N_LANDMARKS
    decoded = {r[0] for r in rows}
    requested = whole if run.request.frames is None else run.request.frames.tolist()
    lost = [i for i in requested if i not in decoded]
    return KeypointStream(
        image=np.array([r[3] for r in rows], np.float32).reshape(-1, m, 3),
        world=np.array([r[2].world for r in rows], np.float32).reshape(-1, m, 3),
        visibility=np.array([r[2].visibility for r in rows], np.float32).reshape(-1, m),
        presence=np.array([r[2].presence for r in rows], np.float32).reshape(-1, m),
        frames=np.array([r[0] for r in rows], np.int64),
        t_s=np.array([r[1] for r in rows], np.float64),
        image_wh=wh,
        unreadable_frames=np.array([i for i in lost if i in skipped], np.int64),
        frames_past_end=np.array([i for i in lost if i not in skipped], np.int64),
    )
