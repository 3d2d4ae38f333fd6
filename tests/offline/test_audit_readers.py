"""The second hostile audit (issue #19) on the readers of motion capture, joint maps,
label files and sidecars: a wrong value type, a FIFO or folder where a file belongs, JSON
nested too deeply, a byte-order mark, values that overflow float32. Each is one line
naming the file (never a traceback, a hang or a library's warning)."""

from __future__ import annotations

import json
import os
import re
import threading
import warnings
from collections.abc import Callable

import pytest

from offline.datasets.folders import read_sidecar
from offline.datasets.mocap import MocapOptions, list_clips, read_mocap
from offline.mocap.body import BodyMap
from offline.mocap.bvh import BVHNotFinite, frame_count, read_bvh
from offline.render.__main__ import main as render_main
from pipeline.io import NotAFileError, read_json
from tests.offline.render.conftest import tiny_dataset, write_tiny_bvh

DEEP = "[" * 100_000 + "]" * 100_000


def finishes(call: Callable[[], object], seconds: float = 20.0) -> object:
    """`call()`'s result or exception; fails (instead of hanging the suite) if it blocks."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = call()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            box["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the reader blocked (opened a FIFO?)"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("result")


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ('{"head_up": {}}', "head_up"),
        ('{"hips": {}}', "hips"),
        ('{"hips": 3}', "hips"),
        ('{"l_toes": [1]}', "l_toes"),
        ('{"head_forward": [0, 1]}', "head_forward"),
        ('{"head_forward": [0, "1", 0]}', "head_forward"),
        ('{"head_up": [true, 0, 0]}', "head_up"),
        ('{"head_up": "x"}', "head_up"),
        ('{"head_up": [NaN, 0, 0]}', "head_up"),
        ('{"neck": null}', "neck"),
    ],
)
def test_joint_map_values_of_the_wrong_type_name_the_file_and_key(tmp_path, value, key) -> None:
    """Item 12: a value of the wrong type was a TypeError from inside the dataclass."""
    path = tmp_path / "map.json"
    path.write_text(value)
    with pytest.raises(ValueError, match=rf"^joint map {re.escape(str(path))}: `{key}` must be"):
        BodyMap.from_json(path)


def test_joint_map_of_the_wrong_type_through_the_renderer(tmp_path, capsys) -> None:
    bvh = write_tiny_bvh(tmp_path / "tiny.bvh")
    path = tmp_path / "map.json"
    path.write_text('{"head_up": {}}')
    assert render_main([str(bvh), str(tmp_path / "o.mp4"), "--joint-map", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.match(r"^error: joint map .*map\.json: `head_up` must be", err[0])


def test_a_good_joint_map_still_reads(tmp_path) -> None:
    path = tmp_path / "map.json"
    path.write_text('{"hips": "pelvis", "l_toes": null, "head_up": [0, 1, 0], '
                    '"head_forward": [0, 0, 1]}')  # fmt: skip
    body = BodyMap.from_json(path)
    assert (body.hips, body.l_toes, body.head_up) == ("pelvis", None, (0.0, 1.0, 0.0))


def test_deeply_nested_json_is_one_line_naming_the_file(tmp_path) -> None:
    """Item 16: the joint map, a label file and a sidecar; the shared reader too."""
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP)
    with pytest.raises(ValueError, match=r"^joint map .*deep\.json is nested too deeply"):
        BodyMap.from_json(deep)
    with pytest.raises(ValueError, match=r"^card .*deep\.json is nested too deeply"):
        read_json(deep, "card")
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    video.with_suffix(".json").write_text(DEEP)
    with pytest.raises(ValueError, match=r"^sidecar .*clip\.json is nested too deeply"):
        read_sidecar(video)
    root = tiny_dataset(tmp_path / "set")
    label = root / "data" / "d_walk_happy_001.json"
    label.write_text(DEEP)
    with pytest.raises(ValueError, match=r"label file .*d_walk_happy_001\.json.*nested too deep"):
        list_clips(root)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_like_a_clip_is_named_and_never_opened(tmp_path, capsys) -> None:
    """Item 15: `render --dataset` hung forever on data/x.bvh being a FIFO."""
    root = tiny_dataset(tmp_path / "set")
    fifo = root / "data" / "x.bvh"
    os.mkfifo(fifo)
    (root / "data" / "x.json").write_text('{"content": 0, "style": 1}')
    with pytest.raises(NotAFileError, match=r"BVH clip .*x\.bvh is a FIFO \(named pipe\)"):
        finishes(lambda: list_clips(root))
    out = tmp_path / "out"
    code = finishes(lambda: render_main(["--dataset", str(root), "--out", str(out),
                                         "--no-progress"]))  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and re.match(r"^error: BVH clip .*x\.bvh is a FIFO", err[0])
    for reader in (read_bvh, frame_count):
        with pytest.raises(NotAFileError, match="is a FIFO"):
            finishes(lambda reader=reader: reader(fifo))  # type: ignore[misc]
    with pytest.raises(NotAFileError, match="joint map .* is a FIFO"):
        finishes(lambda: BodyMap.from_json(fifo))


def test_a_folder_named_like_a_clip_is_named_as_a_folder(tmp_path) -> None:
    """Item 17: a directory was "BVH file not found"."""
    folder = tmp_path / "x.bvh"
    folder.mkdir()
    with pytest.raises(NotAFileError, match=r"BVH file .*x\.bvh is a directory, not a file"):
        read_bvh(folder)
    root = tiny_dataset(tmp_path / "set")
    (root / "data" / "y.bvh").mkdir()
    with pytest.raises(NotAFileError, match=r"y\.bvh is a directory"):
        list_clips(root)


def test_a_byte_order_mark_is_accepted(tmp_path) -> None:
    """Item 20: a BVH saved with a UTF-8 BOM "does not start with HIERARCHY"."""
    plain = write_tiny_bvh(tmp_path / "plain.bvh")
    marked = tmp_path / "marked.bvh"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    a, b = read_bvh(plain), read_bvh(marked)
    assert a.names == b.names and (a.positions == b.positions).all()
    assert frame_count(marked) == frame_count(plain)


def test_values_that_overflow_float32_are_no_data_and_warn_nothing(tmp_path) -> None:
    """Item 21: a clip with 1e39 cm was read as data (float32 inf later), with numpy's
    overflow warnings printed."""
    root = tiny_dataset(tmp_path / "set")
    clip = root / "data" / "d_walk_happy_001.bvh"
    lines = clip.read_text().splitlines()
    last = lines[-1].split()
    last[0] = "1e39"  # the root's x position, centimetres
    lines[-1] = " ".join(last)
    clip.write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any numpy warning fails the test
        with pytest.raises(BVHNotFinite, match="too large values"):
            read_bvh(clip)
        skipped: dict[str, str] = {}
        movements = read_mocap(root, MocapOptions(styles=None), skipped=skipped)
    assert list(skipped) == ["d_walk_happy_001.bvh"]
    assert movements and all(m.groups["clip"] != "d_walk_happy_001" for m in movements)


def test_deep_json_reader_names_a_missing_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"^label file not found: "):
        read_json(tmp_path / "none.json", "label file")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match=r"^label file .*bad\.json is not valid JSON"):
        read_json(tmp_path / "bad.json", "label file")
    (tmp_path / "ok.json").write_bytes(b"\xef\xbb\xbf" + json.dumps({"a": 1}).encode())
    assert read_json(tmp_path / "ok.json") == {"a": 1}
