"""The snapshot cache: the latest :class:`ResourceSnapshot` per node id, and its watchers.

The control plane calls :meth:`SnapshotCache.set_snapshot`; every stream of that node is
notified through the callback it registered (the ADS server's callbacks hop onto its event
loop, so setting a snapshot from another thread is safe).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from sailmesh.ads.resources import ResourceSnapshot

Watcher = Callable[[], None]


class SnapshotCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[str, ResourceSnapshot] = {}
        self._watchers: dict[str, list[Watcher]] = {}

    def set_snapshot(self, node_id: str, snapshot: ResourceSnapshot) -> None:
        """Make ``snapshot`` what ``node_id`` should have; wake its streams."""
        with self._lock:
            self._snapshots[node_id] = snapshot
            watchers = list(self._watchers.get(node_id, ()))
        for notify in watchers:
            notify()

    def set_snapshots(self, snapshots: Iterable[tuple[str, ResourceSnapshot]]) -> None:
        """:meth:`set_snapshot` for many nodes at once: all are stored before any stream is
        woken, and streams of a node whose snapshot holds the very same resources as before
        are not woken."""
        with self._lock:
            woken: list[Watcher] = []
            for node_id, snapshot in snapshots:
                before = self._snapshots.get(node_id)
                self._snapshots[node_id] = snapshot
                if before is None or not _same(before, snapshot):
                    woken.extend(self._watchers.get(node_id, ()))
        for notify in woken:
            notify()

    def get(self, node_id: str) -> ResourceSnapshot | None:
        with self._lock:
            return self._snapshots.get(node_id)

    def clear(self, node_id: str) -> None:
        """Forget a node's snapshot (its streams keep what they sent)."""
        with self._lock:
            self._snapshots.pop(node_id, None)

    def nodes(self) -> list[str]:
        with self._lock:
            return sorted(self._snapshots)

    def watch(self, node_id: str, notify: Watcher) -> Callable[[], None]:
        """Call ``notify()`` after each :meth:`set_snapshot` for ``node_id``; returns a cancel."""
        with self._lock:
            self._watchers.setdefault(node_id, []).append(notify)

        def cancel() -> None:
            with self._lock:
                found = self._watchers.get(node_id, [])
                if notify in found:
                    found.remove(notify)
                if not found:
                    self._watchers.pop(node_id, None)

        return cancel


def _same(a: ResourceSnapshot, b: ResourceSnapshot) -> bool:
    """Both hold the very same per-type resource objects."""
    return len(a.types) == len(b.types) and all(a.types.get(t) is r for t, r in b.types.items())


class SharedSnapshotCache(SnapshotCache):
    """One snapshot for whichever node connects: a server whose socket already says who the
    client is (a node agent's per-pod SDS socket) has no use for node ids."""

    def set_shared(self, snapshot: ResourceSnapshot) -> None:
        self.set_snapshot("", snapshot)

    def get(self, node_id: str) -> ResourceSnapshot | None:
        return super().get("")

    def watch(self, node_id: str, notify: Watcher) -> Callable[[], None]:
        return super().watch("", notify)
