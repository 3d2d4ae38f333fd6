"""RealtimeConfig: the parser's defaults are the config's, the demo loops, it is frozen."""

from __future__ import annotations

import pytest

from realtime.cli import build_parser
from realtime.config import RealtimeConfig


def test_demo_implies_loop():
    args = build_parser().parse_args(["--demo"])
    assert RealtimeConfig.from_args(args).loop


def test_parsed_defaults_are_the_config_defaults():
    args = build_parser().parse_args(["--camera", "0"])
    assert RealtimeConfig.from_args(args) == RealtimeConfig(camera=0)
    args = build_parser().parse_args(["--camera", "0", "--duration", "3", "--margin", "0.2"])
    assert RealtimeConfig.from_args(args) == RealtimeConfig(camera=0, duration_s=3.0, margin=0.2)


def test_config_is_frozen():
    config = RealtimeConfig(camera=0)
    with pytest.raises(AttributeError):
        config.camera = 1  # type: ignore[misc]


@pytest.mark.parametrize("option", ["record", "jsonl"])
def test_demo_outputs_never_overwrite_the_cached_demo_clip(tmp_path, monkeypatch, option):
    """#19 item 9: `--demo --record <the cached clip>` overwrote the clip."""
    from realtime import demo

    monkeypatch.setenv("POSEMOTION_CACHE", str(tmp_path / "cache"))
    clip = demo.clip_path()
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"the demo footage")
    with pytest.raises(
        ValueError,
        match=rf"--{option} .*cam02.mp4 is the same file as the input the cached demo clip",
    ):
        RealtimeConfig(demo=True, **{option: clip})
    RealtimeConfig(demo=True, **{option: tmp_path / "out.mp4"})
