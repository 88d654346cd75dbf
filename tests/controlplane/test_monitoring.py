"""The monitoring HTTP server: routes on a Unix socket and on a socket made elsewhere,
keep-alive, refusals."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from sailmesh.controlplane.monitoring import HttpServer, Request, Response


async def _hello(request: Request) -> Response:
    who = request.headers.get("x-who", "nobody")
    return Response(200, f"hello {who} {request.query.get('q', '')}\n".encode())


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split()[1])
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    return status, await reader.readexactly(length)


def test_unix_socket_routes_keep_alive_and_refusals(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = HttpServer({"/hello": _hello})
        path = tmp_path / "m.sock"
        await server.serve_unix(path)
        try:
            reader, writer = await asyncio.open_unix_connection(str(path))
            get = b"GET /hello?q=1 HTTP/1.1\r\nHost: x\r\nX-Who: envoy\r\n\r\n"
            assert await _exchange(reader, writer, get) == (200, b"hello envoy 1\n")
            assert (await _exchange(reader, writer, b"GET /nope HTTP/1.1\r\n\r\n"))[0] == 404
            assert (await _exchange(reader, writer, b"POST /hello HTTP/1.1\r\n\r\n"))[0] == 405
            writer.close()
        finally:
            await server.stop()
        assert not await _connects(path)

    asyncio.run(scenario())


async def _connects(path: Path) -> bool:
    try:
        _, writer = await asyncio.open_unix_connection(str(path))
    except OSError:
        return False
    writer.close()
    return True


def test_a_listening_socket_made_elsewhere() -> None:
    async def scenario() -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        server = HttpServer({"/hello": _hello})
        await server.serve_socket(sock)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            request = b"GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"
            assert await _exchange(reader, writer, request) == (200, b"hello nobody \n")
            assert await reader.read() == b""  # closed as asked
        finally:
            await server.stop()

    asyncio.run(scenario())


async def _echo(request: Request) -> Response:
    return Response(200, b"got " + request.body)


def test_post_bodies_with_a_length_or_chunked_and_their_bounds(tmp_path: Path) -> None:
    async def scenario() -> None:
        from sailmesh.controlplane import monitoring

        server = HttpServer({}, post_routes={"/in": _echo})
        path = tmp_path / "p.sock"
        await server.serve_unix(path)
        try:
            reader, writer = await asyncio.open_unix_connection(str(path))
            sized = b"POST /in HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
            assert await _exchange(reader, writer, sized) == (200, b"got hello")
            chunked = (
                b"POST /in HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n"
            )
            assert await _exchange(reader, writer, chunked) == (200, b"got abcdefg")
            assert (await _exchange(reader, writer, b"GET /in HTTP/1.1\r\n\r\n"))[0] == 405
            big = f"POST /in HTTP/1.1\r\nContent-Length: {monitoring.MAX_BODY + 1}\r\n\r\n"
            assert (await _exchange(reader, writer, big.encode()))[0] == 413
            writer.close()
            reader, writer = await asyncio.open_unix_connection(str(path))
            bare = b"POST /in HTTP/1.1\r\n\r\n"
            assert (await _exchange(reader, writer, bare))[0] == 411
            writer.close()
        finally:
            await server.stop()

    asyncio.run(scenario())
