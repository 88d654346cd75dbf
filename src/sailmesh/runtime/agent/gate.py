"""A Unix socket that admits only allowed peers and splices them to a private gRPC socket.

gRPC's Python server does not expose a connection's socket, so it cannot ask the kernel who
connected. The gate listens on the pod-facing path, checks each accepted connection
(``SO_PEERCRED`` + network namespace, :mod:`~sailmesh.runtime.agent.peer`) and only then
copies bytes both ways to the agent's gRPC server, which listens on a socket in a directory
only the agent's user can enter (0700). A refused connection is closed before a byte of it is
read. SDS traffic is a few KB per renewal, so the extra copy costs nothing measurable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

Check = Callable[[socket.socket], str | None]
"""Returns why the peer on a socket is refused, or None."""


class PeerGate:
    def __init__(
        self,
        path: Path,
        upstream: Path,
        check: Check,
        *,
        mode: int = 0o600,
        group: int | None = None,
    ) -> None:
        self.path = path
        self.upstream = upstream
        self._check = check
        self._mode = mode
        self._group = group
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.refused = 0

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)
        self._server = await asyncio.start_unix_server(self._accept, path=str(self.path))
        if self._group is not None:
            os.chown(self.path, -1, self._group)
        os.chmod(self.path, self._mode)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self.path.unlink(missing_ok=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            reason = self._check(writer.get_extra_info("socket"))
            if reason is not None:
                self.refused += 1
                log.warning("SDS socket %s: refused a connection: %s", self.path, reason)
                return
            up_reader, up_writer = await asyncio.open_unix_connection(str(self.upstream))
            try:
                await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))
            finally:
                up_writer.close()
        except OSError as exc:
            log.info("SDS socket %s: connection ended: %s", self.path, exc)
        finally:
            writer.close()
            self._tasks.discard(task)


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    finally:
        if sink.can_write_eof():
            with contextlib.suppress(OSError):
                sink.write_eof()
