"""The control plane: config store + registry + ADS, wired with debounce and push.

Changes (config applied through the API, registry updates from the runtime) become
:class:`~sailmesh.snapshot.push.PushRequest` values, are debounced, and each affected proxy
gets a freshly translated resource snapshot. Versions are content hashes, so a type whose
resources did not change is not resent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sailmesh import __version__
from sailmesh.ads.cache import SnapshotCache
from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, ResourceSnapshot
from sailmesh.ads.server import AdsServer
from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text
from sailmesh.config.resource import Resource
from sailmesh.config.store import ChangeEvent, ConfigStore, NotFoundError, StoreError
from sailmesh.controlplane.api import ApiServer
from sailmesh.controlplane.clock import Clock, RealClock
from sailmesh.controlplane.debounce import Debouncer
from sailmesh.controlplane.proxies import options_from_node, proxy_from_node
from sailmesh.controlplane.pushcache import Carry, PushContext
from sailmesh.controlplane.status import proxy_status_records
from sailmesh.controlplane.tuning import tune_for_serving
from sailmesh.controlplane.vips import VipAllocator
from sailmesh.errors import ApiError
from sailmesh.registry.registry import ServiceRegistry
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.push import PushRequest, ScopedChange
from sailmesh.snapshot.snapshot import MeshSnapshot, selector_labels
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.translate import translate

log = logging.getLogger("sailmesh.controlplane")


class RuntimeBackend(Protocol):
    """What a local runtime answers through the API (``/v1/runtime/<what>``)."""

    def runtime_call(self, what: str, query: dict[str, str]) -> dict[str, Any]: ...


ResourceHook = Callable[[Proxy, dict[str, dict[str, Any]]], dict[str, dict[str, Any]]]
"""Test-only: rewrites a proxy's translated resources before they are served."""


@dataclass(frozen=True)
class ControlPlaneSettings:
    state_dir: Path | None = None
    ads_address: str = "127.0.0.1:0"
    ads_unix_path: str | None = None
    api_socket: Path | None = None
    debounce_quiet: float = 0.1
    debounce_max: float = 10.0
    mesh: MeshConfig = field(default_factory=MeshConfig)


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


class ControlPlane:
    """One control plane instance. Start and stop it on an asyncio loop."""

    def __init__(self, settings: ControlPlaneSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or RealClock()
        self.store = ConfigStore(settings.state_dir)
        self.registry = ServiceRegistry()
        self.vips = VipAllocator()
        self.cache = SnapshotCache()
        self.ads = AdsServer(
            self.cache, on_connect=self._on_connect, on_disconnect=self._on_disconnect
        )
        self.resource_hook: ResourceHook | None = None
        self.runtime: RuntimeBackend | None = None
        self.on_shutdown: Callable[[], None] | None = None
        self.pushes = 0
        self.last_push: PushRecord | None = None
        self._proxies: dict[str, _Connected] = {}
        self._context: PushContext | None = None
        #: What each store revision changed, until a push context covers it (see _push_context).
        self._carries: dict[int, Carry] = {}
        self._carries_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._debouncer: Debouncer | None = None
        self._api: ApiServer | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> int:
        """Start serving; returns the ADS TCP port."""
        self._loop = asyncio.get_running_loop()
        self._debouncer = Debouncer(
            self._push, self.clock, self.settings.debounce_quiet, self.settings.debounce_max
        )
        self._debouncer.start()
        self._sync_registry(self.store.list())
        tune_for_serving()  # after the initial config is loaded: it is frozen out of GC scans
        self._unsubscribe = self.store.subscribe(self._on_store_events)
        self.registry.subscribe(self._on_registry_change)
        port = await self.ads.start(self.settings.ads_address, self.settings.ads_unix_path)
        if self.settings.api_socket is not None:
            self._api = ApiServer(self, self.settings.api_socket)
            self._api.start()
        return port

    async def stop(self) -> None:
        if self._api is not None:
            self._api.stop()
            self._api = None
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.ads.stop()
        if self._debouncer is not None:
            await self._debouncer.stop()

    # --- snapshots and pushes ------------------------------------------------------------
    def mesh_config(self) -> MeshConfig:
        """The settings' mesh config, overridden by an applied IstioOperator's meshConfig."""
        for op in self.store.list(kind="IstioOperator"):
            if op.spec.mesh_config:
                return MeshConfig.from_dict(op.spec.mesh_config)
        return self.settings.mesh

    def snapshot(self) -> MeshSnapshot:
        return MeshSnapshot.build(
            self.store.list(), self.registry.view(), self.mesh_config(), self.store.revision
        )

    def _push_context(self) -> PushContext:
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

    def _serve(self, node_id: str, conn: _Connected, ctx: PushContext) -> None:
        self.cache.set_snapshot(node_id, self._resources(conn, ctx))

    def _resources(self, conn: _Connected, ctx: PushContext) -> ResourceSnapshot:
        if self.resource_hook is None and conn.proxy.type == "sidecar":
            return ctx.resources(conn.proxy, conn.options)
        resources = translate(conn.proxy, ctx.snapshot, options=conn.options)
        if self.resource_hook is not None:
            resources = self.resource_hook(conn.proxy, resources)
        return ResourceSnapshot.build(resources)

    async def _push(self, request: PushRequest) -> None:
        """Compute every affected proxy's snapshot, then set them all at once (streams are
        woken after the last one is computed, each once)."""
        started = self.clock.now()
        ctx = self._push_context()
        computed = [
            (node_id, self._resources(conn, ctx))
            for node_id, conn in list(self._proxies.items())
            if request.affected_types(conn.proxy)
        ]
        self.cache.set_snapshots(computed)
        ctx.release()
        self.pushes += 1
        self.last_push = PushRecord(request.reason, started, self.clock.now(), len(computed))

    def request_push(self, request: PushRequest) -> None:
        """Queue a push (thread-safe)."""
        if self._loop is None or self._debouncer is None:
            return
        debouncer = self._debouncer
        self._loop.call_soon_threadsafe(debouncer.submit, request)

    def refresh(self) -> None:
        """Re-translate every connected proxy now (after a test hook changed)."""
        self._context = None
        ctx = self._push_context()
        self.cache.set_snapshots(
            [(node_id, self._resources(conn, ctx)) for node_id, conn in list(self._proxies.items())]
        )

    def _on_connect(self, node: Any) -> None:
        conn = self._proxies.get(node.id)
        if conn is not None:
            conn.streams += 1
        else:
            try:
                conn = _Connected(proxy_from_node(node), options_from_node(node))
            except ValueError as exc:
                log.warning("ignoring proxy with unusable node id: %s", exc)
                return
            self._proxies[node.id] = conn
        self._serve(node.id, conn, self._push_context())

    def _on_disconnect(self, node: Any) -> None:
        conn = self._proxies.get(node.id)
        if conn is not None:
            conn.streams -= 1
            if conn.streams <= 0:
                del self._proxies[node.id]

    async def wait_synced(self, timeout: float = 10.0) -> bool:
        """Wait until no push is pending and every connected proxy has acknowledged its current
        config (CDS, EDS, LDS, RDS); ``False`` on timeout."""
        deadline = self.clock.now() + timeout
        while self.clock.now() < deadline:
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
            await self.clock.sleep(0.02)
        return False

    @property
    def connected(self) -> dict[str, Proxy]:
        """Connected proxies by node id."""
        return {k: v.proxy for k, v in self._proxies.items()}

    # --- change feeds --------------------------------------------------------------------
    def _on_store_events(self, events: Sequence[ChangeEvent]) -> None:
        carry = Carry.of((e.old, None if e.type == "DELETED" else e.resource) for e in events)
        with self._carries_lock:
            for revision in {e.revision for e in events}:
                self._carries[revision] = carry
        self._sync_registry(
            [e.resource for e in events],
            deleted=[e.old for e in events if e.type == "DELETED" and e.old],
        )
        changes = tuple(
            ScopedChange(e.resource.key, (selector_labels(e.old), selector_labels(e.resource)))
            for e in events
        )
        self.request_push(
            PushRequest(
                changes=changes, reason="config", root_namespace=self.mesh_config().root_namespace
            )
        )

    def _on_registry_change(self) -> None:
        self.request_push(PushRequest(full=True, reason="registry"))

    def _sync_registry(self, changed: Sequence[Resource], deleted: Sequence[Resource] = ()) -> None:
        kinds = {r.kind for r in changed}
        for r in deleted:
            if r.kind == "Service":
                self.registry.remove_kubernetes_service(r.namespace, r.name)
                self.vips.release(r.namespace, r.name)
        deleted_keys = {r.key for r in deleted}
        for r in changed:
            if r.kind == "Service" and r.key not in deleted_keys:
                vip = self.vips.allocate(r.namespace, r.name, r.body.spec.cluster_ip)  # type: ignore[attr-defined]
                self.registry.set_kubernetes_service(r, vip)
        if kinds & {"ServiceEntry", "WorkloadEntry"}:
            self.registry.set_mesh_config(
                self.store.list(kind="ServiceEntry"), self.store.list(kind="WorkloadEntry")
            )

    # --- the API backend ---------------------------------------------------------------------
    def version(self) -> dict[str, Any]:
        return {"version": __version__, "revision": self.store.revision}

    def apply_yaml(self, text: str, file: str, namespace: str) -> dict[str, Any]:
        result = load_text(text, file, namespace)
        problems = [str(p) for p in result.problems]
        if not result.ok:
            raise ApiError(
                422, {"error": "invalid configuration; nothing was applied", "problems": problems}
            )
        try:
            outcomes = self.store.apply(result.resources)
        except StoreError as exc:
            raise ApiError(409, {"error": str(exc)}) from exc
        return {
            "outcomes": [str(o) for o in outcomes],
            "warnings": [str(p) for p in result.problems if p.level is Level.WARNING],
        }

    def delete_yaml(
        self, text: str, file: str, namespace: str, ignore_not_found: bool
    ) -> dict[str, Any]:
        result = load_text(text, file, namespace)
        keys = [r.key for r in result.resources]
        if not result.ok and not keys:
            raise ApiError(
                422,
                {
                    "error": "cannot read objects to delete",
                    "problems": [str(p) for p in result.problems],
                },
            )
        try:
            outcomes = self.store.delete(keys, ignore_not_found=ignore_not_found)
        except NotFoundError as exc:
            raise ApiError(404, {"error": str(exc)}) from exc
        return {"outcomes": [str(o) for o in outcomes]}

    def get_config(
        self, kind: str | None, namespace: str | None, name: str | None
    ) -> dict[str, Any]:
        items = [
            r
            for r in self.store.list(kind=kind, namespace=namespace)
            if name is None or r.name == name
        ]
        return {"items": [r.to_dict() for r in items]}

    def runtime_call(self, what: str, query: dict[str, str]) -> dict[str, Any]:
        if self.runtime is None:
            raise ApiError(
                404, {"error": "no local runtime in this control plane (sailctl up runs one)"}
            )
        return self.runtime.runtime_call(what, query)

    def shutdown(self) -> dict[str, Any]:
        if self.on_shutdown is None:
            raise ApiError(400, {"error": "this control plane cannot be shut down through the API"})
        self.on_shutdown()
        return {"status": "shutting down"}

    def proxies(self) -> dict[str, Any]:
        """Sync status of every connected proxy (``sailctl proxy-status``)."""
        return {"proxies": proxy_status_records(self.ads.proxy_status()), "version": __version__}
