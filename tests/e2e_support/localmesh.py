"""A :class:`LocalMesh` (control plane + pods) on its own event-loop thread, for tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sailmesh.app.local import LocalMesh
from sailmesh.config.load import load_paths, load_text
from sailmesh.config.resource import Resource

T = TypeVar("T")


class LocalMeshThread:
    def __init__(self, home: Path, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="mesh-loop", daemon=True)
        self._thread.start()
        self.mesh = LocalMesh(home, **options)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, paths: Sequence[str]) -> None:
        result = load_paths(paths)
        assert result.ok, result.problems
        self.call(self.mesh.start(result.resources))

    def apply(self, text: str, namespace: str = "default") -> list[str]:
        """Apply YAML (objects without a namespace land in ``namespace``) and wait until the
        runtime has reconciled it."""
        assert self.mesh.server is not None
        outcomes: list[str] = self.mesh.server.api.apply_yaml(text, "test.yaml", namespace)[
            "outcomes"
        ]
        self.mesh.wait_reconciled()
        return outcomes

    def delete(self, text: str, namespace: str = "default") -> list[str]:
        assert self.mesh.server is not None
        result = self.mesh.server.api.delete_yaml(
            text, "test.yaml", namespace, ignore_not_found=True
        )
        self.mesh.wait_reconciled()
        outcomes: list[str] = result["outcomes"]
        return outcomes

    def apply_resources(self, resources: list[Resource]) -> None:
        assert self.mesh.cp is not None
        self.mesh.cp.store.apply(resources)
        self.mesh.wait_reconciled()

    def gateway_port(self, port: int) -> int:
        for _, g in self.mesh.forwarders.values():
            if g.port == port:
                return g.local_port
        raise AssertionError(f"no forwarder for gateway port {port}: {self.mesh.forwarders}")

    def close(self) -> None:
        try:
            self.call(self.mesh.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            self.loop.close()


def load(text: str) -> list[Resource]:
    result = load_text(text, "test.yaml")
    assert result.ok, result.problems
    return result.resources
