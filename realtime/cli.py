"""`python -m realtime`: read a person's emotion from their movement, live.

`main(argv)` parses the command line into a frozen `RealtimeConfig` (`realtime.config`) and
calls `realtime.app.run`; this module only parses, shows the messages and turns errors
into one line and an exit code. Bad input (camera, video, model, output paths) gives one
line "error: ..." on stderr and exit code 2; a source that fails mid-run (a camera that
stops delivering) exit code 1 after the outputs are finalised; everything else that ends
the run (end of video, q/Esc, Ctrl-C, SIGTERM, --max-frames, --duration) exit code 0.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipeline.models import DEFAULT_MODEL
from pipeline.validate import ArgumentParser, number
from realtime import app
from realtime.capture import SourceFailed
from realtime.config import DEFAULTS, RealtimeConfig, shown_path
from realtime.smoothing import SMOOTHERS
from realtime.web_address import DEFAULT_SERVE

EXAMPLES = """\
inputs (exactly one):
  python -m realtime --demo                      built-in footage of a person (fetched once)
  python -m realtime --camera 0                  the first webcam
  python -m realtime --video clip.mp4 --loop     a recorded video played as if live, repeated

outputs and offline use:
  python -m realtime --demo --duration 20 --jsonl demo.jsonl --record demo.mp4
  python -m realtime --camera 0 --headless --serve    live view at http://127.0.0.1:8000/
  python -m realtime --video clip.mp4 --no-realtime --headless --jsonl - > labels.jsonl

People: with --max-people 1 (the default) MediaPipe tracks the person it found first
from frame to frame and looks for the most prominent person again when that person is
lost. With --max-people N > 1 everyone found (up to N) is labelled: each gets a stable id
(norfair tracker; kept through short misses, and for someone who returns within 3 s where
the tracker can tell), their own window, smoothing and label drawn beside them, and an
entry in the JSONL "people" list; the top-level fields follow the longest-followed person.

Shown states: "no person" (nobody in view), "collecting movement" (a person, but not yet a
full window of movement), "uncertain" (top smoothed probability under --min-confidence),
else the emotion and its confidence. q or Esc in the window quits; so do Ctrl-C and SIGTERM
(the recording is finalised and the JSONL flushed in every case).

Exit codes: 0 done; 2 bad input (camera, video, model, paths), one line on stderr;
1 the source stopped delivering mid-run (after --camera-retry-s of retries).
"""


MAX_CAMERA_INDEX = 2**31 - 1  # OpenCV takes a C int
TRUST_PICKLE_WARNING = (
    "warning: --trust-pickle: an old pickle model file may run code when loaded; "
    "use it only if you trust where it came from, and re-save it with train.py"
)


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m realtime`; each option's dest is a config field."""
    p = ArgumentParser(
        prog="python -m realtime",
        description=(
            "Read a person's emotion from how their body moves, live: camera or video ->\n"
            "MediaPipe pose -> movement window -> classifier -> smoothed label on screen.\n"
            "Window length, features and pose settings come from the model file itself."
        ),
        epilog=EXAMPLES,
        formatter_class=lambda prog: _Formatter(prog, max_help_position=34),
    )
    src = p.add_argument_group("input (exactly one)").add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--camera",
        type=number(int, at_least=0, at_most=MAX_CAMERA_INDEX),
        metavar="N",
        help="live camera with OpenCV index N, e.g. 0",
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
    play.add_argument(
        "--max-frames",
        type=number(int, at_least=1),
        metavar="N",
        help="stop after N processed frames",
    )
    play.add_argument(
        "--duration",
        dest="duration_s",
        type=number(float, above=0),
        metavar="S",
        help="stop after S seconds of source time (wall time for a camera or a paced video)",
    )
    play.add_argument(
        "--max-side",
        type=number(int, at_least=0),
        default=DEFAULTS["max_side"],
        metavar="PX",
        help="scale frames down (same aspect) so their longer side is at most PX "
        "pixels, for pose, display and recording; 0 keeps the native size "
        "(default: the size the model was trained with, pose.max_side in its card)",
    )
    play.add_argument(
        "--camera-retry-s",
        type=number(float, at_least=0),
        default=DEFAULTS["camera_retry_s"],
        metavar="S",
        help="when the camera stops delivering, retry (reopening it every second) "
        "for S seconds, then stop with exit code 1",
    )
    mod = p.add_argument_group("models")
    mod.add_argument(
        "--model",
        type=Path,
        metavar="PATH",
        help=f"emotion model (.skops with its .card.json); default {shown_path(DEFAULT_MODEL)}",
    )
    mod.add_argument(
        "--trust-pickle",
        action="store_true",
        help="also read an old pickle (.joblib) model: loading a pickle can run any code "
        "in it, so only for a file you trust; re-save it with train.py",
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
        type=number(int, at_least=1),
        default=DEFAULTS["max_people"],
        metavar="N",
        help="people labelled at most, each with their own id and label (see below); "
        "N > 1 makes PoseLandmarker look for more people, which costs pose time",
    )
    lab = p.add_argument_group("label")
    lab.add_argument(
        "--smoothing",
        choices=sorted(SMOOTHERS),
        default=DEFAULTS["smoothing"],
        help="smoothing of the class probabilities over time",
    )
    lab.add_argument(
        "--smoothing-s",
        type=number(float, above=0),
        default=DEFAULTS["smoothing_s"],
        metavar="S",
        help="time constant of --smoothing ema, seconds",
    )
    lab.add_argument(
        "--smoothing-k",
        type=number(int, at_least=1),
        default=DEFAULTS["smoothing_k"],
        metavar="K",
        help="classifications averaged by --smoothing mean",
    )
    lab.add_argument(
        "--min-confidence",
        type=number(float, at_least=0, at_most=1),
        default=DEFAULTS["min_confidence"],
        metavar="P",
        help="smallest smoothed probability shown as an emotion; below it the "
        "label reads 'uncertain'",
    )
    lab.add_argument(
        "--margin",
        type=number(float, at_least=0, at_most=1),
        default=DEFAULTS["margin"],
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
        "probabilities, latency_ms, fps, dropped, skipped, people) to OUT, or - for stdout",
    )
    out.add_argument(
        "--headless",
        action="store_true",
        help="no window (chosen automatically, with a note, when there is no display)",
    )
    out.add_argument(
        "--serve",
        nargs="?",
        const=DEFAULT_SERVE,
        metavar="[HOST:]PORT",
        help=f"show the live view in a browser at http://HOST:PORT/ (alone: {DEFAULT_SERVE}); "
        "the annotated stream and the JSONL records live. Any address but loopback needs "
        "--serve-token (one is generated and printed when not given)",
    )
    out.add_argument(
        "--serve-token",
        metavar="TOKEN",
        help="secret every request to --serve must carry (?token=TOKEN), else 403",
    )
    return p


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the help text (where there is one to state); epilog kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


class _Format(logging.Formatter):
    """Info lines as they are; warnings and errors prefixed "warning: " / "error: "."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = "" if record.levelno < logging.WARNING else f"{record.levelname.lower()}: "
        return prefix + record.getMessage()


class _StderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time of each message (tests replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def _setup_logging() -> None:
    """Show the "realtime" loggers' messages (info and up) on stderr, once per process."""
    root = logging.getLogger("realtime")
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_Format())
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


def _note(message: str) -> None:
    """The app's `notify`: one line for the user on stderr."""
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m realtime`; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)  # argparse exits 2 on bad flags
        _setup_logging()
        if args.trust_pickle:
            print(TRUST_PICKLE_WARNING, file=sys.stderr)
        app.run(RealtimeConfig.from_args(args), notify=_note)
    except SourceFailed as e:
        print(f"error: {_one_line(e)}; the outputs were finalised", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, RuntimeError, OSError) as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # while starting, or a second Ctrl-C during shutdown
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def _one_line(e: BaseException) -> str:
    """An error as one line: its message (or type), OSErrors as "reason: file"."""
    text = str(e).strip() or type(e).__name__
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        text = f"{e.strerror}: {e.filename}"
    return " ".join(text.split())
