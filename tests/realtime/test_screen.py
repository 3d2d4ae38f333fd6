"""Display detection: headless is chosen when no window could be shown."""

from __future__ import annotations

from realtime.screen import display_problem


def test_display_detection(monkeypatch, tmp_path):
    import socket

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert display_problem() == "DISPLAY is not set"
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert display_problem() is None
    monkeypatch.delenv("WAYLAND_DISPLAY")
    monkeypatch.setenv("DISPLAY", ":987")  # nothing listens there
    assert display_problem() == "display :987 does not answer"
    with socket.socket() as server:  # a TCP "X server" on localhost:6000+N
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        if port > 6000:
            monkeypatch.setenv("DISPLAY", f"127.0.0.1:{port - 6000}.0")
            assert display_problem() is None
