"""``fortio server``: fortio's echo server on ``-http-port``, TCP echo on ``-tcp-port``.

Every path but ``/debug`` echoes: the request body comes back (with its content type) unless
``?size=N`` asks for N bytes; ``?status=503`` or ``?status=503:50,429:10`` (percentages; the
rest 200) picks the code; ``?delay=250ms`` or ``?delay=1s:10,100ms:50`` sleeps first (at most
1.5 s, fortio's default cap); ``?header=Name:value`` (repeatable) adds response headers;
``?close=true`` closes the connection; ``-echo-server-default-params`` gives the parameters
of requests without any (``status=503``: a server that always fails). ``/debug`` answers the request line and headers as
text. Ports are ``N``, ``host:N`` or ``disabled``; the gRPC port accepts connections only.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from .. import goflags
from ..web import App, Request, Response, listen_host, log, serve
from . import VERSION

VALUED = (
    "http-port",
    "grpc-port",
    "tcp-port",
    "udp-port",
    "redirect-port",
    "config-dir",
    "ui-path",
    "loglevel",
    "maxpayloadsizekb",
    "max-echo-delay",
    "echo-server-default-params",
)
BOOLEANS = ("quiet",)
MAX_DELAY = 1.5


def _weighted(spec: str) -> str | None:
    """One value of ``v`` or ``v:percent,v2:percent,...``; None for the remaining share."""
    roll = random.uniform(0, 100)
    seen = 0.0
    for item in spec.split(","):
        value, sep, percent = item.partition(":")
        seen += float(percent) if sep else 100.0
        if roll < seen:
            return value
    return None


def _status(spec: str) -> int:
    try:
        picked = _weighted(spec)
        code = int(picked) if picked is not None else 200
    except ValueError:
        return 400
    return code if 100 <= code <= 599 else 400


def _delay(spec: str, cap: float) -> float:
    try:
        picked = _weighted(spec)
        seconds = goflags.duration(picked) if picked is not None else 0.0
    except ValueError:
        return 0.0
    return min(max(seconds, 0.0), cap)


def create_app(cap: float = MAX_DELAY, defaults: str = "") -> App:
    """The echo app; ``defaults`` (``-echo-server-default-params``, e.g. ``status=503``) are the
    parameters of requests that carry none."""
    default_query = parse_qs(defaults, keep_blank_values=True)
    app = App("fortio")
    started = time.time()

    @app.route(r"/debug", ("*",))
    def debug(request: Request) -> Response:
        lines = [
            f"Φορτίο version {VERSION} echo debug server up for {time.time() - started:.1f}s "
            f"on {os.environ.get('HOSTNAME', socket.gethostname())} - request from "
            f"{request.client}",
            "",
            f"{request.method} {request.target} HTTP/1.1",
            "",
            "headers:",
            "",
            *(f"{name.title()}: {value}" for name, value in sorted(request.headers.items())),
            "",
            "body:",
            "",
            request.body.decode("utf-8", "replace"),
        ]
        return Response(200, "\n".join(lines).encode())

    @app.route(r"/.*", ("*",))
    def echo(request: Request) -> Response:
        query = request.query or default_query
        params = {k: v[-1] for k, v in query.items()}
        if "delay" in params:
            time.sleep(_delay(params["delay"], cap))
        status = _status(params["status"]) if "status" in params else 200
        if "size" in params and params["size"].isdigit():
            body = b"x" * min(int(params["size"]), 256 * 1024)
        else:
            body = request.body
        kind = request.headers.get("content-type", "application/octet-stream")
        response = Response(status, body, kind)
        for header in query.get("header", []):
            name, sep, value = header.partition(":")
            if sep and name:
                response.headers.append((name.strip(), value.strip()))
        if params.get("close", "").lower() in ("1", "true"):
            response.headers.append(("Connection", "close"))
        return response

    return app


def _listen(spec: str) -> tuple[str, int] | None:
    if spec in ("", "disabled", "-1", "0"):
        return None
    host, sep, port = spec.rpartition(":")
    return (listen_host(host) if sep else "0.0.0.0", int(port))


def _accepting(address: tuple[str, int], handle: Callable[[socket.socket], None]) -> None:
    """Accept connections on ``address`` forever, each handled in a daemon thread."""
    with socket.create_server(address, reuse_port=False) as server:
        log(f"fortio: listening on {address[0]}:{address[1]}")
        while True:
            conn, _ = server.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()


def _echo(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


def _hold(conn: socket.socket) -> None:
    """The gRPC port: accept and wait for the peer to close (no gRPC ping here)."""
    with conn:
        while conn.recv(65536):
            pass


def _server_of(
    address: tuple[str, int], handle: Callable[[socket.socket], None]
) -> Callable[[], None]:
    return lambda: _accepting(address, handle)


def main(args: list[str]) -> int:
    flags, _ = goflags.parse(args, VALUED, BOOLEANS)
    http = _listen(goflags.last(flags, "http-port", os.environ.get("PORT") or "8080"))
    cap = goflags.duration(goflags.last(flags, "max-echo-delay", "1.5s"))
    extras: list[Callable[[], None]] = []
    for flag, default, handler in (("tcp-port", "8078", _echo), ("grpc-port", "8079", _hold)):
        address = _listen(goflags.last(flags, flag, default))
        if address is not None:
            extras.append(_server_of(address, handler))
    if http is None:
        raise goflags.FlagError("-http-port disabled: this stand-in serves HTTP")
    defaults = goflags.last(flags, "echo-server-default-params", "")
    return serve(create_app(cap, defaults), http[1], http[0], also=extras)
