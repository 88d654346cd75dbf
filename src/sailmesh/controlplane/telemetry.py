"""The control plane's side of telemetry: who is who, and each proxy's merged metrics.

In: connected proxies (their node metadata), the registry's workloads and services, peers
the composition root adds (the local runtime's pods, with their owners), the Telemetry
objects and mesh config of the store; per scrape, a proxy's node id and the texts of its
Envoy's stats and its app's metrics. Out: the :class:`~sailmesh.telemetry.peers.PeerDirectory`
and the merged Prometheus text of :func:`sailmesh.telemetry.merge.merged_view`. The I/O (the
scrape itself, the HTTP endpoint) is the caller's.

Each proxy's raw counters are kept monotonic across its scrapes
(:mod:`sailmesh.telemetry.continuity`). Peers by address, first found wins: connected proxies (their ``WORKLOAD_NAME``, labels and
service account), then the added peers, then registry workloads (WorkloadEntries, named as
they are).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sailmesh.registry.model import frozen_map
from sailmesh.telemetry import exposition
from sailmesh.telemetry.aggregate import istio_families
from sailmesh.telemetry.continuity import Continuity
from sailmesh.telemetry.merge import merged_view
from sailmesh.telemetry.peers import Peer, PeerDirectory, ServiceName, peer_from_node
from sailmesh.telemetry.policy import MetricsPolicy, applicable, metrics_policy

if TYPE_CHECKING:
    from sailmesh.controlplane.server import ControlPlane

PeerSource = Callable[[], Iterable[tuple[str, Peer]]]
#: Seconds after which the counters of a proxy no longer connected nor scraped are forgotten.
FORGET_AFTER = 600.0


class TelemetryView:
    """Names peers and merges metrics for one control plane (thread-safe: it reads
    immutable views and the thread-safe store)."""

    def __init__(self, cp: ControlPlane, extra_peers: PeerSource | None = None) -> None:
        self.cp = cp
        self.extra_peers = extra_peers
        self._continuity: dict[str, tuple[Continuity, float]] = {}
        self._lock = threading.Lock()

    def _continuity_of(self, node_id: str) -> Continuity:
        """The proxy's counters across scrapes; those of proxies gone for ten minutes are
        forgotten."""
        now = self.cp.clock.monotonic()
        connected = self.cp.pusher.peers()
        with self._lock:
            found = self._continuity.get(node_id)
            state = found[0] if found is not None else Continuity()
            self._continuity[node_id] = (state, now)
            for other, (_, seen) in list(self._continuity.items()):
                if other not in connected and now - seen > FORGET_AFTER:
                    del self._continuity[other]
                    self.cp.tcp_bytes.forget(other)
            return state

    def directory(self) -> PeerDirectory:
        view = self.cp.registry.view()
        peers: list[tuple[str, Peer]] = list(self.cp.pusher.peers().values())
        if self.extra_peers is not None:
            peers += list(self.extra_peers())
        peers += [
            (w.address, Peer(w.name, w.namespace, frozen_map(w.labels), w.service_account))
            for w in view.workloads
        ]
        services = [
            (s.hostname, ServiceName(s.name or s.hostname, s.namespace)) for s in view.services
        ]
        return PeerDirectory.build(peers, services)

    def policy(self, peer: Peer | None) -> MetricsPolicy:
        """The metrics policy of a proxy (the Telemetry objects that apply to it)."""
        if peer is None:
            return MetricsPolicy()
        mesh = self.cp.mesh_config()
        telemetries = applicable(
            self.cp.store.list(kind="Telemetry"), mesh.root_namespace, peer.namespace, peer.labels
        )
        return metrics_policy(telemetries)

    def me(self, node_id: str, directory: PeerDirectory) -> Peer | None:
        """The proxy ``node_id`` names: as it connected, else whoever is at its address."""
        found = self.cp.pusher.peers().get(node_id) or peer_from_node(node_id, {})
        if found is None:
            return None
        address, peer = found
        if node_id in self.cp.pusher.peers():
            return peer
        return directory.peer(address) or peer

    def merged(self, node_id: str, envoy_text: str | None, app_text: str | None) -> str:
        """Proxy ``node_id``'s merged metrics view."""
        directory = self.directory()
        me = self.me(node_id, directory)
        policy = self.policy(me)
        extra = self.cp.tcp_bytes.families(node_id)
        return merged_view(
            envoy_text, app_text, me, directory, policy, self._continuity_of(node_id), extra
        )

    def istio(self, node_id: str, envoy_text: str) -> list[exposition.Family]:
        """Proxy ``node_id``'s Istio series alone (what the merged view starts with), for the
        dashboard's traffic samples; shares the proxy's counter continuity with the scrapes."""
        directory = self.directory()
        me = self.me(node_id, directory)
        parsed = exposition.parse(envoy_text) + self.cp.tcp_bytes.families(node_id)
        families = self._continuity_of(node_id).apply(parsed)
        return istio_families(families, me, directory, self.policy(me))
