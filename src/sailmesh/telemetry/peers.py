"""Who is at an address, and what a service host is called: the directory the merged view
names peers with.

In: :class:`Peer` values (from connected proxies' node metadata, see :func:`peer_from_node`,
and from the registry's workloads) and service hosts. Out: lookups by address and by host,
and Istio's derived names (canonical service and revision, app, version) with Istio's
fallbacks (``unknown``, ``latest``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sailmesh.telemetry.standard import DEFAULT_CLUSTER_ID, LATEST, UNKNOWN

CANONICAL_NAME_LABELS = ("service.istio.io/canonical-name", "app.kubernetes.io/name", "app")
CANONICAL_REVISION_LABELS = (
    "service.istio.io/canonical-revision",
    "app.kubernetes.io/version",
    "version",
)


@dataclass(frozen=True)
class Peer:
    """A workload instance as Istio's labels describe it."""

    workload: str
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    service_account: str = ""
    cluster: str = DEFAULT_CLUSTER_ID

    @property
    def canonical_service(self) -> str:
        return _first(self.labels, CANONICAL_NAME_LABELS) or self.workload or UNKNOWN

    @property
    def canonical_revision(self) -> str:
        return _first(self.labels, CANONICAL_REVISION_LABELS) or LATEST

    @property
    def app(self) -> str:
        return self.labels.get("app") or UNKNOWN

    @property
    def version(self) -> str:
        return self.labels.get("version") or UNKNOWN


def _first(labels: Mapping[str, str], keys: Iterable[str]) -> str:
    return next((labels[k] for k in keys if labels.get(k)), "")


@dataclass(frozen=True)
class ServiceName:
    """A service host's short name and namespace (``reviews``, ``default``)."""

    name: str
    namespace: str


@dataclass(frozen=True)
class PeerDirectory:
    """Peers by address and services by host; the first entry for an address wins."""

    peers: Mapping[str, Peer] = field(default_factory=dict)
    services: Mapping[str, ServiceName] = field(default_factory=dict)

    @classmethod
    def build(
        cls, peers: Iterable[tuple[str, Peer]], services: Iterable[tuple[str, ServiceName]] = ()
    ) -> PeerDirectory:
        by_address: dict[str, Peer] = {}
        for address, peer in peers:
            by_address.setdefault(address, peer)
        return cls(by_address, dict(services))

    def peer(self, address: str) -> Peer | None:
        return self.peers.get(address) if address else None

    def service(self, host: str) -> ServiceName | None:
        found = self.services.get(host)
        if found is not None or not host:
            return found
        parts = host.split(".")
        if len(parts) >= 3 and parts[2] == "svc":  # name.namespace.svc.<domain>
            return ServiceName(parts[0], parts[1])
        return None


def peer_from_node(node_id: str, metadata: Mapping[str, Any]) -> tuple[str, Peer] | None:
    """The address and peer an Envoy node describes (Istio's node metadata keys
    ``WORKLOAD_NAME``, ``NAMESPACE``, ``LABELS``, ``SERVICE_ACCOUNT``, ``CLUSTER_ID``), or None
    when the node id is not ``<type>~<ip>~<pod>.<namespace>~<domain>``."""
    parts = node_id.split("~")
    if len(parts) != 4:
        return None
    pod, _, pod_namespace = parts[2].rpartition(".")
    namespace = str(metadata.get("NAMESPACE") or pod_namespace)
    labels = {str(k): str(v) for k, v in (metadata.get("LABELS") or {}).items()}
    workload = str(metadata.get("WORKLOAD_NAME") or pod)
    peer = Peer(
        workload=workload,
        namespace=namespace,
        labels=labels,
        service_account=str(metadata.get("SERVICE_ACCOUNT") or ""),
        cluster=str(metadata.get("CLUSTER_ID") or DEFAULT_CLUSTER_ID),
    )
    return parts[1], peer
