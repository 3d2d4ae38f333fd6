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
from html.parser import HTMLParser

import numpy as np
import pytest

from realtime.capture import Frame
from realtime.config import RealtimeConfig
from realtime.tick import CLASSIFIED, Decision, Tick
from realtime.web import LiveHub, WebServer, WebSink
from realtime.web_address import ServeAddress, host_header_is_loopback, serve_token
from realtime.web_page import render_page

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
    assert status == 200 and b"stream.mjpg" in body
    assert b'data-classes="[&quot;calm&quot;, &quot;lively&quot;]"' in body
    for path in ("/models/emotion.skops", "/static/", "/../README.md", "/realtime/web.py"):
        assert get("127.0.0.1", server.port, path)[0] == 404


def test_loopback_without_token_refuses_a_foreign_host_name(server: WebServer) -> None:
    assert get("127.0.0.1", server.port, "/", {"Host": "localhost"})[0] == 200
    assert get("127.0.0.1", server.port, "/", {"Host": "attacker.example:80"})[0] == 403


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("localhost:80@evil.example", 403),  # #19 item 4: passed the loopback check
        ("127.0.0.1:80@evil.example", 403),
        ("localhost@evil.example", 403),
        ("localhost:80:81", 403),
        ("localhost/evil.example", 403),
        ("evil.example#localhost", 403),
        ("[::1]@evil.example", 403),
        ("", 403),
        ("localhost:8000", 200),
        ("127.0.0.1", 200),
        ("127.5.6.7:1", 200),
        ("[::1]:8000", 200),
        ("LOCALHOST.", 200),
    ],
)
def test_the_host_header_is_parsed_not_split(server: WebServer, host: str, status: int) -> None:
    assert host_header_is_loopback(host) is (status == 200)
    assert get("127.0.0.1", server.port, "/", {"Host": host})[0] == status


# --- #19 item 2: the model's class names cannot become a script; a CSP on every response

HOSTILE_CLASSES = (
    "</script><script>document.title='pwned'</script>",
    '"><img src=x onerror="alert(1)">',
    "__QUERY__",
    "__proto__",
)


class _Elements(HTMLParser):
    """Every start tag of a page, with its attributes and the text of its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)


def test_class_names_reach_the_page_as_text_never_as_script() -> None:
    page = _Elements()
    page.feed(render_page(HOSTILE_CLASSES, "?token=a%26b"))
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts == [{"src": "page.js?token=a%26b", "defer": None}]  # the served one only
    assert page.script_text == []  # no inline script at all
    assert not [t for t, attrs in page.tags if t == "img" and "onerror" in attrs]
    (body,) = [attrs for tag, attrs in page.tags if tag == "body"]
    assert json.loads(body["data-classes"] or "") == list(HOSTILE_CLASSES)
    assert json.loads(body["data-query"] or "") == "?token=a%26b"


def test_every_response_carries_a_strict_content_security_policy(server: WebServer) -> None:
    for path, status in (("/", 200), ("/page.js", 200), ("/page.css", 200), ("/nope", 404)):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request(
            "GET", path, headers={"Host": "evil.example" if path == "/nope" else "localhost"}
        )
        r = conn.getresponse()
        r.read()
        conn.close()
        assert r.status == (403 if path == "/nope" else status)
        policy = r.getheader("Content-Security-Policy") or ""
        assert "script-src 'self'" in policy and "default-src 'none'" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    for path in ("/stream.mjpg", "/events"):
        sock = open_stream(server.port, path)
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        sock.close()
        assert b"Content-Security-Policy: default-src 'none'; script-src 'self'" in head
    status, script = get("127.0.0.1", server.port, "/page.js")
    assert status == 200 and b"dataset.classes" in script and b"calm" not in script


def test_a_token_with_url_characters_is_encoded(tmp_path) -> None:
    token = "a&b#c d/e?f=g"
    with WebServer(ServeAddress("127.0.0.2", 0), LiveHub(), CLASSES, token) as s:
        assert s.url.endswith("/?token=a%26b%23c+d%2Fe%3Ff%3Dg")
        query = s.url.split("/", 3)[3]
        assert get("127.0.0.2", s.port, "/" + query)[0] == 200
        assert get("127.0.0.2", s.port, "/page.js" + query)[0] == 200
        assert get("127.0.0.2", s.port, "/?token=a")[0] == 403


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
        # the page's stream, script, style and events carry it
        assert b'src="stream.mjpg?token=s3cret-token"' in body
        assert b'src="page.js?token=s3cret-token"' in body
        assert b'data-query="&quot;?token=s3cret-token&quot;"' in body
    finally:
        server.stop()
    with pytest.raises(ValueError, match="needs a token"):
        WebServer(ServeAddress("127.0.0.2", 0), LiveHub(), CLASSES)


def test_busy_port_is_an_error_before_anything_runs(server: WebServer) -> None:
    with pytest.raises(OSError, match="cannot serve on 127.0.0.1"):
        WebServer(ServeAddress("127.0.0.1", server.port), LiveHub(), CLASSES).start()


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: localhost\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nX: " + b"a" * 20000 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n",
    ],
)
def test_malformed_requests_print_no_traceback(server: WebServer, caplog, raw: bytes) -> None:
    """#19 item 14: any client, even without the token, made aiohttp log tracebacks onto
    the app's terminal."""
    import logging

    caplog.set_level(logging.DEBUG)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(raw)
    assert sock.recv(64).startswith(b"HTTP/1.")  # 400, after the error was logged
    sock.close()
    time.sleep(0.1)
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert "Traceback" not in caplog.text
