"""One run of the live app: open the model, the source, pose and the outputs; run the loop.

`run(config)` wires the parts together and finalises every output on every exit path (end
of video, quit, signal, limits, a failing source, an error). Pose settings follow the
model: the image size and PoseLandmarker's confidence thresholds are the ones recorded in
the model (`EmotionModel.pose`), as its window and feature set are; only `--max-people` is
the app's own. Messages for the user go to `notify` (what the run opened, how it ended)
and to the "realtime" logger (warnings); nothing here prints.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipeline.models import EmotionModel, load_model
from pipeline.pose import PoseEstimator, PoseSettings, check_pose_model, quiet_stderr
from realtime import demo
from realtime.analyzer import Analyzer
from realtime.capture import SourceInfo, open_source, quiet_opencv
from realtime.config import RealtimeConfig, shown_path
from realtime.loop import RunSummary, run_loop, single_threaded_numerics, stop_on_signals
from realtime.overlay import default_annotators
from realtime.screen import Screen, display_problem
from realtime.sinks import Sink
from realtime.sinks.jsonl import JsonlSink, JsonlWriter
from realtime.sinks.recording import RecordSink, VideoRecorder
from realtime.smoothing import LabelDecider, make_smoother
from realtime.web import LiveHub, WebServer, WebSink
from realtime.web_address import ServeAddress, serve_token

log = logging.getLogger(__name__)

Notify = Callable[[str], None]


def pose_max_side(requested: int | None, trained: PoseSettings) -> tuple[int, str | None]:
    """The longest side of the images given to pose, pixels (0: native), and a warning.

    `requested` is `--max-side` (None: not given). The model's own `trained.max_side` is
    used unless the user asked for another size; then the warning says so (else None).
    """
    if requested is None or requested == trained.max_side:
        return trained.max_side, None
    return requested, (
        f"--max-side {requested} differs from the {trained.max_side} the model was trained "
        "with (pose.max_side in its card); its landmarks may differ from the training ones"
    )


def run(config: RealtimeConfig, *, notify: Notify = log.info) -> RunSummary:
    """Run the live app with `config` until the source ends, a limit or the user stops it.

    Args:
        config: the run's settings.
        notify: called with each one-line message for the user.

    Raises:
        SourceFailed: the source stopped delivering mid-run (outputs already finalised).
        ValueError, FileNotFoundError, RuntimeError, OSError: bad input (model, camera,
            video, paths), before anything is written.
    """
    os.environ.setdefault("GLOG_minloglevel", "2")  # before mediapipe is loaded
    quiet_opencv()
    model = load_model(config.model_path, trust_pickle=config.trust_pickle)
    max_side, mismatch = pose_max_side(config.max_side, model.pose)
    if mismatch is not None:
        log.warning(mismatch)
    if config.pose_model is not None:
        check_pose_model(config.pose_model)
    no_display = None if config.headless else display_problem()
    headless = config.headless or no_display is not None
    video: int | Path
    if config.demo:
        video = demo.fetch_demo_clip(notify=notify)
    elif config.camera is not None:
        video = config.camera
    else:
        assert config.video is not None  # exactly one input (RealtimeConfig)
        video = config.video
    with contextlib.ExitStack() as stack:
        source = open_source(
            video,
            realtime=config.realtime,
            loop=config.loop,
            max_side=max_side,
            retry_s=config.camera_retry_s,
        )
        stack.callback(source.stop)  # joins the capture thread, then releases camera or file
        info = source.info
        recorder = VideoRecorder(config.record, fps=info.nominal_fps) if config.record else None
        screen = None
        if not headless:  # before fd 2 is muted: nothing that can abort runs muted
            screen = Screen()
            stack.callback(screen.close)
        # mediapipe logs straight to fd 2; keep it off the user's terminal for the run
        stack.enter_context(quiet_stderr(replay=False))  # an error stays one line
        stack.enter_context(single_threaded_numerics())
        pose = PoseEstimator.from_settings(
            model.pose, config.pose_model, mode="video", num_poses=config.max_people
        )
        stack.callback(pose.close)
        analyzer = Analyzer(
            model,
            pose,
            make_smoother(config.smoothing, tau_s=config.smoothing_s, k=config.smoothing_k),
            LabelDecider(config.min_confidence, config.margin),
            max_fps=max(240.0, 2.0 * info.nominal_fps),
            max_people=config.max_people,
            fps=info.nominal_fps,
        )
        sinks: list[Sink] = []
        if config.jsonl:
            writer = stack.enter_context(JsonlWriter(config.jsonl))
            sinks.append(JsonlSink(writer, model.classes))
        if recorder is not None:
            stack.enter_context(recorder)
            sinks.append(RecordSink(recorder))
        if config.serve is not None:
            address = ServeAddress.parse(config.serve)
            hub = LiveHub()
            server = WebServer(
                address, hub, model.classes, serve_token(address, config.serve_token)
            )
            stack.enter_context(server)  # binds now: a busy port is an error before the run
            sinks.append(WebSink(hub, model.classes))
            notify(f"live view on {server.url}")
        if no_display is not None:
            notify(f"no display ({no_display}): running headless, without a window")
        notify(start_line(config, model, info, headless))
        if config.demo:
            notify(demo.CREDIT)
        stop = threading.Event()
        stack.enter_context(stop_on_signals(stop))
        source.start()
        # an error (SourceFailed included) leaves the block: the outputs are finalised first
        summary = run_loop(
            source,
            analyzer,
            annotators=default_annotators(model.classes, people=config.max_people > 1),
            sinks=sinks,
            screen=screen,
            stop=stop,
            max_frames=config.max_frames,
            duration_s=config.duration_s,
        )
    notify(summary_line(config, summary, getattr(source, "missing_at_end", 0)))
    return summary


def start_line(
    config: RealtimeConfig, model: EmotionModel, info: SourceInfo, headless: bool
) -> str:
    """What the run uses: the model's classes, features and window; the source and its size."""
    return (
        f"model {shown_path(config.model_path)}: {len(model.classes)} classes, features "
        f"{model.feature_set!r}, window {model.window.window_s:g} s; source {info.name} "
        f"{info.native_wh[0]}x{info.native_wh[1]} at {info.nominal_fps:g} fps"
        + (
            f", processed at {info.width}x{info.height}"
            if info.resolution_wh != info.native_wh
            else ""
        )
        + ("" if headless else "; press q or Esc in the window to quit")
    )


def summary_line(config: RealtimeConfig, summary: RunSummary, missing_at_end: int = 0) -> str:
    """How the run ended: frames, rate, dropped and skipped frames (and those a video cut
    short lacks at its end), latency, files written."""
    lat = np.percentile(summary.latencies_ms, [50, 95]) if summary.latencies_ms else [0.0, 0.0]
    outputs = [str(p) for p in (config.jsonl if config.jsonl != "-" else None, config.record) if p]
    missing = f", {missing_at_end} missing at the end of the file" if missing_at_end else ""
    return (
        f"stopped ({summary.reason}): {summary.frames} frames processed at {summary.fps:.1f} fps, "
        f"{summary.dropped} stale frames dropped, {summary.skipped} undecodable frames skipped"
        f"{missing}; "
        f"latency p50 {lat[0]:.0f} ms, p95 {lat[1]:.0f} ms"
        + (f"; wrote {', '.join(outputs)}" if outputs else "")
    )
