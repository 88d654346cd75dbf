"""An :class:`AdsServer` on its own event loop thread, driven from synchronous tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from sailmesh.ads.cache import SnapshotCache
from sailmesh.ads.server import AdsServer
from sailmesh.ads.status import ProxyStatus

T = TypeVar("T")


class AdsThread:
    """``start()``/``stop()`` the server (restartable on the same port); ``status()`` views."""

    def __init__(self, cache: SnapshotCache) -> None:
        self.cache = cache
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="ads-loop")
        self._thread.start()
        self.server: AdsServer | None = None
        self.port = 0

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, port: int = 0, unix_path: str | None = None) -> int:
        self.server = AdsServer(self.cache)
        self.port = self.call(self.server.start(f"127.0.0.1:{port}", unix_path))
        return self.port

    def stop(self) -> None:
        if self.server is not None:
            self.call(self.server.stop(0.2))
            self.server = None

    def status(self) -> list[ProxyStatus]:
        server = self.server
        if server is None:
            return []

        async def read() -> list[ProxyStatus]:
            return server.proxy_status()

        return self.call(read())

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()
