"""HTTP plumbing every sample app shares: routing, a graceful threaded server, access logs.

Standard library only and cheap to import: every sample is a separate process, several per
mesh, so start-up time and memory matter more than features. In: requests on one port. Out:
the :class:`App`'s responses and one access-log line per request on stdout (client, request
line, status, size, duration and the ``Host`` the request was sent to).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import parse_qs, urlsplit

TYPE_CHECKING = False  # typing/dataclasses stay unimported: start-up time matters
if TYPE_CHECKING:
    from typing import Any

_log_lock = threading.Lock()


def log(message: str) -> None:
    """Write one line to stdout (flushed, so container logs show it immediately)."""
    with _log_lock:
        sys.stdout.write(message + "\n")
        sys.stdout.flush()


class Request:
    """An inbound request; header names are lower-case, ``params`` are the route's groups.
    ``headers`` joins a repeated header's values with ", " (RFC 9110); ``header_lists`` keeps
    each value apart, in order."""

    __slots__ = (
        "body",
        "client",
        "header_lists",
        "headers",
        "method",
        "params",
        "path",
        "query",
        "target",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes = b"",
        params: tuple[str, ...] = (),
        client: str = "",
        target: str = "",
        header_lists: dict[str, list[str]] | None = None,
    ) -> None:
        self.method = method
        self.header_lists = header_lists or {k: [v] for k, v in headers.items()}
        self.client = client  # the peer's address
        self.target = target or path  # the request line's target (path and query)
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.params = params

    def cookie(self, name: str) -> str | None:
        """The value of cookie ``name``, if the request carries it."""
        for part in self.headers.get("cookie", "").split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                return value.strip().strip('"')
        return None

    def form(self) -> dict[str, str]:
        """Query and url-encoded body fields (first value of each; the body wins)."""
        fields = {k: v[0] for k, v in self.query.items() if v}
        body = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        fields.update({k: v[0] for k, v in body.items() if v})
        return fields


class Response:
    """An outbound response."""

    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self,
        status: int = 200,
        body: bytes = b"",
        content_type: str = "text/plain; charset=utf-8",
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers if headers is not None else []


def json_response(payload: object, status: int = 200) -> Response:
    """``payload`` as an ``application/json`` response."""
    return Response(status, json.dumps(payload).encode(), "application/json")


def html_response(text: str, status: int = 200) -> Response:
    """``text`` as an HTML response."""
    return Response(status, text.encode(), "text/html; charset=utf-8")


def redirect(location: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """A ``302 Found`` to ``location``."""
    return Response(302, b"", headers=[("Location", location), *headers])


Handler = Callable[[Request], Response]


class App:
    """A named set of routes: regular expressions over the path, matched in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._routes: list[tuple[re.Pattern[str], frozenset[str], Handler]] = []

    def route(
        self, pattern: str, methods: Iterable[str] = ("GET",)
    ) -> Callable[[Handler], Handler]:
        """Register the decorated handler for paths fully matching ``pattern`` (``methods``
        ``("*",)``: any method)."""
        compiled = re.compile(pattern)
        allowed = frozenset(m.upper() for m in methods)

        def register(handler: Handler) -> Handler:
            self._routes.append((compiled, allowed, handler))
            return handler

        return register

    def add_health(self, status: str) -> None:
        """``GET /health`` answering ``{"status": status}``."""
        self.route(r"/health")(lambda request: json_response({"status": status}))

    def handle(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        client: str = "",
        header_lists: dict[str, list[str]] | None = None,
    ) -> Response:
        """Dispatch one request; 404/405 when no route fits, 500 when a handler raises."""
        parts = urlsplit(target)
        lookup = "GET" if method == "HEAD" else method
        path_matched = False
        for pattern, methods, handler in self._routes:
            match = pattern.fullmatch(parts.path)
            if match is None:
                continue
            path_matched = True
            if lookup not in methods and "*" not in methods:
                continue
            query = parse_qs(parts.query, keep_blank_values=True)
            request = Request(
                method,
                parts.path,
                query,
                headers,
                body,
                match.groups(),
                client,
                target,
                header_lists,
            )
            try:
                return handler(request)
            except Exception as exc:  # keep serving; the access log shows the 500
                log(f"{self.name}: error handling {method} {parts.path}: {exc!r}")
                return json_response({"error": "internal error"}, 500)
        if path_matched:
            return json_response({"error": "method not allowed"}, 405)
        return json_response({"error": "not found"}, 404)


class _Server(ThreadingHTTPServer):
    """A threaded server that stops gracefully: no new connections, in-flight requests finish.

    Idle keep-alive connections are shut down on stop; busy ones get ``Connection: close`` on
    their current response. Handler threads are non-daemon, so ``server_close`` joins them.
    """

    daemon_threads = False
    block_on_close = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.stop_requested = False
        self.stopping = False
        self._lock = threading.Lock()
        self._idle: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def set_idle(self, conn: socket.socket, idle: bool) -> bool:
        """Record whether ``conn`` waits for a request; returns whether the server is stopping."""
        with self._lock:
            if idle:
                self._idle.add(conn)
            else:
                self._idle.discard(conn)
            return self.stopping

    def request_stop(self) -> None:
        """Ask for a graceful stop; only sets a flag, so it is safe in a signal handler."""
        self.stop_requested = True

    def service_actions(self) -> None:
        """Run by ``serve_forever`` in the serving thread at least every poll interval."""
        super().service_actions()
        if self.stop_requested:
            self.stop()

    def stop(self) -> None:
        """Begin a graceful stop: close idle connections, then end ``serve_forever``."""
        with self._lock:
            if self.stopping:
                return
            self.stopping = True
            idle = list(self._idle)
        for conn in idle:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        threading.Thread(target=self.shutdown, daemon=True).start()


class _Handler(BaseHTTPRequestHandler):
    """Adapts :class:`http.server` to :class:`App` and logs one line per request."""

    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 120  # seconds an idle keep-alive connection may wait for its next request
    _started = 0.0

    def setup(self) -> None:
        super().setup()
        if self.server.set_idle(self.connection, True):
            self.connection.settimeout(2.0)

    def finish(self) -> None:
        self.server.set_idle(self.connection, False)
        super().finish()

    def parse_request(self) -> bool:
        self._started = time.monotonic()
        stopping = self.server.set_idle(self.connection, False)
        ok = super().parse_request()
        if stopping:
            self.close_connection = True
        return ok

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        lists: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            lists.setdefault(name.lower(), []).append(value)
        headers = {name: ", ".join(values) for name, values in lists.items()}
        response = self.server.app.handle(
            self.command, self.path, headers, body, self.client_address[0], lists
        )
        if self.server.stopping:
            self.close_connection = True
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        elapsed = (time.monotonic() - self._started) * 1000
        log(
            f'{self.server.app.name} {self.client_address[0]} "{self.requestline}" '
            f"{response.status} {len(response.body)} {elapsed:.1f}ms host={headers.get('host', '-')}"
        )
        if self.server.set_idle(self.connection, True):
            self.close_connection = True  # stop() began after the check above

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: :meth:`_dispatch` logs its own line with size and duration."""

    def log_message(self, format: str, *args: Any) -> None:
        log(f"{self.server.app.name} {self.address_string()} {format % args}")


def listen_host(host: str) -> str:
    """The address to bind for ``host`` as a server's flags give it: every wildcard form
    (``""``, ``0.0.0.0``, ``::``, ``[::]``) binds every IPv4 address (pods have IPv4 only)."""
    host = host.strip("[]")
    return "0.0.0.0" if host in ("", "0.0.0.0", "::") else host


def gunicorn_bind(args: Iterable[str], default_port: int) -> tuple[str, int]:
    """``(host, port)`` of gunicorn's ``-b``/``--bind`` in ``args`` (the images that run gunicorn
    say where to listen this way), else every address on ``default_port``. ``$PORT`` wins when
    set: the local runtime's explicit mode hands each pod its own host port that way."""
    if os.environ.get("PORT", "").isdigit():
        return "0.0.0.0", int(os.environ["PORT"])
    items = list(args)
    bind = ""
    for i, arg in enumerate(items):
        if arg in ("-b", "--bind") and i + 1 < len(items):
            bind = items[i + 1]
        elif arg.startswith("--bind="):
            bind = arg.split("=", 1)[1]
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        return "0.0.0.0", default_port
    return listen_host(host), int(port)


def serve(
    app: App, port: int, host: str = "0.0.0.0", also: Iterable[Callable[[], None]] = ()
) -> int:
    """Serve ``app`` until SIGTERM/SIGINT, then stop gracefully; returns the exit status.

    ``also``: more servers of the same process (each runs in a daemon thread, ending with it).
    """
    requested: list[int] = []  # signals seen before the server exists

    def on_signal(signum: int, frame: FrameType | None) -> None:
        requested.append(signum)
        if server is not None:
            server.request_stop()  # no locks here: the handler may interrupt a lock holder

    server: _Server | None = None
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = _Server((host, port), app)
    for extra in also:
        threading.Thread(target=extra, daemon=True).start()
    if requested:
        server.request_stop()
    log(f"{app.name} listening on {host}:{server.server_address[1]}")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()  # joins in-flight handler threads
    log(f"{app.name} stopped")
    return 0
