"""Loopback forwarders: ``127.0.0.1:<port>`` on the host → an address inside a pod namespace.

Design: the listening socket lives in the host namespace (bound to a loopback address only).
For each accepted connection the upstream socket is *created* inside the target namespace by a
short-lived dedicated thread that calls ``setns(CLONE_NEWNET)`` on the namespace file
(``/run/netns/<ns>``) and then exits. Network namespaces are per thread, and a socket belongs
for its whole life to the namespace it was created in, so the socket can then be connected and
pumped by the asyncio loop in the host namespace like any other. No helper process, no relay
hop, no change to the rest of the process (the loop thread never leaves the host namespace;
executor threads are not used because they are reused). Needs ``CAP_SYS_ADMIN`` (root): the
``netns`` mode. Without a namespace (``netns_file=None``) it is a plain loopback TCP proxy.
In ``userns`` mode the runtime cannot enter the namespaces: the namespace files of a run live
in a directory registered with :func:`register_netns_dir`, whose factory (the run's agent)
makes the socket inside the namespace and passes it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ipaddress
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from sailmesh.runtime.sandbox.errors import SandboxError

CLONE_NEWNET = 0x40000000
_BUFFER = 64 * 1024
SocketFactory = Callable[[str, int], socket.socket]  # (namespace name, family) -> socket
_FACTORIES: dict[Path, SocketFactory] = {}


def register_netns_dir(directory: Path, factory: SocketFactory) -> None:
    """Sockets for namespace files in ``directory`` are made by ``factory`` (userns mode)."""
    _FACTORIES[directory] = factory


def unregister_netns_dir(directory: Path) -> None:
    _FACTORIES.pop(directory, None)


def socket_in_netns(netns_file: Path | None, family: int = socket.AF_INET) -> socket.socket:
    """A new non-blocking TCP socket created inside the namespace of ``netns_file``."""
    if netns_file is None:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        return sock
    factory = _FACTORIES.get(netns_file.parent)
    if factory is not None:
        made_by_agent = factory(netns_file.name, family)  # OSError when it cannot
        made_by_agent.setblocking(False)
        return made_by_agent
    result: list[socket.socket | BaseException] = []

    def make() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(netns_file, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns({netns_file}): {os.strerror(err)}")
            finally:
                os.close(fd)
            result.append(socket.socket(family, socket.SOCK_STREAM))
        except BaseException as exc:
            result.append(exc)

    worker = threading.Thread(target=make, name=f"setns-{netns_file.name}", daemon=True)
    worker.start()
    worker.join()
    made = result[0]
    if isinstance(made, BaseException):
        raise SandboxError(f"cannot open a socket in {netns_file}: {made}") from made
    made.setblocking(False)
    return made


async def open_connection_in_netns(
    netns_file: Path | None, host: str, port: int, timeout: float = 5.0
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to ``host:port`` as seen from inside the namespace; return asyncio streams."""
    sock = socket_in_netns(netns_file)
    try:
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout)
        return await asyncio.open_connection(sock=sock)
    except BaseException:
        sock.close()
        raise


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_BUFFER):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


class Forwarder:
    """A TCP forwarder from ``listen_host:listen_port`` into a namespace (asyncio)."""

    def __init__(
        self,
        netns_file: Path | None,
        target_host: str,
        target_port: int,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
    ) -> None:
        if not ipaddress.ip_address(listen_host).is_loopback:
            raise SandboxError(f"forwarders bind loopback addresses only, not {listen_host}")
        self.netns_file = netns_file
        self.target = (target_host, target_port)
        self.listen = (listen_host, listen_port)
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (meaningful after :meth:`start`)."""
        if self._server is None:
            raise SandboxError("forwarder not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> int:
        """Bind and start serving; return the bound port (port 0 picks a free one)."""
        self._server = await asyncio.start_server(self._handle, *self.listen)
        return self.port

    async def stop(self) -> None:
        """Stop listening and close every forwarded connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        upstream_w: asyncio.StreamWriter | None = None
        try:
            upstream_r, upstream_w = await open_connection_in_netns(self.netns_file, *self.target)
            await asyncio.gather(_pump(client_r, upstream_w), _pump(upstream_r, client_w))
        except (TimeoutError, OSError, SandboxError):
            pass
        except asyncio.CancelledError:
            pass  # only stop() cancels handlers; finishing normally keeps asyncio quiet
        finally:
            self._conns.discard(task)
            for w in (client_w, upstream_w):
                if w is not None:
                    w.close()


class ForwarderThread:
    """A :class:`Forwarder` served by its own event loop in a background thread."""

    def __init__(self, forwarder: Forwarder) -> None:
        self.forwarder = forwarder
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> int:
        """Start the thread and the forwarder; return the bound port."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self.forwarder.start(), self._loop)
        return future.result(timeout=10)

    def stop(self) -> None:
        """Stop the forwarder, the loop and the thread."""
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                future = asyncio.run_coroutine_threadsafe(self.forwarder.stop(), self._loop)
                future.result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()
