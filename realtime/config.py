"""The settings of one run of the live app, with their defaults (stated once, here).

`realtime.cli` builds its parser from these defaults and turns the parsed arguments into a
`RealtimeConfig`, whose checks give the one-line messages the CLI prints.
"""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Final

from pipeline.io import check_output_location, check_outputs
from pipeline.models import DEFAULT_MODEL, card_path
from pipeline.video import MIN_MAX_SIDE
from realtime import demo
from realtime.capture import DEFAULT_RETRY_S
from realtime.sinks.recording import codec_for
from realtime.smoothing import LabelDecider, make_smoother
from realtime.web_address import ServeAddress, serve_token


@dataclass(frozen=True, slots=True)
class RealtimeConfig:
    """Every setting of one run of the live app (see `realtime.cli.build_parser` for the
    meaning of each; the field names are the options' dests).

    `max_side` None means "as the model was trained" (its card's `pose.max_side`).
    """

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
    max_side: int | None = None
    max_people: int = 1
    smoothing: str = "ema"
    smoothing_s: float = 0.5
    smoothing_k: int = 10
    min_confidence: float = 0.4
    margin: float = 0.1
    camera_retry_s: float = DEFAULT_RETRY_S
    trust_pickle: bool = False
    serve: str | None = None
    serve_token: str | None = None

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
        if self.max_side is not None and self.max_side != 0 and self.max_side < MIN_MAX_SIDE:
            raise ValueError(
                f"--max-side must be 0 (native size) or >= {MIN_MAX_SIDE} pixels, "
                f"got {self.max_side}"
            )
        if self.max_people < 1:
            raise ValueError(f"--max-people must be >= 1, got {self.max_people}")
        if not 0 <= self.camera_retry_s < float("inf"):
            raise ValueError(f"--camera-retry-s must be >= 0 seconds, got {self.camera_retry_s}")
        if self.record is not None:
            codec_for(self.record)
        self.check_paths()
        if self.serve is not None:
            serve_token(ServeAddress.parse(self.serve), self.serve_token)
        elif self.serve_token is not None:
            raise ValueError("--serve-token needs --serve")
        make_smoother(self.smoothing, tau_s=self.smoothing_s, k=self.smoothing_k)
        LabelDecider(self.min_confidence, self.margin)

    def check_paths(self) -> None:
        """Refuse outputs that would overwrite an input or each other (symlinks and hard
        links resolved), and outputs that cannot be written as regular files, before
        anything is opened (`OutputError`, a ValueError: one line)."""
        outputs = {"--record": self.record, "--jsonl": self.jsonl}
        check_outputs(
            {
                "--video": self.video,
                "--model": self.model_path,
                "model card": card_path(self.model_path),
                "--pose-model": self.pose_model,
                "the cached demo clip": demo.clip_path() if self.demo else None,
            },
            outputs,
        )
        for name, path in outputs.items():
            if path is not None and str(path) != "-":
                check_output_location(name, path, create_folders=False)

    @property
    def model_path(self) -> Path:
        """The emotion model file: `model`, or the shipped one."""
        return self.model if self.model is not None else DEFAULT_MODEL

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RealtimeConfig:
        """The config of parsed `build_parser` arguments (each option's dest is a field)."""
        values = {f.name: getattr(args, f.name) for f in fields(cls)}
        return cls(**{**values, "loop": args.loop or args.demo})


# Each setting's default, by field name: what the parser offers when an option is left out.
DEFAULTS: Final[dict[str, Any]] = {f.name: f.default for f in fields(RealtimeConfig)}


def shown_path(path: Path) -> str:
    """`path` as shown to the user: relative to the working directory when inside it."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)
