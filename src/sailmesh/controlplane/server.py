"""The control plane: config store + registry + ADS, wired with registry sync, debounce and push.

Changes (config applied to the store, registry updates from the runtime) become
:class:`~sailmesh.snapshot.push.PushRequest` values, are debounced, and each affected proxy
gets a freshly translated resource snapshot (:class:`~sailmesh.controlplane.pusher.Pusher`).
Versions are content hashes, so a type whose resources did not change is not resent. The
roles live in their own modules: :mod:`~sailmesh.controlplane.pusher` (pushing),
:mod:`~sailmesh.controlplane.registry_sync` (store -> registry); the API that fronts this is
the composition root's (:mod:`sailmesh.app`). ``traces`` keeps the spans the proxies report
(:class:`~sailmesh.telemetry.traces.TraceStore`), fed by the OTLP/gRPC receiver served next to
ADS (:mod:`~sailmesh.controlplane.otlp_receiver`) and the composition root's OTLP/HTTP one;
``tcp_bytes`` the TCP bytes proxies report periodically, fed by the access-log receiver also
served next to ADS (:mod:`~sailmesh.controlplane.als_receiver`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sailmesh.ads.cache import SnapshotCache
from sailmesh.ads.server import AdsServer
from sailmesh.clock import SYSTEM_CLOCK, Clock
from sailmesh.config.meshconfig import mesh_config_document
from sailmesh.config.store import ChangeEvent, ConfigStore
from sailmesh.controlplane.als_receiver import AccessLogReceiver
from sailmesh.controlplane.metrics import ControlPlaneMetrics
from sailmesh.controlplane.otlp_receiver import OtlpGrpcReceiver
from sailmesh.controlplane.pushcache import PushContext
from sailmesh.controlplane.pusher import Pusher, PushRecord, ResourceHook
from sailmesh.controlplane.registry_sync import RegistrySync
from sailmesh.controlplane.status import proxy_status_records
from sailmesh.controlplane.tuning import tune_for_serving
from sailmesh.controlplane.vips import VipAllocator
from sailmesh.registry.registry import ServiceRegistry
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.push import PushRequest, ScopedChange
from sailmesh.snapshot.snapshot import MeshSnapshot, selector_labels
from sailmesh.telemetry.tcp_periodic import TcpByteLedger
from sailmesh.telemetry.traces import TraceStore

__all__ = ["ControlPlane", "ControlPlaneSettings", "PushRecord", "ResourceHook"]


@dataclass(frozen=True)
class ControlPlaneSettings:
    state_dir: Path | None = None
    ads_address: str = "127.0.0.1:0"
    ads_unix_path: str | None = None
    debounce_quiet: float = 0.1
    debounce_max: float = 10.0
    mesh: MeshConfig = field(default_factory=MeshConfig)


class ControlPlane:
    """One control plane instance. Start and stop it on an asyncio loop."""

    def __init__(self, settings: ControlPlaneSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SYSTEM_CLOCK
        self.store = ConfigStore(settings.state_dir)
        self.registry = ServiceRegistry()
        self.vips = VipAllocator()
        self.cache = SnapshotCache()
        self.metrics = ControlPlaneMetrics()
        self.traces = TraceStore()
        self.otlp = OtlpGrpcReceiver(self.traces)
        self.tcp_bytes = TcpByteLedger()
        self.access_logs = AccessLogReceiver(self.tcp_bytes)
        self.ads = AdsServer(
            self.cache,
            on_connect=self.connect,
            on_disconnect=self.disconnect,
            observer=self.metrics,
            services={**self.otlp.services(), **self.access_logs.services()},
        )
        self.pusher = Pusher(
            self.store, self.registry, self.cache, self.ads, self.mesh_config, self.clock
        )
        self.pusher.on_pushed = self._pushed
        self.metrics.watch(
            streams=lambda: len(self.ads.proxy_status()),
            services=lambda: len(self.registry.view().services),
            virtual_services=lambda: len(self.store.list(kind="VirtualService")),
        )
        self.registry_sync = RegistrySync(self.store, self.registry, self.vips)
        self._unsubscribe: Callable[[], None] | None = None

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> int:
        """Start serving; returns the ADS TCP port."""
        self.pusher.start(self.settings.debounce_quiet, self.settings.debounce_max)
        self.registry_sync.sync(self.store.list())
        tune_for_serving()  # after the initial config is loaded: it is frozen out of GC scans
        self._unsubscribe = self.store.subscribe(self._on_store_events)
        self.registry.subscribe(self._on_registry_change)
        return await self.ads.start(self.settings.ads_address, self.settings.ads_unix_path)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self.ads.stop()
        await self.pusher.stop()

    # --- views ---------------------------------------------------------------------------
    def mesh_config(self) -> MeshConfig:
        """The settings' mesh config, overridden by an applied IstioOperator's meshConfig."""
        document = mesh_config_document(self.store.list(kind="IstioOperator"))
        return MeshConfig.from_dict(dict(document)) if document else self.settings.mesh

    def snapshot(self) -> MeshSnapshot:
        return MeshSnapshot.build(
            self.store.list(), self.registry.view(), self.mesh_config(), self.store.revision
        )

    @property
    def push_context(self) -> PushContext:
        """The shared translation context of the current config and registry."""
        return self.pusher.context

    @property
    def connected(self) -> dict[str, Proxy]:
        """Connected proxies by node id."""
        return self.pusher.connected

    def proxy_status(self) -> list[dict[str, Any]]:
        """Sync status of every connected proxy, one record each (``sailctl proxy-status``)."""
        return proxy_status_records(self.ads.proxy_status())

    # --- pushing (see Pusher) ------------------------------------------------------------
    @property
    def resource_hook(self) -> ResourceHook | None:
        return self.pusher.resource_hook

    @resource_hook.setter
    def resource_hook(self, hook: ResourceHook | None) -> None:
        self.pusher.resource_hook = hook

    @property
    def pushes(self) -> int:
        return self.pusher.pushes

    @property
    def last_push(self) -> PushRecord | None:
        return self.pusher.last_push

    def connect(self, node: Any) -> None:
        """Envoy ``node`` opened a stream (the ADS server's hook; tests call it directly)."""
        self.pusher.connect(node)

    def disconnect(self, node: Any) -> None:
        self.pusher.disconnect(node)

    def request_push(self, request: PushRequest) -> None:
        """Queue a push (thread-safe)."""
        self.pusher.request_push(request)

    def refresh(self) -> None:
        """Re-translate every connected proxy now (after a test hook changed)."""
        self.pusher.refresh()

    async def wait_synced(self, timeout: float = 10.0) -> bool:
        """Wait until no push is pending and every connected proxy acknowledged its config."""
        return await self.pusher.wait_synced(timeout)

    # --- change feeds --------------------------------------------------------------------
    def _pushed(self, reason: str, seconds: float) -> None:
        reasons = sorted({r.strip() for r in reason.split(",") if r.strip()} or {"unknown"})
        self.metrics.pushed(reasons, seconds)

    def _on_store_events(self, events: Sequence[ChangeEvent]) -> None:
        self.metrics.config_changed(events)
        self.pusher.record_changes(events)
        self.registry_sync.sync(
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
