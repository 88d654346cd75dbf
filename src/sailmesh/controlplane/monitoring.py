"""A small HTTP/1.1 server for the control plane's monitoring endpoints (asyncio).

In: routes (``GET`` paths to async handlers) and where to listen: a Unix socket path (what
the pods' Envoys reach for their merged metrics) or a listening socket made elsewhere (the
runtime makes one inside the pod network for Prometheus). Out: answers with a length, kept
alive between requests. Only ``GET`` is served; a request line or headers over
:data:`MAX_HEAD` bytes, or a connection silent for :data:`IDLE_TIMEOUT` seconds, is closed.
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
IDLE_TIMEOUT = 30.0
TEXT = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Request:
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = TEXT


Handler = Callable[[Request], Awaitable[Response]]
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


@dataclass
class HttpServer:
    routes: Mapping[str, Handler]
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
                keep_alive = await self._answer(head.decode("latin-1"), writer)
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

    async def _answer(self, head: str, writer: asyncio.StreamWriter) -> bool:
        lines = head.split("\r\n")
        parts = lines[0].split()
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if len(parts) != 3:
            response = Response(400, b"bad request\n")
        elif parts[0] != "GET":
            response = Response(405, b"only GET is served\n")
        else:
            url = urlsplit(parts[1])
            handler = self.routes.get(url.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if handler is None:
                response = Response(404, f"no such path: {url.path}\n".encode())
            else:
                response = await handler(Request(url.path, query, headers))
        keep_alive = headers.get("connection", "").lower() != "close" and len(parts) == 3
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
