"""`python -m realtime`: read a person's emotion from their movement, live.

`main(argv)` parses the command line into a frozen `RealtimeConfig` and calls `run`.
Bad input (camera, video, model, output paths) gives one line "error: ..." on stderr and
exit code 2; a source that fails mid-run (a camera that stops delivering) exit code 1
after the outputs are finalised; everything else that ends the run (end of video, q/Esc,
Ctrl-C, SIGTERM, --max-frames, --duration) exit code 0.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from pipeline.video import MIN_MAX_SIDE, POSE_MAX_SIDE
from realtime.capture import DEFAULT_RETRY_S

EXAMPLES = """\
inputs (exactly one):
  python -m realtime --demo                      built-in footage of a person (fetched once)
  python -m realtime --camera 0                  the first webcam
  python -m realtime --video clip.mp4 --loop     a recorded video played as if live, repeated

outputs and offline use:
  python -m realtime --demo --duration 20 --jsonl demo.jsonl --record demo.mp4
  python -m realtime --video clip.mp4 --no-realtime --headless --jsonl - > labels.jsonl

Person followed: with --max-people 1 (the default) MediaPipe tracks the person it found
first from frame to frame and looks for the most prominent person again when that person
is lost; with --max-people N > 1 the app follows the person whose mid-hip is nearest the
followed person's previous one (at the start: the largest in the image).

Shown states: "no person" (nobody in view), "collecting movement" (a person, but not yet a
full window of movement), "uncertain" (top smoothed probability under --min-confidence),
else the emotion and its confidence. q or Esc in the window quits; so do Ctrl-C and SIGTERM
(the recording is finalised and the JSONL flushed in every case).

Exit codes: 0 done; 2 bad input (camera, video, model, paths), one line on stderr;
1 the source stopped delivering mid-run (after --camera-retry-s of retries).
"""


@dataclass(frozen=True, slots=True)
class RealtimeConfig:
    """Every setting of one run of the live app (see `build_parser` for the meaning)."""

    camera: int | None = None
    video: Path | None = None
    demo: bool = False
    loop: bool = False
    realtime: bool = True
    model: Path | None = None
    pose_model: Path | None = None
    record: Path | None = None
    jsonl: str | None = None
    headless: bool = False
    max_frames: int | None = None
    duration_s: float | None = None
    max_side: int = POSE_MAX_SIDE
    max_people: int = 1
    smoothing: str = "ema"
    smoothing_s: float = 0.5
    smoothing_k: int = 10
    min_confidence: float = 0.4
    margin: float = 0.1
    camera_retry_s: float = DEFAULT_RETRY_S

    def __post_init__(self) -> None:
        chosen = (self.camera is not None) + (self.video is not None) + self.demo
        if chosen != 1:
            raise ValueError(
                f"exactly one of --camera, --video, --demo must be given, got {chosen}"
            )
        if self.camera is not None and self.camera < 0:
            raise ValueError(f"--camera must be an index >= 0, got {self.camera}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(f"--max-frames must be >= 1, got {self.max_frames}")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ValueError(f"--duration must be > 0 seconds, got {self.duration_s}")
        if self.max_side != 0 and self.max_side < MIN_MAX_SIDE:
            raise ValueError(
                f"--max-side must be 0 (native size) or >= {MIN_MAX_SIDE} pixels, "
                f"got {self.max_side}"
            )
        if self.max_people < 1:
            raise ValueError(f"--max-people must be >= 1, got {self.max_people}")
        if self.camera_retry_s < 0:
            raise ValueError(f"--camera-retry-s must be >= 0 seconds, got {self.camera_retry_s}")
        if self.record is not None:
            from realtime.recording import codec_for

            codec_for(self.record)
            if self.record.is_dir():
                raise ValueError(f"--record must be a file path, got the directory {self.record}")
        if self.jsonl is not None and self.jsonl != "-" and Path(self.jsonl).is_dir():
            raise ValueError(f"--jsonl must be a file path or -, got the directory {self.jsonl}")
        from realtime.smoothing import LabelDecider, make_smoother

        make_smoother(self.smoothing, tau_s=self.smoothing_s, k=self.smoothing_k)
        LabelDecider(self.min_confidence, self.margin)

    @property
    def model_path(self) -> Path:
        from pipeline.models import DEFAULT_MODEL

        return self.model if self.model is not None else DEFAULT_MODEL

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RealtimeConfig:
        """The config of parsed `build_parser` arguments (each option's dest is a field)."""
        values = {f.name: getattr(args, f.name) for f in fields(cls)}
        return cls(**{**values, "loop": args.loop or args.demo})


# The parser's defaults, stated once (in `RealtimeConfig`).
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(RealtimeConfig)}


def build_parser() -> argparse.ArgumentParser:
    from pipeline.models import DEFAULT_MODEL
    from realtime.smoothing import SMOOTHERS

    p = argparse.ArgumentParser(
        prog="python -m realtime",
        description=(
            "Read a person's emotion from how their body moves, live: camera or video ->\n"
            "MediaPipe pose -> movement window -> classifier -> smoothed label on screen.\n"
            "Window length and features come from the model file itself."
        ),
        epilog=EXAMPLES,
        formatter_class=lambda prog: _Formatter(prog, max_help_position=34),
    )
    src = p.add_argument_group("input (exactly one)").add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--camera", type=int, metavar="N", help="live camera with OpenCV index N, e.g. 0"
    )
    src.add_argument(
        "--video",
        type=Path,
        metavar="PATH",
        help="a recorded video, played as if live at its own frame rate",
    )
    src.add_argument(
        "--demo",
        action="store_true",
        help="built-in footage of one person (pose2sim's demo clip, BSD-3-Clause; "
        "fetched once with pip into ~/.cache/posemotion), looped",
    )
    play = p.add_argument_group("playback")
    play.add_argument("--loop", action="store_true", help="replay the video without end")
    play.add_argument(
        "--no-realtime",
        dest="realtime",
        action="store_false",
        help="process every frame of a video as fast as possible, dropping none "
        "(offline use) instead of pacing it at its frame rate",
    )
    play.add_argument("--max-frames", type=int, metavar="N", help="stop after N processed frames")
    play.add_argument(
        "--duration",
        dest="duration_s",
        type=float,
        metavar="S",
        help="stop after S seconds of source time (wall time for a camera or a paced video)",
    )
    play.add_argument(
        "--max-side",
        type=int,
        default=_DEFAULTS["max_side"],
        metavar="PX",
        help="scale frames down (same aspect) so their longer side is at most PX "
        "pixels, for pose, display and recording; 0 keeps the native size",
    )
    play.add_argument(
        "--camera-retry-s",
        type=float,
        default=_DEFAULTS["camera_retry_s"],
        metavar="S",
        help="when the camera stops delivering, retry (reopening it every second) "
        "for S seconds, then stop with exit code 1",
    )
    mod = p.add_argument_group("models")
    mod.add_argument(
        "--model",
        type=Path,
        metavar="PATH",
        help=f"emotion model (.joblib with its .card.json); default {_rel(DEFAULT_MODEL)}",
    )
    mod.add_argument(
        "--pose-model",
        type=Path,
        metavar="PATH",
        help="an official pose_landmarker_{lite,full,heavy}.task instead of the "
        "built-in BlazePose bundle",
    )
    mod.add_argument(
        "--max-people",
        type=int,
        default=_DEFAULTS["max_people"],
        metavar="N",
        help="people PoseLandmarker looks for; one is followed (see below). "
        "N > 1 costs about 10 ms per frame more",
    )
    lab = p.add_argument_group("label")
    lab.add_argument(
        "--smoothing",
        choices=sorted(SMOOTHERS),
        default=_DEFAULTS["smoothing"],
        help="smoothing of the class probabilities over time",
    )
    lab.add_argument(
        "--smoothing-s",
        type=float,
        default=_DEFAULTS["smoothing_s"],
        metavar="S",
        help="time constant of --smoothing ema, seconds",
    )
    lab.add_argument(
        "--smoothing-k",
        type=int,
        default=_DEFAULTS["smoothing_k"],
        metavar="K",
        help="classifications averaged by --smoothing mean",
    )
    lab.add_argument(
        "--min-confidence",
        type=float,
        default=_DEFAULTS["min_confidence"],
        metavar="P",
        help="smallest smoothed probability shown as an emotion; below it the "
        "label reads 'uncertain'",
    )
    lab.add_argument(
        "--margin",
        type=float,
        default=_DEFAULTS["margin"],
        metavar="P",
        help="hysteresis: a new label must lead the shown one by P to replace it",
    )
    out = p.add_argument_group("output")
    out.add_argument(
        "--record",
        type=Path,
        metavar="OUT.mp4",
        help="write the annotated frames to a video (.mp4/.m4v/.mov: MPEG-4, .avi: "
        "MJPEG) at the source's frame rate",
    )
    out.add_argument(
        "--jsonl",
        metavar="OUT",
        help="write one JSON object per tick (t_s, frame, state, label, "
        "probabilities, latency_ms, fps, dropped, skipped) to OUT, or - for stdout",
    )
    out.add_argument(
        "--headless",
        action="store_true",
        help="no window (chosen automatically, with a note, when there is no display)",
    )
    return p


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the help text (where there is one to state); epilog kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def _rel(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def display_problem() -> str | None:
    """Why no window can be shown, or None when a display looks usable.

    On Linux/BSD: no DISPLAY or WAYLAND_DISPLAY, or an X display that does not answer (a
    window on it would abort the process inside Qt). Elsewhere: always None.
    """
    if sys.platform.startswith(("win", "darwin")):
        return None
    display = os.environ.get("DISPLAY", "")
    if not display:
        return None if os.environ.get("WAYLAND_DISPLAY") else "DISPLAY is not set"
    if not _x_display_answers(display):
        return f"display {display} does not answer"
    return None


def _x_display_answers(display: str) -> bool:
    """Whether something accepts connections for X display "[host]:N[.screen]"."""
    import socket

    host, _, rest = display.rpartition(":")
    try:
        number = int(rest.split(".")[0])
    except ValueError:
        return True  # an unusual form: let the GUI toolkit decide
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        for address in (path, "\0" + path):  # file socket, then Linux abstract socket
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
                s.settimeout(0.5)
                s.connect(address)
                return True
        return False
    with contextlib.suppress(OSError), socket.create_connection((host, 6000 + number), 0.5):
        return True
    return False


class _Format(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = "" if record.levelno < logging.WARNING else f"{record.levelname.lower()}: "
        return prefix + record.getMessage()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of each message."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def _setup_logging() -> None:
    root = logging.getLogger("realtime")
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_Format())
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


def _note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(config: RealtimeConfig) -> int:
    """Run the live app with `config`; returns the exit code (see the module docstring)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    from pipeline.models import load_model
    from pipeline.pose import PoseEstimator, check_pose_model, quiet_stderr
    from realtime import demo
    from realtime.capture import SourceFailed, open_source, quiet_opencv
    from realtime.jsonl import JsonlWriter
    from realtime.loop import (
        Analyzer,
        JsonlSink,
        RecordSink,
        Screen,
        Sink,
        run_loop,
        single_threaded_numerics,
        stop_on_signals,
    )
    from realtime.overlay import default_annotators
    from realtime.recording import VideoRecorder
    from realtime.smoothing import LabelDecider, make_smoother

    quiet_opencv()
    model = load_model(config.model_path)
    if config.pose_model is not None:
        check_pose_model(config.pose_model)
    no_display = None if config.headless else display_problem()
    headless = config.headless or no_display is not None
    if config.demo:
        video: int | Path = demo.fetch_demo_clip(notify=_note)
    else:
        video = config.camera if config.camera is not None else config.video  # type: ignore[assignment]
    with contextlib.ExitStack() as stack:
        source = open_source(
            video,
            realtime=config.realtime,
            loop=config.loop,
            max_side=config.max_side,
            retry_s=config.camera_retry_s,
        )
        stack.callback(source.stop)  # joins the capture thread, then releases camera or file
        info = source.info
        recorder = VideoRecorder(config.record, fps=info.nominal_fps) if config.record else None
        # mediapipe logs straight to fd 2; keep it off the user's terminal for the run
        stack.enter_context(quiet_stderr())
        stack.enter_context(single_threaded_numerics())
        pose = PoseEstimator(config.pose_model, mode="video", num_poses=config.max_people)
        stack.callback(pose.close)
        analyzer = Analyzer(
            model,
            pose,
            make_smoother(config.smoothing, tau_s=config.smoothing_s, k=config.smoothing_k),
            LabelDecider(config.min_confidence, config.margin),
            max_fps=max(240.0, 2.0 * info.nominal_fps),
        )
        screen = None
        if not headless:
            screen = Screen()
            stack.callback(screen.close)
        sinks: list[Sink] = []
        if config.jsonl:
            writer = stack.enter_context(JsonlWriter(config.jsonl))
            sinks.append(JsonlSink(writer, model.classes))
        if recorder is not None:
            stack.enter_context(recorder)
            sinks.append(RecordSink(recorder))
        if no_display is not None:
            _note(f"no display ({no_display}): running headless, without a window")
        _note(
            f"model {_rel(config.model_path)}: {len(model.classes)} classes, features "
            f"{model.feature_set!r}, window {model.window.window_s:g} s; source {info.name} "
            f"{info.native_wh[0]}x{info.native_wh[1]} at {info.nominal_fps:g} fps"
            + (
                f", processed at {info.width}x{info.height}"
                if info.resolution_wh != info.native_wh
                else ""
            )
            + ("" if headless else "; press q or Esc in the window to quit")
        )
        if config.demo:
            _note(demo.CREDIT)
        stop = threading.Event()
        stack.enter_context(stop_on_signals(stop))
        source.start()
        try:
            summary = run_loop(
                source,
                analyzer,
                annotators=default_annotators(model.classes),
                sinks=sinks,
                screen=screen,
                stop=stop,
                max_frames=config.max_frames,
                duration_s=config.duration_s,
            )
        except SourceFailed as e:
            stack.close()  # finalise the outputs before reporting
            print(f"error: {e}; the outputs were finalised", file=sys.stderr)
            return 1
    lat = np.percentile(summary.latencies_ms, [50, 95]) if summary.latencies_ms else [0.0, 0.0]
    outputs = [str(p) for p in (config.jsonl if config.jsonl != "-" else None, config.record) if p]
    _note(
        f"stopped ({summary.reason}): {summary.frames} frames processed at {summary.fps:.1f} fps, "
        f"{summary.dropped} stale frames dropped, {summary.skipped} undecodable frames skipped; "
        f"latency p50 {lat[0]:.0f} ms, p95 {lat[1]:.0f} ms"
        + (f"; wrote {', '.join(outputs)}" if outputs else "")
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m realtime`; returns the exit code."""
    args = build_parser().parse_args(argv)  # argparse exits 2 on bad flags
    _setup_logging()
    try:
        return run(RealtimeConfig.from_args(args))
    except (ValueError, FileNotFoundError, RuntimeError, OSError) as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130


def _one_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        text = f"{e.strerror}: {e.filename}"
    return " ".join(text.split())
