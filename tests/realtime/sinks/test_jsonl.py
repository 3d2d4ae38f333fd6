"""JSON Lines output: one object per tick, flushed line by line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from realtime.sinks.jsonl import JsonlWriter, tick_record
from realtime.tick import CLASSIFIED, NO_PERSON, Decision, StageTimes, Tick

CLASSES = ("calm", "lively")


def make_tick(state=CLASSIFIED) -> Tick:
    classified = state == CLASSIFIED
    return Tick(
        index=42,
        t_s=1.400001,
        person=None,
        decision=Decision(state, 1 if classified else None),
        probabilities=np.array([0.25, 0.75]) if classified else None,
        progress=1.0,
        times=StageTimes(latency_ms=31.234),
        fps=29.87,
        dropped=3,
        skipped=1,
    )


def test_record_fields():
    assert tick_record(make_tick(), CLASSES) == {
        "t_s": 1.4,
        "frame": 42,
        "state": "classified",
        "label": "lively",
        "probabilities": {"calm": 0.25, "lively": 0.75},
        "latency_ms": 31.23,
        "fps": 29.87,
        "dropped": 3,
        "skipped": 1,
        "people": [],
    }


def test_record_without_a_classification():
    record = tick_record(make_tick(NO_PERSON), CLASSES)
    assert (record["state"], record["label"], record["probabilities"]) == ("no person", None, None)


def test_each_line_is_flushed_before_close(tmp_path):
    path = tmp_path / "out.jsonl"
    writer = JsonlWriter(path)
    writer.write(tick_record(make_tick(), CLASSES))
    writer.write({"a": 1})
    (partial,) = tmp_path.glob(".out.jsonl.*.partial")  # still open: its temporary name
    lines = partial.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["label"] == "lively"
    writer.close()
    assert writer.lines == 2 and path.read_text().splitlines() == lines


def test_stdout(capsys):
    with JsonlWriter("-") as writer:
        writer.write({"frame": 1})
    assert capsys.readouterr().out == '{"frame":1}\n'


def test_unwritable_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        JsonlWriter(tmp_path / "missing" / "out.jsonl")
