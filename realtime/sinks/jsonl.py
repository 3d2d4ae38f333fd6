"""JSON Lines output: one object per classification tick, written and flushed line by line.

Each line (see `tick_record`):

    {"t_s": 2.35, "frame": 141, "state": "classified", "label": "happy",
     "probabilities": {"angry": 0.05, "happy": 0.81, ...}, "latency_ms": 31.2,
     "fps": 29.8, "dropped": 12, "skipped": 0,
     "people": [{"id": 1, "box": [0.31, 0.08, 0.66, 0.97], "state": "classified",
                 "label": "happy", "probabilities": {"angry": 0.05, ...}}]}

- t_s: source time of the frame, seconds (camera: monotonic clock; file: index / fps).
- frame: source frame index.
- state: "no person", "collecting movement", "uncertain" or "classified".
- label: the shown emotion, or null unless state is "classified".
- probabilities: smoothed class probabilities (sum to 1), or null when nothing was classified.
- latency_ms: capture to label, milliseconds. fps: processing rate, frames per second.
- dropped: stale frames dropped so far. skipped: undecodable frames skipped so far.
- people: everyone in view: id (stable across frames; 1 with --max-people 1), box (x0, y0,
  x1, y1 of their landmarks, normalised image coordinates), and their own state, label and
  probabilities as above. The fields above it are the followed person's.

The file is written under a new temporary name beside the target
(`.NAME.~posemotion-PID.RANDOM.partial`, created with O_EXCL so never a planted file or
link; flushed line by line) and renamed onto the target when the run ends (any way but a
kill): a run that fails before its first line leaves the previous file as it was. A crash
loses at most the line being written; its temporary file is removed by a later run.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from pipeline.io import Closing, clean_stale_temporaries, new_temporary
from realtime.capture import Frame
from realtime.sinks import finalised
from realtime.tick import PersonTick, Tick

STDOUT = "-"


def tick_record(tick: Tick, classes: Sequence[str]) -> dict[str, Any]:
    """The JSON object for one tick (fields as in the module docstring)."""
    label = tick.decision.label
    proba = tick.probabilities
    return {
        "t_s": round(tick.t_s, 4),
        "frame": tick.index,
        "state": tick.decision.state,
        "label": None if label is None else classes[label],
        "probabilities": (
            None
            if proba is None
            else {c: round(float(p), 6) for c, p in zip(classes, proba, strict=True)}
        ),
        "latency_ms": round(tick.times.latency_ms, 2),
        "fps": round(tick.fps, 2),
        "dropped": tick.dropped,
        "skipped": tick.skipped,
        "people": [person_record(p, classes) for p in tick.people],
    }


def person_record(person: PersonTick, classes: Sequence[str]) -> dict[str, Any]:
    """One entry of a record's `people` list (fields as in the module docstring)."""
    label, proba = person.decision.label, person.probabilities
    return {
        "id": person.id,
        "box": [round(v, 4) for v in person.box],
        "state": person.decision.state,
        "label": None if label is None else classes[label],
        "probabilities": (
            None
            if proba is None
            else {c: round(float(p), 6) for c, p in zip(classes, proba, strict=True)}
        ),
    }


class JsonlWriter(Closing):
    """Writes one JSON object per line to a file, or to stdout for "-", flushing each line.

    Args:
        target: output path, or "-" for standard output (left open on close). A file is
            written under a temporary name and renamed onto `target` by `close` once a
            line was written; until then the previous file stays as it was, and so it does
            when a write fails or the run fails (`realtime.sinks.finalised`).
    """

    def __init__(self, target: str | Path) -> None:
        self.target = str(target)
        self.lines = 0
        self._failed = False
        if self.target == STDOUT:
            self._file: IO[str] = sys.stdout
            self._owned = False
        else:
            path = Path(target)
            clean_stale_temporaries([path.parent])
            fd, self._tmp = new_temporary(path, "partial")  # never a planted file or link
            os.fchmod(fd, 0o644)  # mkstemp makes it private; the final file should not be
            self._file = open(fd, "w", encoding="utf-8")  # noqa: SIM115 (closed in close)
            self._owned = True

    def write(self, record: dict[str, Any]) -> None:
        try:
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._file.flush()
        except OSError as e:
            self._failed = True
            raise self._named(e) from None
        self.lines += 1

    def _named(self, e: OSError) -> OSError:
        return OSError(
            e.errno,
            f"cannot write the JSONL ({e.strerror or e}); free some space or choose "
            "another --jsonl; the previous file was kept",
            self.target,
        )

    def close(self, keep: bool = True) -> None:
        """Flush and close; a file is renamed onto the target if a line was written, every
        write succeeded and `keep` (the run did not fail); else the previous file stays.

        Raises:
            OSError: the last lines could not be written (a full disk), naming the target.
        """
        if self._owned and not self._file.closed:
            try:
                self._file.close()  # its last flush can fail too
            except OSError as e:
                self._failed = True
                raise self._named(e) from None
            finally:
                if self.lines and keep and not self._failed:
                    os.replace(self._tmp, self.target)
                else:
                    self._tmp.unlink(missing_ok=True)
        elif not self._owned:
            self._file.flush()

    def __exit__(self, *exc: object) -> None:
        self.close(keep=finalised(*exc))


class JsonlSink:
    """Writes each tick as one JSON line (`tick_record`) with the model's class names."""

    wants_image = False  # the loop need not draw the overlay for it

    def __init__(self, writer: JsonlWriter, classes: Sequence[str]) -> None:
        self.writer = writer
        self.classes = tuple(classes)

    def write(self, frame: Frame, tick: Tick) -> None:
        self.writer.write(tick_record(tick, self.classes))
