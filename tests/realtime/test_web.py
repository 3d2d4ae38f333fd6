"""`--serve`: address and token rules, the hub the loop feeds, and the server itself.

The server tests run a real aiohttp server on 127.0.0.1 (or 127.0.0.2 for the token rule)
on a free port and talk to it with plain sockets; nothing leaves this machine.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from realtime.capture import Frame
from realtime.config import RealtimeConfig
from realtime.tick import CLASSIFIED, Decision, Tick
from realtime.web import LiveHub, WebServer, WebSink
from realtime.web_address import ServeAddress, serve_token

pytest.importorskip("aiohttp")

CLASSES = ("calm", "lively")


def tick(index: int = 0) -> Tick:
    return Tick(index, index / 30, None, Decision(CLASSIFIED, 1), np.array([0.2, 0.8]), 1.0)


def frame(index: int = 0, level: int = 100) -> Frame:
    return Frame(np.full((48, 64, 3), level, np.uint8), index, index / 30, 0.0)


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("8000", "127.0.0.1", 8000),
        ("0.0.0.0:9000", "0.0.0.0", 9000),
        ("localhost:0", "localhost", 0),
        ("[::1]:8080", "::1", 8080),
    ],
)
def test_serve_address_parses_host_and_port(text: str, host: str, port: int) -> None:
    assert ServeAddress.parse(text) == ServeAddress(host, port)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3.4:", "1.2.3.4:70000", "example.com:80"])
def test_bad_serve_address_is_one_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="--serve"):
        ServeAddress.parse(text)


def test_only_the_usual_loopback_names_go_without_a_token() -> None:
    assert serve_token(ServeAddress("127.0.0.1", 0), None) is None
    assert serve_token(ServeAddress("localhost", 0), None) is None
    for host in ("127.0.0.2", "0.0.0.0", "192.168.1.5"):
        generated = serve_token(ServeAddress(host, 0), None)
        assert generated is not None and len(generated) >= 20
    assert serve_token(ServeAddress("0.0.0.0", 0), "my-secret-1") == "my-secret-1"
    with pytest.raises(ValueError, match="at least 8"):
        serve_token(ServeAddress("0.0.0.0", 0), "short")


def test_config_checks_the_serve_options() -> None:
    RealtimeConfig(demo=True, serve="127.0.0.1:0")
    with pytest.raises(ValueError, match="--serve-token needs --serve"):
        RealtimeConfig(demo=True, serve_token="abcdefgh")
    with pytest.raises(ValueError, match="--serve must be"):
        RealtimeConfig(demo=True, serve="nope")


def test_sink_publishes_nothing_while_no_browser_is_attached() -> None:
    hub = LiveHub()
    sink = WebSink(hub, CLASSES)
    sink.write(frame(), tick())
    assert not sink.wants_image and hub.frame() == (0, None)
    assert hub.records_after(0) == (0, [])
    hub.viewers = 1
    image = frame(1).image
    sink.write(Frame(image, 1, 1 / 30, 0.0), tick(1))
    seq, shown = hub.frame()
    assert sink.wants_image and seq == 1 and shown is image  # a reference, not a copy
    assert hub.records_after(0) == (0, [])  # nobody listens to /events
    hub.listeners = 1
    sink.write(frame(2), tick(2))
    newest, records = hub.records_after(0)
    assert newest == 1 and json.loads(records[0])["label"] == "lively"


def test_hub_keeps_only_the_newest_records_for_a_slow_reader() -> None:
    hub = LiveHub()
    for i in range(1000):
        hub.publish(None, str(i))
    newest, records = hub.records_after(0)
    assert newest == 1000 and records[0] == str(1000 - len(records)) and records[-1] == "999"


def test_hub_wakes_the_server_once_per_delivery() -> None:
    hub, calls = LiveHub(), []
    hub.attach(lambda: calls.append(1))
    for i in range(5):
        hub.publish(None, str(i))
    assert calls == [1]
    hub.woken()
    hub.publish(None, "x")
    assert calls == [1, 1]


@pytest.fixture
def server() -> Iterator[WebServer]:
    hub = LiveHub()
    with WebServer(ServeAddress("127.0.0.1", 0), hub, CLASSES) as s:
        yield s


def get(
    host: str, port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_page_lists_no_files_and_nothing_else_is_served(server: WebServer) -> None:
    status, body = get("127.0.0.1", server.port, "/")
    assert status == 200 and b"stream.mjpg" in body and b'["calm", "lively"]' in body
    for path in ("/models/emotion.skops", "/static/", "/../README.md", "/realtime/web.py"):
        assert get("127.0.0.1", server.port, path)[0] == 404


def test_loopback_without_token_refuses_a_foreign_host_name(server: WebServer) -> None:
    assert get("127.0.0.1", server.port, "/", {"Host": "localhost"})[0] == 200
    assert get("127.0.0.1", server.port, "/", {"Host": "attacker.example:80"})[0] == 403


def publish_until(hub: LiveHub, stop: threading.Event, size: int = 64) -> None:
    i = 0
    while not stop.is_set():
        i += 1
        hub.publish(np.full((size, size, 3), i % 250, np.uint8), json.dumps({"frame": i}))
        time.sleep(0.005)


def read_parts(sock: socket.socket, n: int) -> int:
    """Read `n` JPEG parts of an MJPEG response from `sock`; returns how many were read."""
    data, parts = b"", 0
    while parts < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        parts = data.count(b"\xff\xd9")  # JPEG end markers
    return parts


def open_stream(port: int, path: str = "/stream.mjpg", host: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection((host, port), timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    return sock


def test_several_viewers_and_one_leaving_mid_stream(server: WebServer) -> None:
    hub = server.hub
    stop = threading.Event()
    feeder = threading.Thread(target=publish_until, args=(hub, stop), daemon=True)
    feeder.start()
    try:
        a, b = open_stream(server.port), open_stream(server.port)
        stalled = open_stream(server.port)  # connects, then never reads
        assert read_parts(a, 3) == 3 and read_parts(b, 3) == 3
        b.close()  # leaves mid-stream
        assert read_parts(a, 10) == 10  # the other one goes on
        # the events endpoint streams the same records meanwhile
        ev = open_stream(server.port, "/events")
        got = b""
        while got.count(b"data: ") < 3:
            got += ev.recv(65536)
        assert b"text/event-stream" in got and b'data: {"frame":' in got
        ev.close()
        a.close()
        stalled.close()
        deadline = time.monotonic() + 10
        while hub.viewers or hub.listeners:
            assert time.monotonic() < deadline, (hub.viewers, hub.listeners)
            time.sleep(0.05)
    finally:
        stop.set()
        feeder.join()


def test_a_stalled_viewer_does_not_hold_up_publishing_or_stopping() -> None:
    hub = LiveHub()
    server = WebServer(ServeAddress("127.0.0.1", 0), hub, CLASSES).start()
    stalled = open_stream(server.port)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    big = np.random.default_rng(0).integers(0, 255, (480, 640, 3), np.uint8)  # ~300 kB JPEGs
    for i in range(300):  # far more than the socket buffers hold
        hub.publish(big if i % 2 else big[::-1].copy(), None)
    assert hub.frame()[0] == 300
    server.stop()  # returns although the viewer never read
    stalled.close()
    assert not server._thread or not server._thread.is_alive()


def test_token_rule_off_the_default_address() -> None:
    """Bound to 127.0.0.2 (not the default address): every request needs the token."""
    token = "s3cret-token"
    try:
        server = WebServer(ServeAddress("127.0.0.2", 0), LiveHub(), CLASSES, token).start()
    except OSError as e:  # a system without the rest of 127.0.0.0/8 on lo
        pytest.skip(f"cannot bind 127.0.0.2: {e}")
    try:
        port = server.port
        assert "?token=s3cret-token" in server.url
        for path in ("/", "/stream.mjpg", "/events", "/nothing"):
            assert get("127.0.0.2", port, path)[0] == 403
            assert get("127.0.0.2", port, path + "?token=wrong-token")[0] == 403
        assert get("127.0.0.2", port, "/?token=" + token)[0] == 200
        assert get("127.0.0.2", port, "/", {"Authorization": f"Bearer {token}"})[0] == 200
        status, body = get("127.0.0.2", port, "/?token=" + token)
        assert b'"?token=s3cret-token"' in body  # the page's stream and events carry it
    finally:
        server.stop()
    with pytest.raises(ValueError, match="needs a token"):
        WebServer(ServeAddress("127.0.0.2", 0), LiveHub(), CLASSES)


def test_busy_port_is_an_error_before_anything_runs(server: WebServer) -> None:
    with pytest.raises(OSError, match="cannot serve on 127.0.0.1"):
        WebServer(ServeAddress("127.0.0.1", server.port), LiveHub(), CLASSES).start()
