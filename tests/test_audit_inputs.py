"""The second hostile audit (issue #19): inputs of `train.py` and the renderer that used
to overwrite an input, crash with a library's words, or hang; each is one line
"error: ...", exit 2, no traceback, nothing already written changed."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import train


def run(capsys, *argv: object) -> tuple[int, str]:
    try:
        code = train.main([str(a) for a in argv])
    except SystemExit as e:
        code = int(e.code or 0)
    return code, capsys.readouterr().err


def one_line(code: int, err: str, pattern: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert re.search(pattern, lines[0]), lines[0]


def digest(folder: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def test_outputs_inside_any_input_are_refused(capsys, tmp_path, monkeypatch) -> None:
    """Item 5: --aux-data, --test-data and --joint-map are inputs too (train and compare)."""
    from offline.training import experiment

    def never(*args, **kwargs):
        raise AssertionError("work started before the outputs were checked")

    monkeypatch.setattr(experiment, "train", never)
    monkeypatch.setattr(experiment, "compare", never)
    folders = {}
    for name in ("data", "aux", "test"):
        folders[name] = tmp_path / name
        (folders[name] / "data").mkdir(parents=True)
        (folders[name] / "data" / "clip.bvh").write_text("HIERARCHY\n")
    joint_map = tmp_path / "map.json"
    joint_map.write_text('{"hips": "Hips"}')
    before = digest(tmp_path)
    t = ["train", "--data", folders["data"], "--no-render", "--quick", "--aux-data",
         folders["aux"], "--test-data", folders["test"], "--joint-map", joint_map]  # fmt: skip
    one_line(*run(capsys, *t, "--out", folders["aux"] / "data" / "clip.bvh"),
             "--out .* inside the input --aux-data")  # fmt: skip
    one_line(*run(capsys, *t, "--out", folders["aux"] / "new.skops"), "inside the input --aux")
    one_line(*run(capsys, *t, "--out", folders["test"] / "data" / "m.skops"),
             "inside the input --test-data")  # fmt: skip
    one_line(*run(capsys, *t, "--out", joint_map), "same file as the input --joint-map")
    one_line(*run(capsys, *t, "--out", tmp_path / "m.skops", "--report-dir", folders["test"]),
             "--report-dir .* the input --test-data")  # fmt: skip
    c = ["compare", "--data", folders["data"], "--aux-data", folders["aux"], "--test-data",
         folders["test"], "--joint-map", joint_map]  # fmt: skip
    one_line(*run(capsys, *c, "--out-md", folders["aux"] / "data" / "clip.bvh"),
             "--out-md .* the input --aux-data")  # fmt: skip
    one_line(*run(capsys, *c, "--out-md", folders["test"] / "t.md"), "inside the input --test")
    one_line(*run(capsys, *c, "--out-md", joint_map), "same file as the input --joint-map")
    assert digest(tmp_path) == before
