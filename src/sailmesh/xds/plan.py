"""Which outbound clusters a sidecar gets: one per visible service port, one per subset.

Both the cluster translator (CDS) and the endpoint translator (EDS) read this plan, so the two
always agree on names and on which clusters take their endpoints over EDS.

Discovery type by service resolution (Istio's mapping):

- ``STATIC`` (Kubernetes services, ServiceEntry with static endpoints) -> ``EDS`` over ADS;
- ``DNS`` -> ``STRICT_DNS``; ``DNS_ROUND_ROBIN`` -> ``LOGICAL_DNS`` (endpoints inline);
- ``NONE`` (and ``loadBalancer.simple: PASSTHROUGH``) -> ``ORIGINAL_DST``.

Wildcard hosts with DNS resolution cannot be resolved and are skipped; UDP ports are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sailmesh.config.resource import Resource
from sailmesh.registry.model import FrozenMap, Service, ServicePort
from sailmesh.xds import names
from sailmesh.xds.inbound_plan import InboundPort, inbound_ports
from sailmesh.xds.policy import EffectivePolicy, effective_policy, subset_labels, subset_names
from sailmesh.xds.scope import ProxyScope, port_kind

__all__ = [
    "ClusterSpec",
    "Discovery",
    "InboundPort",
    "cluster_specs",
    "discovery_for",
    "inbound_ports",
]

Discovery = Literal["EDS", "STRICT_DNS", "LOGICAL_DNS", "ORIGINAL_DST"]


@dataclass(frozen=True)
class ClusterSpec:
    """Everything needed to build one outbound cluster and its endpoints."""

    name: str
    service: Service
    port: ServicePort
    subset: str
    labels: FrozenMap[str, str]
    discovery: Discovery
    policy: EffectivePolicy
    rule: Resource | None


def discovery_for(service: Service, policy: EffectivePolicy) -> Discovery | None:
    """The discovery type for a service (None when it cannot be translated)."""
    lb = policy.load_balancer
    if lb is not None and lb.simple == "PASSTHROUGH":
        return "ORIGINAL_DST"
    resolution = str(service.resolution)
    if resolution == "NONE":
        return "ORIGINAL_DST"
    if resolution in ("DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"):
        if "*" in service.hostname:
            return None
        return "LOGICAL_DNS" if resolution == "DNS_ROUND_ROBIN" else "STRICT_DNS"
    return "EDS"


def cluster_specs(scope: ProxyScope) -> list[ClusterSpec]:
    """All outbound cluster specs of the scope, ordered by host, port, subset (memoized)."""
    cached = scope.memo.get("cluster_specs")
    if cached is not None:
        return list(cached)
    specs: list[ClusterSpec] = []
    for service in scope.services:
        rule = scope.destination_rule(service.hostname)
        for port in service.ports:
            if port_kind(port) == "udp":
                continue
            for subset in ["", *subset_names(rule)]:
                policy = effective_policy(rule, subset, port.port)
                discovery = discovery_for(service, policy)
                if discovery is None:
                    continue
                specs.append(
                    ClusterSpec(
                        name=names.outbound_cluster(port.port, subset, service.hostname),
                        service=service,
                        port=port,
                        subset=subset,
                        labels=subset_labels(rule, subset) if subset else FrozenMap(),
                        discovery=discovery,
                        policy=policy,
                        rule=rule,
                    )
                )
    scope.memo["cluster_specs"] = tuple(specs)
    return specs
