"""Display detection: headless is chosen when no window could be shown."""

from __future__ import annotations

from realtime.screen import display_problem


def test_display_detection(monkeypatch, tmp_path):
    import socket

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert display_problem() == "DISPLAY is not set"
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")  # this OpenCV's Qt has only xcb
    assert display_problem() == (
        "WAYLAND_DISPLAY is set but DISPLAY is not, and OpenCV's windows need X11"
    )
    monkeypatch.delenv("WAYLAND_DISPLAY")
    for bad in ("foo", ":abc", "host:", ":0.x"):
        monkeypatch.setenv("DISPLAY", bad)
        assert display_problem() == f"DISPLAY={bad!r} is not an X display name like :0 or host:0.0"
    monkeypatch.setenv("DISPLAY", ":987")  # nothing listens there
    assert display_problem() == "display :987 does not answer"
    with socket.socket() as server:  # a TCP "X server" on localhost:6000+N
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        if port > 6000:
            monkeypatch.setenv("DISPLAY", f"127.0.0.1:{port - 6000}.0")
            assert display_problem(probe=False) is None


def test_a_window_that_aborts_is_tried_in_a_child_process(monkeypatch):
    """Qt aborting (exit 134, nothing on stderr) happens in the probe, not in the app."""
    from realtime import screen

    monkeypatch.setattr(
        screen, "_PROBE", "import os, sys; sys.stderr.write('qt: no xcb\\n'); os.abort()"
    )
    assert screen._window_problem(":5") == "a window on display :5 cannot be opened (qt: no xcb)"
    monkeypatch.setattr(screen, "_PROBE", "pass")
    assert screen._window_problem(":5") is None
