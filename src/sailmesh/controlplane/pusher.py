"""Pushing: connected proxies, the shared push context, debounced pushes, and sync waits.

In: proxies connecting and disconnecting (from the ADS server), push requests (what changed),
the config store and the registry (read when a push context is built). Out: each affected
proxy's resource snapshot, set in the ADS :class:`~sailmesh.ads.cache.SnapshotCache`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sailmesh.ads.cache import SnapshotCache
from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, ResourceSnapshot
from sailmesh.ads.server import AdsServer
from sailmesh.clock import Clock
from sailmesh.config.store import ChangeEvent, ConfigStore
from sailmesh.controlplane.debounce import Debouncer
from sailmesh.controlplane.pushcache import Carry, PushContext
from sailmesh.registry.registry import ServiceRegistry
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.push import PushRequest
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.telemetry.peers import Peer, peer_from_node
from sailmesh.xds.envoyfilter import has_patches
from sailmesh.xds.generate import generate
from sailmesh.xds.node import node_metadata, options_from_node, proxy_from_node
from sailmesh.xds.options import TranslateOptions

log = logging.getLogger("sailmesh.controlplane")

ResourceHook = Callable[[Proxy, dict[str, dict[str, Any]]], dict[str, dict[str, Any]]]
"""Test-only: rewrites a proxy's translated resources before they are served."""


@dataclass(frozen=True)
class PushRecord:
    """One push: why, when it started and finished (the clock's monotonic seconds, after the
    debounce), and how many proxies got a newly computed snapshot."""

    reason: str
    started: float
    finished: float
    proxies: int


@dataclass
class _Connected:
    proxy: Proxy
    options: TranslateOptions
    streams: int = 1
    #: The proxy as telemetry names it (address and workload, from its node metadata).
    peer: tuple[str, Peer] | None = None


class Pusher:
    """Keeps every connected proxy's snapshot current. Start and stop it on an asyncio loop."""

    def __init__(
        self,
        store: ConfigStore,
        registry: ServiceRegistry,
        cache: SnapshotCache,
        ads: AdsServer,
        mesh_config: Callable[[], MeshConfig],
        clock: Clock,
    ) -> None:
        self.store, self.registry, self.cache, self.ads = store, registry, cache, ads
        self.mesh_config = mesh_config
        self.clock = clock
        self.resource_hook: ResourceHook | None = None
        #: Called after each push with its reason and the seconds since its first change.
        self.on_pushed: Callable[[str, float], None] | None = None
        self.pushes = 0
        self.last_push: PushRecord | None = None
        self._proxies: dict[str, _Connected] = {}
        self._context: PushContext | None = None
        #: What each store revision changed, until a push context covers it (see context).
        self._carries: dict[int, Carry] = {}
        self._carries_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._debouncer: Debouncer | None = None

    def start(self, quiet: float, max_delay: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._debouncer = Debouncer(self._push, self.clock, quiet, max_delay)
        self._debouncer.start()

    async def stop(self) -> None:
        if self._debouncer is not None:
            await self._debouncer.stop()

    # --- push contexts -------------------------------------------------------------------
    @property
    def context(self) -> PushContext:
        """The shared translation context of the current config and registry (reused until
        either changes, so proxies connecting in a burst share one snapshot).

        A new context takes over what the config changes since the previous one left valid
        (:class:`~sailmesh.controlplane.pushcache.Carry`), provided the registry view and the
        mesh settings are the same and every store revision in between was recorded."""
        view = self.registry.view()
        ctx = self._context
        current = ctx is not None and ctx.snapshot.registry is view
        if current and ctx is not None and ctx.snapshot.revision == self.store.revision:
            return ctx  # the common case (proxies connecting): nothing to read or sort
        revision, resources = self.store.snapshot()
        if ctx is None or ctx.snapshot.revision != revision or ctx.snapshot.registry is not view:
            mesh = self.mesh_config()
            snapshot = MeshSnapshot.build(resources, view, mesh, revision)
            carry = None
            if ctx is not None and ctx.snapshot.registry is view and ctx.snapshot.mesh == mesh:
                carry = self._carry_between(ctx.snapshot.revision, revision)
            ctx = self._context = PushContext(snapshot, ctx if carry else None, carry)
        return ctx

    def record_changes(self, events: Sequence[ChangeEvent]) -> None:
        """Remember what each store revision of ``events`` changed (for carrying results)."""
        carry = Carry.of((e.old, None if e.type == "DELETED" else e.resource) for e in events)
        with self._carries_lock:
            for revision in {e.revision for e in events}:
                self._carries[revision] = carry

    def _carry_between(self, old: int, new: int) -> Carry | None:
        """The changes of store revisions ``old`` (exclusive) to ``new`` (None: not all known)."""
        with self._carries_lock:
            for rev in [r for r in self._carries if r <= old]:
                del self._carries[rev]
            found = [self._carries.get(rev) for rev in range(old + 1, new + 1)]
        if new <= old or any(c is None for c in found):
            return None
        carry = Carry(frozenset())
        for c in found:
            assert c is not None
            carry = carry.merge(c)
        return carry

    # --- pushes --------------------------------------------------------------------------
    def _resources(self, conn: _Connected, ctx: PushContext) -> ResourceSnapshot:
        if (
            self.resource_hook is None
            and conn.proxy.type == "sidecar"
            and not has_patches(conn.proxy, ctx.snapshot)
        ):
            return ctx.resources(conn.proxy, conn.options)
        resources = generate(conn.proxy, ctx.snapshot, options=conn.options)
        if self.resource_hook is not None:
            resources = self.resource_hook(conn.proxy, resources)
        return ResourceSnapshot.build(resources)

    async def _push(self, request: PushRequest) -> None:
        """Compute every affected proxy's snapshot, then set them all at once (streams are
        woken after the last one is computed, each once)."""
        started = self.clock.monotonic()
        ctx = self.context
        computed = [
            (node_id, self._resources(conn, ctx))
            for node_id, conn in list(self._proxies.items())
            if request.affected_types(conn.proxy)
        ]
        self.cache.set_snapshots(computed)
        ctx.release()
        self.pushes += 1
        finished = self.clock.monotonic()
        self.last_push = PushRecord(request.reason, started, finished, len(computed))
        if self.on_pushed is not None and self._debouncer is not None:
            self.on_pushed(request.reason, finished - self._debouncer.pushing_since)

    def request_push(self, request: PushRequest) -> None:
        """Queue a push (thread-safe)."""
        if self._loop is None or self._debouncer is None:
            return
        debouncer = self._debouncer
        self._loop.call_soon_threadsafe(debouncer.submit, request)

    def refresh(self) -> None:
        """Re-translate every connected proxy now (after a test hook changed)."""
        self._context = None
        ctx = self.context
        self.cache.set_snapshots(
            [(node_id, self._resources(conn, ctx)) for node_id, conn in list(self._proxies.items())]
        )

    # --- proxies -------------------------------------------------------------------------
    def connect(self, node: Any) -> None:
        """A stream of Envoy ``node`` opened: serve its snapshot (before its first answer)."""
        conn = self._proxies.get(node.id)
        if conn is not None:
            conn.streams += 1
        else:
            try:
                conn = _Connected(
                    proxy_from_node(node),
                    options_from_node(node),
                    peer=peer_from_node(node.id, node_metadata(node)),
                )
            except ValueError as exc:
                log.warning("ignoring proxy with unusable node id: %s", exc)
                return
            self._proxies[node.id] = conn
        self.cache.set_snapshot(node.id, self._resources(conn, self.context))

    def disconnect(self, node: Any) -> None:
        conn = self._proxies.get(node.id)
        if conn is not None:
            conn.streams -= 1
            if conn.streams <= 0:
                del self._proxies[node.id]

    @property
    def connected(self) -> dict[str, Proxy]:
        """Connected proxies by node id."""
        return {k: v.proxy for k, v in self._proxies.items()}

    def peers(self) -> dict[str, tuple[str, Peer]]:
        """Connected proxies as telemetry names them, by node id."""
        return {k: v.peer for k, v in list(self._proxies.items()) if v.peer is not None}

    async def wait_synced(self, timeout: float = 10.0) -> bool:
        """Wait until no push is pending and every connected proxy has acknowledged its current
        config (CDS, EDS, LDS, RDS); ``False`` on timeout."""
        deadline = self.clock.monotonic() + timeout
        while self.clock.monotonic() < deadline:
            idle = self._debouncer is None or self._debouncer.idle
            statuses = self.ads.proxy_status()
            synced = all(
                str(st.state(t)) == "SYNCED"
                for st in statuses
                for t in (CLUSTER, ENDPOINT, LISTENER, ROUTE)
                # a type the proxy never asked for (a gateway without routes) is not waited on
                if t in (CLUSTER, LISTENER) or (t in st.types and st.types[t].subscribed)
            )
            if idle and synced and len(statuses) >= len(self._proxies):
                return True
            await self.clock.asleep(0.02)
        return False
