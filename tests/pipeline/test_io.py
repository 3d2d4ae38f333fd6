"""Tests for pipeline/io.py: atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipeline.io import atomic_path, write_bytes_atomic, write_text_atomic


def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_write_text_creates_parents_and_content(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "card.json"
    write_text_atomic(target, "héllo\n")
    assert target.read_bytes() == "héllo\n".encode()
    assert _leftovers(target.parent, {"card.json"}) == []


def test_write_bytes_replaces_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "model.joblib"
    target.write_bytes(b"old")
    write_bytes_atomic(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert _leftovers(tmp_path, {"model.joblib"}) == []


def test_failed_block_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "model.joblib"
    target.write_bytes(b"old good model")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as tmp:
            assert tmp.parent == target.parent and tmp != target
            tmp.write_bytes(b"half a mod")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old good model"
    assert _leftovers(tmp_path, {"model.joblib"}) == []  # the temporary file is gone


def test_failed_block_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new.bin"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_file_is_complete_only_after_the_block(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("done")
        assert not target.exists()  # nothing under the final name while writing
    assert target.read_text() == "done"


def test_permissions_are_not_private(tmp_path: Path) -> None:
    target = tmp_path / "shared.json"
    old_umask = os.umask(0o022)
    try:
        write_text_atomic(target, "{}")
    finally:
        os.umask(old_umask)
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode & 0o044 == 0o044, oct(mode)  # group and others may read (mkstemp gives 0600)
    assert mode & 0o200  # the owner may write


def test_keep_suffix_ends_the_temporary_name_like_the_target(tmp_path) -> None:
    """Writers that pick a format by extension (OpenCV) see `.mp4` on the temporary file."""
    target = tmp_path / "clip.mp4"
    with atomic_path(target, keep_suffix=True) as tmp:
        assert tmp.name.endswith(".tmp.mp4") and tmp.parent == tmp_path
        tmp.write_bytes(b"video")
    assert target.read_bytes() == b"video" and not tmp.exists()
    with atomic_path(target) as tmp:
        assert tmp.name.endswith(".tmp")
        tmp.write_bytes(b"x")


# --- issue #11: outputs compared with inputs and each other; output locations; leftovers


def test_check_outputs_refuses_an_output_equal_to_an_input_even_through_a_symlink(tmp_path):
    from pipeline.io import OutputError, check_outputs

    video = tmp_path / "clip.mp4"
    video.write_bytes(b"source")
    link = tmp_path / "link.mp4"
    link.symlink_to(video)
    with pytest.raises(OutputError, match=r"--record .* same file as the input --video"):
        check_outputs({"--video": video}, {"--record": link})
    hard = tmp_path / "hard.mp4"
    os.link(video, hard)
    with pytest.raises(OutputError, match="--jsonl"):
        check_outputs({"--video": video}, {"--jsonl": hard})
    with pytest.raises(OutputError, match="--jsonl .* and --record .* are the same file"):
        check_outputs({}, {"--record": tmp_path / "a.mp4", "--jsonl": tmp_path / "x/../a.mp4"})
    check_outputs({"--video": video}, {"--record": tmp_path / "b.mp4", "--jsonl": "-"})
    assert video.read_bytes() == b"source"


def test_check_outputs_refuses_an_output_inside_an_input_folder(tmp_path):
    """#19 item 5: `train.py train --data D --out D/data/clip.bvh` overwrote the clip."""
    from pipeline.io import OutputError, check_outputs

    data = tmp_path / "D"
    (data / "data").mkdir(parents=True)
    (data / "data" / "clip.bvh").write_text("HIERARCHY")
    link = tmp_path / "also-D"
    link.symlink_to(data)
    for out in (data / "data" / "clip.bvh", data / "model.skops", link / "new" / "x.skops"):
        with pytest.raises(
            OutputError, match=r"--out .* is inside the input --data .*D: .*outside"
        ):
            check_outputs({"--data": data}, {"--out": out})
    with pytest.raises(OutputError, match="is inside the input --data"):
        check_outputs({"--data": data}, {"--report-dir": data / "reports"})
    check_outputs({"--data": data}, {"--out": tmp_path / "D-model.skops"})  # beside: fine
    check_outputs({"--video": data / "data" / "clip.bvh"}, {"--out": data / "data" / "o.mp4"})


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda d: d, "is a directory"),
        (lambda d: Path("/dev/null"), "not a regular file"),
        (lambda d: (d / "file").write_text("x") and d / "file" / "out.jsonl", "is a file, not a"),
        (lambda d: (d / "f2").write_text("x") and d / "f2" / "deeper" / "o", "is a file, not a"),
    ],
)
def test_check_output_location_refuses_what_cannot_be_a_regular_file(tmp_path, make, pattern):
    from pipeline.io import OutputError, check_output_location

    with pytest.raises(OutputError, match=pattern):
        check_output_location("--out", make(tmp_path))
    check_output_location("--out", tmp_path / "new" / "folder" / "model.skops")  # creatable
    assert not (tmp_path / "new").exists()  # checking creates nothing


def test_check_output_location_reports_a_read_only_folder(tmp_path, monkeypatch):
    import tempfile as tf

    from pipeline.io import OutputError, check_output_location

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tf, "mkstemp", refuse)
    with pytest.raises(OutputError, match="read-only .* choose a writable folder"):
        check_output_location("--jsonl", tmp_path / "out.jsonl")


def test_stale_temporaries_of_our_naming_are_cleaned(tmp_path):
    import subprocess
    import sys
    import time

    from pipeline.io import clean_stale_temporaries

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = int(gone.stdout)
    mine = os.getpid()
    names = {
        f".emotion.skops.~posemotion-{dead}.abc12_4x.tmp": True,  # writer gone
        f".demo.mp4.~posemotion-{dead}.k2j3abcd.partial.mp4": True,
        f".out.jsonl.~posemotion-{mine}.k2j3abcd.tmp": False,  # a live writer (this process)
        f".old.json.~posemotion-{mine}.zzzzzzzz.tmp": True,  # untouched for over an hour
        "notes.tmp": False,  # not our naming
        f"clip.~posemotion-{dead}.k2j3abcd.partial.mp4": False,  # not hidden: not ours
        # #19 item 6: a user's own files that only look like temporaries of ours
        f".thesis.{dead}.final.tmp": False,
        f".backup.{dead}.partial": False,
        f".emotion.skops.{dead}.abc123.tmp": False,
        f".demo.{dead}.partial.mp4": False,
    }
    for name in names:
        (tmp_path / name).write_text("x")
    hour_ago = time.time() - 7200
    for name in names:  # all old: only the marker (and the writer) decide
        if "~posemotion" not in name or name.startswith(".old"):
            os.utime(tmp_path / name, (hour_ago, hour_ago))
    removed = {p.name for p in clean_stale_temporaries([tmp_path])}
    assert removed == {n for n, stale in names.items() if stale}
    assert clean_stale_temporaries([tmp_path / "missing"]) == []


def test_atomic_temporaries_carry_the_marker_and_the_writer_pid(tmp_path):
    with atomic_path(tmp_path / "m.skops") as tmp:
        assert tmp.name.startswith(f".m.skops.~posemotion-{os.getpid()}.")
        tmp.write_bytes(b"x")


def test_only_our_own_regular_files_are_cleaned(tmp_path):
    """#19 item 6: a symlink, a folder or someone else's file under our naming stays."""
    from pipeline.io import clean_stale_temporaries

    dead = 2**22 + 3
    precious = tmp_path / "precious.txt"
    precious.write_text("keep")
    link = tmp_path / f".a.~posemotion-{dead}.abcdefgh.tmp"
    link.symlink_to(precious)
    folder = tmp_path / f".b.~posemotion-{dead}.abcdefgh.tmp"
    folder.mkdir()
    others = tmp_path / f".c.~posemotion-{dead}.abcdefgh.tmp"
    others.write_text("another user's")
    if os.getuid() == 0:  # root can give it away (elsewhere: another user's file is theirs)
        os.chown(others, 12345, 12345)
    else:
        others.unlink()
    assert clean_stale_temporaries([tmp_path]) == []
    assert link.is_symlink() and folder.is_dir() and precious.read_text() == "keep"
    assert others.exists() or os.getuid() != 0


def test_a_symlink_planted_at_a_temporary_name_is_never_followed(tmp_path, monkeypatch):
    """#19 item 3: a link at the name a writer will use (an attacker can guess the pid)
    never redirects the output; the temporary is always a new file (O_EXCL)."""
    import tempfile

    from pipeline.io import new_temporary

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "out.jsonl"
    # the attacker knows the random sequence: the first name mkstemp will try is planted
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: iter(["plantedx", "fresh123"]))
    planted = tmp_path / f".out.jsonl.~posemotion-{os.getpid()}.plantedx.partial"
    planted.symlink_to(victim)
    fd, tmp = new_temporary(target, "partial")
    with open(fd, "w") as f:
        f.write("output")
    assert tmp.name.endswith(".fresh123.partial") and not tmp.is_symlink()
    assert victim.read_text() == "precious"


def test_long_output_names_fit_their_temporary_and_too_long_ones_are_refused_early(tmp_path):
    """#19 item 24: names of 244-250 bytes failed only after the work (temporary too long)."""
    from pipeline.io import OutputError, check_output_location, temporaries_of

    for length in (244, 250, 255):
        target = tmp_path / ("x" * (length - 4) + ".mp4")
        check_output_location("--out", target)
        with atomic_path(target, keep_suffix=True) as tmp:
            assert len(tmp.name.encode()) <= 255 and tmp.name.endswith(".tmp.mp4")
            tmp.write_bytes(b"video")
            assert temporaries_of(target) == [tmp]
        assert target.read_bytes() == b"video"
    with pytest.raises(OutputError, match="256 bytes, longer than the 255"):
        check_output_location("--out", tmp_path / ("y" * 252 + ".mp4"))
