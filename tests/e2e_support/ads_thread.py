"""An :class:`AdsServer` on its own event loop thread, driven from synchronous tests."""

from __future__ import annotations

from e2e_support.loop_thread import LoopThread
from sailmesh.ads.cache import SnapshotCache
from sailmesh.ads.server import AdsServer
from sailmesh.ads.status import ProxyStatus


class AdsThread(LoopThread):
    """``start()``/``stop()`` the server (restartable on the same port); ``status()`` views."""

    def __init__(self, cache: SnapshotCache) -> None:
        super().__init__("ads-loop", timeout=10.0)
        self.cache = cache
        self.server: AdsServer | None = None
        self.port = 0

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
        found: list[ProxyStatus] = self.on_loop(server.proxy_status)
        return found
