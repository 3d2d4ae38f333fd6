"""JSON Lines output: one object per tick, flushed line by line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from realtime.capture import SourceFailed
from realtime.sinks.jsonl import JsonlWriter, tick_record
from realtime.tick import CLASSIFIED, NO_PERSON, Decision, StageTimes, Tick
from tests.full_disk import run_with_file_size_limit

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


def test_a_symlink_planted_at_the_temporary_name_is_not_followed(tmp_path, monkeypatch):
    """#19 item 3: the temporary was `.NAME.PID.partial`, opened through any link planted
    there (onto any file the user can write); now it is a new file (O_EXCL, random name)."""
    import os
    import tempfile

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: iter(["plantedx", "fresh123"]))
    for name in (
        f".out.jsonl.{os.getpid()}.partial",  # the old predictable name
        f".out.jsonl.~posemotion-{os.getpid()}.plantedx.partial",  # the first new one tried
    ):
        (tmp_path / name).symlink_to(victim)
    with JsonlWriter(tmp_path / "out.jsonl") as writer:
        writer.write({"a": 1})
    assert victim.read_text() == "precious"
    out = tmp_path / "out.jsonl"
    assert not out.is_symlink() and out.read_text() == '{"a":1}\n'
    assert out.stat().st_mode & 0o777 == 0o644


def test_stdout(capsys):
    with JsonlWriter("-") as writer:
        writer.write({"frame": 1})
    assert capsys.readouterr().out == '{"frame":1}\n'


def test_unwritable_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        JsonlWriter(tmp_path / "missing" / "out.jsonl")


def test_a_full_disk_keeps_the_previous_jsonl_and_names_it(tmp_path):
    """#19 item 7: a full disk (here a file size limit: the same failed write) named no
    file and replaced the previous JSONL with the part written."""
    path = tmp_path / "labels.jsonl"
    path.write_text('{"previous": "run"}\n')
    result = run_with_file_size_limit(
        f"""
        from realtime.sinks.jsonl import JsonlWriter
        try:
            with JsonlWriter({str(path)!r}) as writer:
                for i in range(100_000):
                    writer.write({{"frame": i, "pad": "x" * 100}})
        except OSError as e:
            print(e.filename, "|", e.strerror)
        """,
        limit_bytes=50_000,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path} | cannot write the JSONL (File too large)")
    assert "the previous file was kept" in result.stdout
    assert path.read_text() == '{"previous": "run"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.jsonl"]


def test_a_failed_close_keeps_the_previous_jsonl_and_names_it(tmp_path, monkeypatch):
    path = tmp_path / "labels.jsonl"
    path.write_text("previous\n")
    writer = JsonlWriter(path)
    writer.write({"a": 1})
    real = writer._file

    class LastFlushFails:
        closed = False

        def close(self):
            real.close()
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_file", LastFlushFails())
    with pytest.raises(OSError) as e:
        writer.close()
    assert e.value.filename == str(path) and "No space left" in e.value.strerror
    assert path.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.jsonl"]


@pytest.mark.parametrize(
    ("error", "kept"),
    [
        (SourceFailed("camera unplugged"), True),
        (KeyboardInterrupt(), True),
        (ValueError("expected 10 features, got 96"), False),  # #19 item 8
    ],
)
def test_a_failed_run_replaces_no_jsonl(tmp_path, error, kept):
    path = tmp_path / "labels.jsonl"
    path.write_text("previous\n")
    with pytest.raises(type(error)), JsonlWriter(path) as writer:
        writer.write({"a": 1})
        raise error
    assert path.read_text() == ('{"a":1}\n' if kept else "previous\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.jsonl"]
