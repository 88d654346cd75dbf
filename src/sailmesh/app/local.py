"""A local mesh: the control plane, its API and the pod runtime, wired together.

``LocalMesh.start(resources)`` prepares the runtime (which names the ADS socket the pods
reach), loads or creates the mesh's CA (:class:`~sailmesh.app.identity.MeshIdentity`:
``$SAILMESH_HOME/ca``, or a plug-in ``cacerts`` directory), starts the control plane and its API
(``$SAILMESH_HOME/run/api.sock``), the pods' merged-metrics endpoint
(:mod:`~sailmesh.app.telemetry`) and the runtime (whose node agents sign through the CA),
applies the manifests and runs their pods; later applies reconcile pods and gateway forwarders,
and a changed ``meshConfig.trustDomain`` re-issues the pods' certificates. ``stop`` ends every
process and removes every namespace, link, rule and file of
the run. The runtime learns about the mesh only through :class:`ControlPlaneLink`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sailmesh.app.addons import Addons, check_addons
from sailmesh.app.bootstrap import render_pod_bootstrap
from sailmesh.app.identity import MeshIdentity, cacerts_secret_warnings, trust_domains_of
from sailmesh.app.server import MeshServer
from sailmesh.app.telemetry import MeshMonitoring
from sailmesh.app.traffic import DEFAULT_INTERVAL, TrafficSampler
from sailmesh.config.meshconfig import mesh_config_document
from sailmesh.config.proxyconfig import default_proxy_config
from sailmesh.config.resource import Resource
from sailmesh.config.store import ChangeEvent
from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings
from sailmesh.dashboard.server import DEFAULT_PORT, DashboardServer
from sailmesh.dashboard.views import Sources
from sailmesh.registry.gateway_ports import gateway_listen_port
from sailmesh.registry.model import Workload, selector_matches
from sailmesh.runtime.agent.pods import IdentityIssuer
from sailmesh.runtime.host import GatewayPort, RuntimeHost
from sailmesh.runtime.local import LocalRuntime
from sailmesh.runtime.proxy import BootstrapRequest
from sailmesh.runtime.sandbox.forward import Forwarder
from sailmesh.runtime.sandbox.modes import Mode, ModeReport
from sailmesh.runtime.sandbox.netns import RunNames
from sailmesh.runtime.sandbox.servicelb import ServiceBackend
from sailmesh.runtime.sandbox.userns import UsernsNode
from sailmesh.snapshot.proxy import Proxy
from sailmesh.xds.envoyfilter.bootstrap import patch_bootstrap

log = logging.getLogger("sailmesh.app")

#: Kinds whose changes can change which pods run, or the ports a gateway pod serves.
RUNTIME_KINDS = frozenset({"Deployment", "Pod", "Service", "Namespace", "Gateway"})


class ControlPlaneLink:
    """The runtime's view of the control plane (:class:`sailmesh.runtime.host.MeshLink`)."""

    def __init__(self, cp: ControlPlane, identity: MeshIdentity | None = None) -> None:
        self.cp = cp
        self.identity = identity

    def resources(self) -> list[Resource]:
        return self.cp.store.list()

    def mesh_proxy_config(self) -> Mapping[str, Any]:
        return default_proxy_config(mesh_config_document(self.cp.store.list(kind="IstioOperator")))

    def vip_of(self, namespace: str, name: str) -> str | None:
        return self.cp.vips.allocate(namespace, name)

    def publish(self, workload: Workload | None, namespace: str, name: str) -> None:
        if workload is None:
            self.cp.registry.remove_workload(namespace, name)
        else:
            self.cp.registry.set_workload(workload)

    def gateway_ports(self, namespace: str, labels: Mapping[str, str]) -> list[tuple[int, int]]:
        """``(server port, listen port)`` of the Gateways selecting a gateway pod: the listen
        port is the targetPort of the pod's Service port (as the gateway's listeners bind)."""
        ports = {
            server.port.number
            for gw in self.cp.store.list(kind="Gateway")
            if selector_matches(gw.spec.selector or {}, labels)
            for server in (gw.spec.servers or [])
            if server.port is not None and server.port.number
        }
        services = self.cp.registry.view().services
        return [(p, gateway_listen_port(services, namespace, labels, p)) for p in sorted(ports)]

    def render_bootstrap(self, request: BootstrapRequest) -> dict[str, Any]:
        """The pod's bootstrap, with the BOOTSTRAP patches of the EnvoyFilters selecting it
        (they take effect when the proxy starts, as in Istio). Called from the runtime's threads:
        it reads the store and builds a snapshot of its own, never the pusher's state."""
        document = render_pod_bootstrap(request)
        if not self.cp.store.list(kind="EnvoyFilter"):
            return document
        proxy = Proxy.from_node(request.node_id, dict(request.labels), request.service_account)
        return patch_bootstrap(document, proxy, self.cp.snapshot())

    def identity_issuer(self) -> IdentityIssuer | None:
        return self.identity.issuer() if self.identity is not None else None

    def service_backends(self) -> list[ServiceBackend]:
        """Each Kubernetes Service port on its VIP with the addresses of its ready endpoints."""
        view = self.cp.registry.view()
        return [
            ServiceBackend(
                vip=service.vip,
                port=port.port,
                endpoints=tuple(
                    (ep.address, ep.port)
                    for ep in view.endpoints_for(service.hostname, port.port)
                    if ep.healthy
                ),
                name=f"{service.namespace}/{service.name}:{port.port}",
            )
            for service in view.services
            if service.origin == "kubernetes" and service.vip is not None
            for port in service.ports
        ]


class LocalMesh:
    def __init__(
        self,
        home: Path,
        mode: str | None = None,
        run_id: str | None = None,
        addons: Sequence[str] = (),
        scrape_interval: str = "5s",
        *,
        cacerts: Path | None = None,
        dashboard_port: int | None = DEFAULT_PORT,
        traffic_interval: float = DEFAULT_INTERVAL,
        otlp_forward: str | None = None,
    ) -> None:
        """``dashboard_port``: where the dashboard asks to listen on 127.0.0.1 (a free port
        when taken; 0: any; None: no dashboard); ``traffic_interval``: seconds between the
        control plane's traffic samples, which the dashboard shows."""
        self.home = home
        self.cacerts = cacerts
        #: An OTLP/HTTP endpoint the collector forwards the proxies' spans to (None: none).
        self.otlp_forward = otlp_forward
        self.host = RuntimeHost(mode, run_id)
        self.server: MeshServer | None = None
        self.monitoring: MeshMonitoring | None = None
        self.addon_names = tuple(addons)
        self.scrape_interval = scrape_interval
        self.addons: Addons | None = None
        self.identity: MeshIdentity | None = None
        self.dashboard_port = dashboard_port
        self.traffic_interval = traffic_interval
        self.sampler: TrafficSampler | None = None
        self.dashboard: DashboardServer | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # --- the parts -----------------------------------------------------------------------
    @property
    def cp(self) -> ControlPlane | None:
        return self.server.cp if self.server is not None else None

    @property
    def api(self) -> Any:
        """The API backend (:class:`sailmesh.app.backend.MeshApi`), once started."""
        return self.server.api if self.server is not None else None

    @property
    def api_socket(self) -> Path:
        return self.home / "run" / "api.sock"

    @property
    def runtime(self) -> LocalRuntime | None:
        return self.host.runtime

    @property
    def node(self) -> UsernsNode | None:
        return self.host.node

    @property
    def forwarders(self) -> dict[tuple[str, str, int, int], tuple[Forwarder | None, GatewayPort]]:
        return self.host.forwarders

    @property
    def mode(self) -> Mode:
        return self.host.mode

    @property
    def mode_report(self) -> ModeReport:
        return self.host.mode_report

    @property
    def limits(self) -> tuple[str, ...]:
        return self.host.limits

    @property
    def names(self) -> RunNames:
        return self.host.names

    def status(self) -> dict[str, Any]:
        return self.host.status()

    def runtime_call(self, what: str, query: dict[str, str]) -> dict[str, Any]:
        if what == "addons":
            urls = self.addons.urls() if self.addons is not None else {}
            if self.dashboard is not None:
                urls = {**urls, "sailmesh": self.dashboard.url.rstrip("/")}
            return {"addons": urls}
        return self.host.runtime_call(what, query)

    def wait_reconciled(self, timeout: float = 60.0) -> None:
        self.host.wait_reconciled(timeout)

    def check_addons(self) -> None:
        """Refuse, in one line, add-ons that cannot run here (before anything starts)."""
        check_addons(self.addon_names, self.host)

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self, resources: Sequence[Resource] = ()) -> None:
        self.check_addons()
        xds_socket = self.host.prepare()
        settings = ControlPlaneSettings(
            state_dir=self.home / "state", ads_address="127.0.0.1:0", ads_unix_path=str(xds_socket)
        )
        trust = trust_domains_of(mesh_config_document(resources))
        self.identity = await asyncio.to_thread(
            MeshIdentity, self.home, trust, cacerts=self.cacerts
        )
        for warning in cacerts_secret_warnings(resources):
            log.warning("%s", warning)
        self.server = MeshServer(settings, self.api_socket, runtime=self, identity=self.identity)
        await self.server.start()
        cp = self.server.cp
        cp.metrics.watch_certificates(self.identity.root_expiry, self.identity.chain_expiry)
        self.monitoring = MeshMonitoring(cp, self.host, self.otlp_forward)
        self.addons = Addons(self.host, self.monitoring, self.addon_names, self.scrape_interval)
        await self.monitoring.start()  # the pods' Envoys route their port 15020 to it
        await self.host.start(ControlPlaneLink(cp, self.identity))
        self.identity.pods = self.host.identities
        self._unsubscribe = cp.store.subscribe(self._on_store_events)
        # endpoints changed: pods without a sidecar re-balance their Service VIPs
        cp.registry.subscribe(self.host.request_reconcile)
        if resources:
            await asyncio.to_thread(cp.store.apply, list(resources))
        self.host.request_reconcile()
        await asyncio.to_thread(self.host.wait_reconciled)
        if not await cp.wait_synced(timeout=15):
            log.warning("not every proxy acknowledged its configuration yet")
        await self.addons.start()
        await self._start_dashboard(cp)

    async def _start_dashboard(self, cp: ControlPlane) -> None:
        """The traffic sampler and, unless disabled, the dashboard reading it."""
        assert self.monitoring is not None and self.server is not None
        self.sampler = TrafficSampler(
            self.monitoring.view, self.host.envoy_stats, self.traffic_interval
        )
        await self.sampler.start()
        if self.dashboard_port is None:
            return
        sources = Sources(cp, self.sampler.history, self.server.api, self.traffic_interval)
        self.dashboard = DashboardServer(sources, self.dashboard_port)
        await self.dashboard.start()

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self.dashboard is not None:
            await self.dashboard.stop()
        if self.sampler is not None:
            await self.sampler.stop()
        if self.addons is not None:
            await self.addons.stop()
        await self.host.stop()
        if self.monitoring is not None:
            await self.monitoring.stop()
        if self.server is not None:
            await self.server.stop()
        await self.host.cleanup()

    def _on_store_events(self, events: Sequence[ChangeEvent]) -> None:
        if any(e.resource.kind in RUNTIME_KINDS for e in events):
            self.host.request_reconcile()
        if self.identity is not None and any(e.resource.kind == "IstioOperator" for e in events):
            assert self.cp is not None
            mesh = mesh_config_document(self.cp.store.list(kind="IstioOperator"))
            self.identity.follow_mesh_config(mesh)
