"""EDS: a ClusterLoadAssignment per outbound EDS cluster (subset clusters filter by labels).

Endpoints are grouped by locality (``region/zone/subzone``), with the priorities and weights of
locality load balancing (:mod:`sailmesh.xds.locality`); each endpoint carries its weight, health
status and ``filter_metadata.istio``: ``workload`` in Istio's
``<name>;<namespace>;<canonical name>;<canonical revision>;<cluster>`` form and the workload's
``labels`` (for tooling and subset debugging). Unhealthy endpoints are sent as ``UNHEALTHY``.

A workload labelled ``security.istio.io/tlsMode`` (its sidecar accepts Istio mutual TLS) also
gets ``filter_metadata["envoy.transport_socket_match"] = {tlsMode: <value>}``, which the
``transport_socket_matches`` of auto-mTLS clusters select on (:mod:`sailmesh.xds.cluster_tls`);
``disabled`` (or no label) means plaintext, as in Istio.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from envoy.config.core.v3 import base_pb2, health_check_pb2
from envoy.config.endpoint.v3 import endpoint_components_pb2 as ep_pb2
from envoy.config.endpoint.v3 import endpoint_pb2

from sailmesh.registry.model import TLS_MODE_LABEL, Endpoint
from sailmesh.xds import names, pb
from sailmesh.xds.locality import (
    LocalityContext,
    apply_locality,
    effective_setting,
    group_by_locality,
)
from sailmesh.xds.plan import ClusterSpec, cluster_specs
from sailmesh.xds.scope import ProxyScope

CLUSTER_ID = "Kubernetes"
#: The tlsMode label value that means "no sidecar accepting mutual TLS".
TLS_MODE_DISABLED = "disabled"


def _locality(text: str) -> base_pb2.Locality:
    parts = ([*text.split("/"), "", "", ""])[:3]
    return base_pb2.Locality(region=parts[0], zone=parts[1], sub_zone=parts[2])


def _workload_id(ep: Endpoint) -> str:
    labels = ep.labels
    canonical = labels.get("service.istio.io/canonical-name") or labels.get("app") or ep.workload
    revision = (
        labels.get("service.istio.io/canonical-revision") or labels.get("version") or "latest"
    )
    return f"{ep.workload};{ep.namespace};{canonical};{revision};{CLUSTER_ID}"


def lb_endpoint(ep: Endpoint, with_metadata: bool = True) -> ep_pb2.LbEndpoint:
    """One endpoint with weight, health status and Istio metadata."""
    out = ep_pb2.LbEndpoint(
        endpoint=ep_pb2.Endpoint(address=pb.socket_address(ep.address, ep.port)),
        health_status=(
            health_check_pb2.HealthStatus.HEALTHY
            if ep.healthy
            else health_check_pb2.HealthStatus.UNHEALTHY
        ),
        load_balancing_weight=pb.u32(max(ep.weight, 1)),
    )
    if with_metadata and ep.workload:
        out.metadata.CopyFrom(
            pb.istio_metadata({"workload": _workload_id(ep), "labels": dict(ep.labels)})
        )
        tls_mode = ep.labels.get(TLS_MODE_LABEL, TLS_MODE_DISABLED)
        if tls_mode != TLS_MODE_DISABLED:
            match = out.metadata.filter_metadata[names.TRANSPORT_SOCKET_MATCH_KEY]
            match.fields[names.TLS_MODE_KEY].string_value = tls_mode
    return out


def select(endpoints: Iterable[Endpoint], labels: Mapping[str, str]) -> list[Endpoint]:
    """Endpoints whose labels include every ``labels`` pair (all of them when empty)."""
    items = labels.items()
    return [ep for ep in endpoints if all(ep.labels.get(k) == v for k, v in items)]


def load_assignment(
    cluster: str,
    endpoints: Iterable[Endpoint],
    cache: dict[Endpoint, ep_pb2.LbEndpoint] | None = None,
    locality: LocalityContext | None = None,
) -> endpoint_pb2.ClusterLoadAssignment:
    """A ClusterLoadAssignment grouping ``endpoints`` by locality, in a stable order, with the
    priorities and weights of locality load balancing when ``locality`` says so.

    ``cache`` reuses built LbEndpoints (an endpoint usually appears in a service's cluster and
    in one subset cluster); messages are copied into the assignment.
    """
    if cache is None:
        cache = {}
    cla = endpoint_pb2.ClusterLoadAssignment(cluster_name=cluster)
    groups = group_by_locality(endpoints)
    if locality is not None:
        groups = apply_locality(groups, locality)
    for found in groups:
        group = cla.endpoints.add()
        if found.locality:
            group.locality.CopyFrom(_locality(found.locality))
        for ep in found.endpoints:
            built = cache.get(ep)
            if built is None:
                built = cache[ep] = lb_endpoint(ep)
            group.lb_endpoints.append(built)
        group.load_balancing_weight.value = found.weight
        group.priority = found.priority
    return cla


def locality_context(scope: ProxyScope, spec: ClusterSpec) -> LocalityContext | None:
    """What locality load balancing needs for ``spec`` seen from the scope's proxy (None when
    it is off for the cluster)."""
    lb = spec.policy.load_balancer
    setting = effective_setting(
        scope.snapshot.mesh.locality_lb_setting,
        lb.locality_lb_setting if lb is not None else None,
    )
    if setting is None:
        return None
    proxy = scope.proxy
    return LocalityContext(
        proxy.locality, proxy.labels, setting, spec.policy.outlier_detection is not None
    )


def spec_endpoints(scope: ProxyScope, spec: ClusterSpec) -> list[Endpoint]:
    """The registry endpoints of a cluster spec, filtered by its subset labels."""
    found = scope.snapshot.registry.endpoints_for(spec.service.hostname, spec.port.port)
    return select(found, spec.labels) if spec.labels else list(found)


def dns_load_assignment(scope: ProxyScope, spec: ClusterSpec) -> endpoint_pb2.ClusterLoadAssignment:
    """Inline endpoints of a DNS cluster: the ServiceEntry's endpoints, else the host itself."""
    found = spec_endpoints(scope, spec)
    if not found:
        found = [
            Endpoint(
                hostname=spec.service.hostname,
                service_port=spec.port,
                address=spec.service.hostname,
                port=_target(spec),
            )
        ]
    if spec.discovery == "LOGICAL_DNS":
        found = found[:1]
    return load_assignment(spec.name, found, locality=locality_context(scope, spec))


def _target(spec: ClusterSpec) -> int:
    target = spec.port.target_port
    return target if isinstance(target, int) and target else spec.port.port


def build_endpoints(scope: ProxyScope) -> dict[str, endpoint_pb2.ClusterLoadAssignment]:
    """EDS resources: one ClusterLoadAssignment per EDS cluster of the scope."""
    cache: dict[Endpoint, ep_pb2.LbEndpoint] = {}
    return {
        spec.name: load_assignment(
            spec.name, spec_endpoints(scope, spec), cache, locality_context(scope, spec)
        )
        for spec in cluster_specs(scope)
        if spec.discovery == "EDS"
    }
