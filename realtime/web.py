"""`--serve [HOST:]PORT`: the live view in a browser, on a local aiohttp server.

Routes (GET only; nothing else is served, no files, not the model):

- `/`: the page: the annotated stream, and the label, state, a bar per class, fps, latency
  and dropped frames, updated from `/events`.
- `/page.js`, `/page.css`: the page's script and style (fixed text, see `realtime.web_page`).
- `/stream.mjpg`: the annotated frames as they are drawn (MJPEG, multipart/x-mixed-replace).
- `/events`: the same records as the JSONL (`realtime.sinks.jsonl.tick_record`), as
  server-sent events, one `data:` line per tick.

The loop never waits for the server. `WebSink.write` (on the loop thread) only stores a
reference to the newest annotated frame, and only while a browser is watching the stream;
JPEG encoding runs on the server's thread, once per new frame and only when a client asks
for one. A slow or stalled browser gets the newest frame when it is ready for one (frames in
between are dropped, never queued) and at most the last `RECORDS_KEPT` records; it holds up
no other client, and one that disconnects mid-stream changes nothing for the others.

Security: binds to 127.0.0.1 by default, where no token is needed but requests must name
a loopback host (so a web page cannot reach it by DNS rebinding). Any other address
(another 127.x included) needs a token (`--serve-token`, or one is generated and
printed); every request without it (as `?token=` or an `Authorization: Bearer` header)
gets 403. Every response carries a Content-Security-Policy (`realtime.web_page.CSP`) that
runs scripts only from this server's own `/page.js`: no inline script, so nothing in the
model's class names can run in the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import socket
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from realtime.capture import Frame
from realtime.sinks.jsonl import tick_record
from realtime.tick import Tick
from realtime.web_address import ServeAddress, host_header_is_loopback
from realtime.web_page import CSP, SCRIPT, STYLE, render_page, token_query

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)


class _OneLine(logging.Filter):
    """aiohttp's "Error handling request" records as one line without a traceback; a
    malformed request (the client's doing, any client can send one) is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            return False
        if error is not None:
            text = " ".join(str(error).split())[:200]
            record.msg, record.args = f"{record.getMessage()}: {type(error).__name__}: {text}", ()
            record.exc_info, record.exc_text = None, None
        return True


# the logger aiohttp's request handlers report to (instead of its own "aiohttp.server")
_requests_log = log.getChild("requests")
_requests_log.addFilter(_OneLine())

# records a slow /events client can fall behind by before the oldest are dropped
RECORDS_KEPT: Final[int] = 256
JPEG_QUALITY: Final[int] = 80


class LiveHub:
    """What the loop thread hands the server: the newest annotated frame and the records.

    Written by `WebSink` on the loop thread, read by the server's thread. The frame is a
    reference (the loop draws each frame into a new array and never touches it again), so
    publishing costs no copy; it is kept only while someone watches the stream.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.viewers = 0  # clients on /stream.mjpg (changed on the server thread only)
        self.listeners = 0  # clients on /events
        self._image: npt.NDArray[np.uint8] | None = None
        self._image_seq = 0
        self._records: deque[tuple[int, str]] = deque(maxlen=RECORDS_KEPT)
        self._record_seq = 0
        self._wake: Callable[[], None] | None = None
        self._wake_pending = False

    def publish(self, image: npt.NDArray[np.uint8] | None, record: str | None) -> None:
        """Loop thread: a new frame and/or record (JSON text); wakes the server once."""
        with self._lock:
            if image is not None:
                self._image = image
                self._image_seq += 1
            if record is not None:
                self._record_seq += 1
                self._records.append((self._record_seq, record))
            wake, pending = self._wake, self._wake_pending
            self._wake_pending = True
        if wake is not None and not pending:
            wake()

    def frame(self) -> tuple[int, npt.NDArray[np.uint8] | None]:
        """(sequence number, image) of the newest frame."""
        with self._lock:
            return self._image_seq, self._image

    def records_after(self, seq: int) -> tuple[int, list[str]]:
        """(newest sequence number, records newer than `seq`, oldest first)."""
        with self._lock:
            return self._record_seq, [text for s, text in self._records if s > seq]

    def attach(self, wake: Callable[[], None] | None) -> None:
        with self._lock:
            self._wake, self._wake_pending = wake, False

    def woken(self) -> None:
        """Server thread: the wake-up was delivered; the next publish sends another."""
        with self._lock:
            self._wake_pending = False


class WebSink:
    """Feeds the hub from the loop: the annotated frame while the stream is watched, the
    JSONL record while /events has listeners; nothing at all when no browser is attached."""

    def __init__(self, hub: LiveHub, classes: Sequence[str]) -> None:
        self.hub = hub
        self.classes = tuple(classes)

    @property
    def wants_image(self) -> bool:
        """Whether the loop must draw the overlay for this sink (a browser is watching)."""
        return self.hub.viewers > 0

    def write(self, frame: Frame, tick: Tick) -> None:
        hub = self.hub
        image = frame.image if hub.viewers > 0 else None
        record = None
        if hub.listeners > 0:
            record = json.dumps(tick_record(tick, self.classes), separators=(",", ":"))
        if image is not None or record is not None:
            hub.publish(image, record)


class WebServer:
    """The aiohttp server on its own thread with its own event loop.

    `start` binds (raising OSError here, on the caller's thread, when it cannot) and
    returns once the server accepts connections; `stop` closes every connection and joins
    the thread. Use it as a context manager.

    Args:
        address: where to listen.
        hub: the loop's frames and records.
        classes: the model's class names (for the page's bars).
        token: the token every request must carry, or None (127.0.0.1, ::1, localhost only).
    """

    def __init__(
        self,
        address: ServeAddress,
        hub: LiveHub,
        classes: Sequence[str],
        token: str | None = None,
    ) -> None:
        if token is None and address.needs_token:
            raise ValueError(f"serving on {address.host} needs a token")
        self.address = address
        self.hub = hub
        self.classes = tuple(classes)
        self.token = token
        self.port = address.port
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._changed: asyncio.Event | None = None
        self._closing = False
        self._jpeg: tuple[int, bytes] = (0, b"")
        self._jpeg_lock: asyncio.Lock | None = None

    @property
    def url(self) -> str:
        """The page's address (with the token when there is one)."""
        host = self.address.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/{token_query(self.token)}"

    # --- the caller's thread -------------------------------------------------------------
    def start(self) -> WebServer:
        family = socket.AF_INET6 if ":" in self.address.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.address.host, self.address.port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError as e:
            sock.close()
            raise OSError(
                e.errno, f"cannot serve on {self.address.host}:{self.address.port}: {e.strerror}"
            ) from None
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name="WebServer", daemon=True
        )
        self._thread.start()
        self._ready.wait(10.0)
        if self._error is not None:
            raise RuntimeError(f"the web server did not start: {self._error}")
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket; join the thread."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            if self._thread.is_alive():
                log.warning("the web server did not stop within 5 s")
        self.hub.attach(None)

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the server's thread -------------------------------------------------------------
    def _run(self, sock: socket.socket) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(sock))
        except BaseException as e:  # reported by start, or logged
            if not self._ready.is_set():
                self._error = e
            else:
                log.warning("the web server stopped: %s", e)
        finally:
            self._ready.set()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self, sock: socket.socket) -> None:
        from aiohttp import web

        self._stopping = asyncio.Event()
        self._changed = asyncio.Event()
        self._jpeg_lock = asyncio.Lock()

        @web.middleware
        async def guard(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            return await self._check(request, handler)

        async def headers(request: web.Request, response: web.StreamResponse) -> None:
            response.headers["Content-Security-Policy"] = CSP  # every response, 403s included
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "no-referrer")

        app = web.Application(middlewares=[guard])
        app.on_response_prepare.append(headers)
        app.router.add_get("/", self._page)
        app.router.add_get("/page.js", self._fixed(SCRIPT, "text/javascript"))
        app.router.add_get("/page.css", self._fixed(STYLE, "text/css"))
        app.router.add_get("/stream.mjpg", self._stream)
        app.router.add_get("/events", self._events)
        app.on_shutdown.append(self._on_shutdown)
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=1.0, logger=_requests_log
        )
        await runner.setup()
        site = web.SockSite(runner, sock)
        await site.start()
        loop = asyncio.get_running_loop()

        def wake() -> None:
            loop.call_soon_threadsafe(self._notify)

        self.hub.attach(wake)
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            self.hub.attach(None)
            self._closing = True
            self._notify()
            await runner.cleanup()

    def _notify(self) -> None:
        """Wake every handler waiting for news (a fresh event for the next round)."""
        self.hub.woken()
        changed, self._changed = self._changed, asyncio.Event()
        if changed is not None:
            changed.set()

    async def _on_shutdown(self, app: web.Application) -> None:
        self._closing = True
        self._notify()

    async def _wait_change(self) -> None:
        assert self._changed is not None
        changed = self._changed
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(changed.wait(), 1.0)

    def _allowed(self, request: web.Request) -> bool:
        if self.token is not None:
            given = request.query.get("token", "")
            auth = request.headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                given = auth[len("Bearer ") :]
            return hmac.compare_digest(given.encode(), self.token.encode())
        # loopback without a token: the page must be asked for by a loopback name
        return host_header_is_loopback(request.headers.get("Host", ""))

    async def _check(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        from aiohttp import web

        if not self._allowed(request):
            return web.Response(status=403, text="403: forbidden (a valid token is needed)\n")
        return await handler(request)

    async def _page(self, request: web.Request) -> web.Response:
        from aiohttp import web

        html = render_page(self.classes, token_query(self.token))
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    @staticmethod
    def _fixed(text: str, content_type: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        """A handler serving fixed `text` (the page's script or style)."""

        async def handler(request: web.Request) -> web.Response:
            from aiohttp import web

            return web.Response(text=text, content_type=content_type, charset="utf-8")

        return handler

    async def _encoded(self, seq: int, image: npt.NDArray[np.uint8]) -> bytes:
        """The JPEG of frame `seq`, encoded once (off the event loop) for every client."""
        assert self._jpeg_lock is not None
        async with self._jpeg_lock:
            if self._jpeg[0] != seq:
                loop = asyncio.get_running_loop()
                data = await loop.run_in_executor(None, _encode_jpeg, image)
                self._jpeg = (seq, data)
            return self._jpeg[1]

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        response = web.StreamResponse(
            headers={"Content-Type": "multipart/x-mixed-replace; boundary=frame"}
        )
        response.headers["Cache-Control"] = "no-store"
        await response.prepare(request)
        self.hub.viewers += 1
        sent = -1
        try:
            while not self._closing:
                seq, image = self.hub.frame()
                if image is None or seq == sent:
                    await self._wait_change()
                    continue
                data = await self._encoded(seq, image)
                head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                await response.write(head.encode() + data + b"\r\n")
                sent = seq
        except (ConnectionError, asyncio.CancelledError):
            pass  # the browser went away, or the server is closing
        finally:
            self.hub.viewers -= 1
        return response

    async def _events(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        response.headers["Cache-Control"] = "no-store"
        await response.prepare(request)
        self.hub.listeners += 1
        seen, _ = self.hub.records_after(1 << 62)  # only records from now on
        try:
            await response.write(b": connected\n\n")
            while not self._closing:
                newest, records = self.hub.records_after(seen)
                if not records:
                    await self._wait_change()
                    continue
                seen = newest
                await response.write("".join(f"data: {r}\n\n" for r in records).encode())
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.hub.listeners -= 1
        return response


def _encode_jpeg(image: npt.NDArray[np.uint8]) -> bytes:
    import cv2

    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return bytes(data.tobytes())
