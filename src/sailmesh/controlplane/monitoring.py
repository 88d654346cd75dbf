"""A small HTTP/1.1 server for the control plane's monitoring endpoints (asyncio).

In: routes (``GET`` paths to async handlers, and ``POST`` paths whose handlers get the body:
the pods' Envoys post their spans) and where to listen: a Unix socket path (what the pods'
Envoys reach for their merged metrics and traces) or a listening socket made elsewhere (the
runtime makes one inside the pod network for Prometheus). Out: answers with a length, kept
alive between requests. A request line or headers over :data:`MAX_HEAD` bytes, or a
connection silent for :data:`IDLE_TIMEOUT` seconds, is closed; a POST body (a
``Content-Length`` or chunked, as Envoy's HTTP exporters send it) of more than
:data:`MAX_BODY` bytes is refused (413, or 411 without a length, and the connection closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

MAX_HEAD = 16 * 1024
MAX_BODY = 8 * 1024 * 1024
IDLE_TIMEOUT = 30.0
TEXT = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Request:
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = TEXT


Handler = Callable[[Request], Awaitable[Response]]


async def _read_body(headers: Mapping[str, str], reader: asyncio.StreamReader) -> bytes | Response:
    """A POST body (Content-Length or chunked, at most :data:`MAX_BODY` bytes), or the refusal."""
    too_large = Response(413, b"body too large\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        out = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                return Response(400, b"bad chunk size\n")
            if len(out) + size > MAX_BODY:
                return too_large
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return bytes(out)
            out += await reader.readexactly(size)
            await reader.readexactly(2)
    length = headers.get("content-length", "")
    if not length.isdigit():
        return Response(411, b"a Content-Length or a chunked body is needed\n")
    if int(length) > MAX_BODY:
        return too_large
    return await reader.readexactly(int(length))


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            411: "Length Required", 413: "Content Too Large"}  # fmt: skip


@dataclass
class HttpServer:
    routes: Mapping[str, Handler]
    post_routes: Mapping[str, Handler] = field(default_factory=dict)
    _servers: list[asyncio.Server] = field(default_factory=list)

    async def serve_unix(self, path: Path) -> None:
        """Listen on the Unix socket ``path`` (replaced if it exists)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self._servers.append(await asyncio.start_unix_server(self._handle, path=str(path)))

    async def serve_socket(self, sock: socket.socket) -> None:
        """Serve on a listening socket made by the caller (it is closed with the server)."""
        sock.setblocking(False)
        self._servers.append(await asyncio.start_server(self._handle, sock=sock))

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
        self._servers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
                if len(head) > MAX_HEAD:
                    return
                keep_alive = await self._answer(head.decode("latin-1"), reader, writer)
                if not keep_alive:
                    return
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ConnectionError,
            OSError,
        ):
            return
        finally:
            writer.close()

    async def _answer(
        self, head: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        lines = head.split("\r\n")
        parts = lines[0].split()
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        body = b""
        broken = False
        url = urlsplit(parts[1] if len(parts) == 3 else "")
        routes = self.post_routes if parts[:1] == ["POST"] else self.routes
        handler = routes.get(url.path)
        if len(parts) != 3:
            response = Response(400, b"bad request\n")
        elif parts[0] not in ("GET", "POST"):
            response = Response(405, b"only GET and POST are served\n")
        elif handler is None and url.path in {**self.routes, **self.post_routes}:
            response = Response(405, f"{parts[0]} is not served on {url.path}\n".encode())
        elif handler is None:
            response = Response(404, f"no such path: {url.path}\n".encode())
        else:
            if parts[0] == "POST":
                found = await asyncio.wait_for(_read_body(headers, reader), IDLE_TIMEOUT)
                if isinstance(found, Response):
                    broken, response = True, found
                else:
                    body = found
            if not broken:
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                response = await handler(Request(url.path, query, headers, body))
        keep_alive = (
            headers.get("connection", "").lower() != "close" and len(parts) == 3 and not broken
        )
        reason = _REASONS.get(response.status, "Error")
        out = (
            f"HTTP/1.1 {response.status} {reason}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        ).encode() + response.body
        writer.write(out)
        await writer.drain()
        return keep_alive
