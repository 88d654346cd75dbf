"""The control plane's side of telemetry: who is who, and each proxy's merged metrics.

In: connected proxies (their node metadata), the registry's workloads and services, peers
the composition root adds (the local runtime's pods, with their owners), the Telemetry
objects and mesh config of the store; per scrape, a proxy's node id and the texts of its
Envoy's stats and its app's metrics. Out: the :class:`~sailmesh.telemetry.peers.PeerDirectory`
and the merged Prometheus text of :func:`sailmesh.telemetry.merge.merged_view`. The I/O (the
scrape itself, the HTTP endpoint) is the caller's.

Peers by address, first found wins: connected proxies (their ``WORKLOAD_NAME``, labels and
service account), then the added peers, then registry workloads (WorkloadEntries, named as
they are).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sailmesh.registry.model import frozen_map
from sailmesh.telemetry.merge import merged_view
from sailmesh.telemetry.peers import Peer, PeerDirectory, ServiceName, peer_from_node
from sailmesh.telemetry.policy import MetricsPolicy, applicable, metrics_policy

if TYPE_CHECKING:
    from sailmesh.controlplane.server import ControlPlane

PeerSource = Callable[[], Iterable[tuple[str, Peer]]]


class TelemetryView:
    """Names peers and merges metrics for one control plane (thread-safe: it reads
    immutable views and the thread-safe store)."""

    def __init__(self, cp: ControlPlane, extra_peers: PeerSource | None = None) -> None:
        self.cp = cp
        self.extra_peers = extra_peers

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
        return merged_view(envoy_text, app_text, me, directory, self.policy(me))
