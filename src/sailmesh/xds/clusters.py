"""CDS: outbound service clusters, the special clusters, and inbound clusters of a sidecar.

- ``outbound|<port>|<subset>|<host>`` per visible service port and DestinationRule subset
  (EDS over ADS with ``service_name`` = the cluster name; DNS and ORIGINAL_DST per
  :mod:`sailmesh.xds.plan`), with the DestinationRule's policy applied and
  ``filter_metadata.istio`` naming the rule (``config``) and the service (``services``);
- ``PassthroughCluster`` (ORIGINAL_DST) and ``BlackHoleCluster`` (STATIC, no endpoints);
- ``inbound|<targetPort>||`` (STATIC to 127.0.0.1:<targetPort>, source 127.0.0.6 in REDIRECT
  mode so the capture rules let it through) and ``InboundPassthroughCluster`` (ORIGINAL_DST,
  source 127.0.0.6).

Every cluster's connect timeout is the mesh's ``connectTimeout`` (10 s by default, as Istio's
``buildCluster``; a DestinationRule's ``connectionPool.tcp.connectTimeout`` overrides it on its
clusters); outbound and inbound clusters get the mesh's ``tcpKeepalive`` under the rule's, and
outbound HTTP clusters its ``h2UpgradePolicy`` (:mod:`sailmesh.xds.cluster_policy`). Stats rely on the bootstrap's ``cluster_name`` tag
extraction (no ``alt_stat_name``). Outbound clusters get their TLS (auto mTLS, DestinationRule
``tls``) from :mod:`sailmesh.xds.cluster_tls`; inbound clusters reach the app in plaintext.
"""

from __future__ import annotations

from typing import Any

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import address_pb2, base_pb2
from envoy.config.endpoint.v3 import endpoint_components_pb2, endpoint_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2 as hpo_pb2

from sailmesh.config.resource import Resource
from sailmesh.registry.model import HTTP_PROTOCOLS, Endpoint, Service, ServicePort
from sailmesh.snapshot.mesh_defaults import DEFAULT_CONNECT_TIMEOUT_NANOS
from sailmesh.xds import names, pb
from sailmesh.xds.cluster_policy import (
    HTTP_PROTOCOL_OPTIONS,
    apply_connection_pool,
    apply_policy,
    default_thresholds,
    http_protocol_options,
)
from sailmesh.xds.cluster_tls import apply_cluster_tls
from sailmesh.xds.endpoints import dns_load_assignment, load_assignment, locality_context
from sailmesh.xds.locality import needs_locality_weights
from sailmesh.xds.options import DEFAULT_OPTIONS, TranslateOptions
from sailmesh.xds.plan import ClusterSpec, InboundPort, cluster_specs, inbound_ports
from sailmesh.xds.proxy_protocol import apply_proxy_protocol
from sailmesh.xds.scope import ProxyScope, port_kind

_TYPES = {
    "EDS": cluster_pb2.Cluster.EDS,
    "STRICT_DNS": cluster_pb2.Cluster.STRICT_DNS,
    "LOGICAL_DNS": cluster_pb2.Cluster.LOGICAL_DNS,
    "ORIGINAL_DST": cluster_pb2.Cluster.ORIGINAL_DST,
}


def _base(
    name: str,
    kind: cluster_pb2.Cluster.DiscoveryType.ValueType,
    connect_timeout_nanos: int = DEFAULT_CONNECT_TIMEOUT_NANOS,
) -> cluster_pb2.Cluster:
    return cluster_pb2.Cluster(
        name=name, type=kind, connect_timeout=pb.duration(connect_timeout_nanos)
    )


def _metadata(service: Service, rule: Resource | None) -> base_pb2.Metadata:
    meta: dict[str, object] = {
        "services": [
            {"host": service.hostname, "name": service.name, "namespace": service.namespace}
        ]
    }
    if rule is not None:
        meta["config"] = names.config_path(rule)
    return pb.istio_metadata(meta)


def _cached_metadata(scope: ProxyScope, spec: ClusterSpec) -> base_pb2.Metadata:
    """Cluster metadata, shared by a service's clusters (memoized on the scope)."""
    cache: dict[tuple[str, str, int], base_pb2.Metadata] = scope.memo.setdefault("cluster_meta", {})
    key = (spec.service.hostname, spec.service.namespace, id(spec.rule))
    found = cache.get(key)
    if found is None:
        found = cache[key] = _metadata(spec.service, spec.rule)
    return found


def outbound_cluster(
    scope: ProxyScope, spec: ClusterSpec, options: TranslateOptions = DEFAULT_OPTIONS
) -> cluster_pb2.Cluster:
    """The cluster for one spec (service port, optional subset)."""
    mesh = scope.snapshot.mesh
    cluster = _base(spec.name, _TYPES[spec.discovery], mesh.connect_timeout_nanos)
    if spec.discovery == "EDS":
        cluster.eds_cluster_config.eds_config.CopyFrom(pb.ads_source())
        cluster.eds_cluster_config.service_name = spec.name
    elif spec.discovery in ("STRICT_DNS", "LOGICAL_DNS"):
        cluster.dns_lookup_family = cluster_pb2.Cluster.V4_ONLY
        cluster.respect_dns_ttl = True
        cluster.load_assignment.CopyFrom(dns_load_assignment(scope, spec))
    kind = port_kind(spec.port)
    protocol = spec.port.protocol if kind in ("http", "auto") else None
    apply_policy(cluster, spec.policy, protocol, mesh.tcp_keepalive, mesh.h2_upgrade_policy)
    apply_cluster_tls(cluster, scope, spec, options)
    apply_proxy_protocol(cluster, spec.policy.proxy_protocol)
    locality = locality_context(scope, spec)
    if locality is not None and needs_locality_weights(locality):
        cluster.common_lb_config.locality_weighted_lb_config.SetInParent()
    cluster.metadata.CopyFrom(_cached_metadata(scope, spec))
    return cluster


def passthrough_cluster(
    connect_timeout_nanos: int = DEFAULT_CONNECT_TIMEOUT_NANOS,
) -> cluster_pb2.Cluster:
    """``PassthroughCluster``: to the original destination, speaking the client's protocol."""
    cluster = _base(
        names.PASSTHROUGH_CLUSTER, cluster_pb2.Cluster.ORIGINAL_DST, connect_timeout_nanos
    )
    cluster.lb_policy = cluster_pb2.Cluster.CLUSTER_PROVIDED
    cluster.circuit_breakers.thresholds.append(default_thresholds())
    options = hpo_pb2.HttpProtocolOptions()
    options.use_downstream_protocol_config.http_protocol_options.SetInParent()
    options.use_downstream_protocol_config.http2_protocol_options.SetInParent()
    cluster.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS].Pack(options)
    return cluster


def blackhole_cluster(
    connect_timeout_nanos: int = DEFAULT_CONNECT_TIMEOUT_NANOS,
) -> cluster_pb2.Cluster:
    """``BlackHoleCluster``: STATIC without endpoints (connections fail, requests get 503)."""
    return _base(names.BLACKHOLE_CLUSTER, cluster_pb2.Cluster.STATIC, connect_timeout_nanos)


def _bind_inbound(cluster: cluster_pb2.Cluster) -> None:
    cluster.upstream_bind_config.source_address.CopyFrom(
        address_pb2.SocketAddress(address=names.INBOUND_PASSTHROUGH_BIND_IP, port_value=0)
    )


def inbound_passthrough_cluster(scope: ProxyScope) -> cluster_pb2.Cluster:
    """``InboundPassthroughCluster``: undeclared inbound ports, to the original destination."""
    cluster = _base(
        names.INBOUND_PASSTHROUGH_CLUSTER,
        cluster_pb2.Cluster.ORIGINAL_DST,
        scope.snapshot.mesh.connect_timeout_nanos,
    )
    cluster.lb_policy = cluster_pb2.Cluster.CLUSTER_PROVIDED
    cluster.circuit_breakers.thresholds.append(default_thresholds())
    if scope.proxy.interception == "REDIRECT":
        _bind_inbound(cluster)
    return cluster


def inbound_cluster(scope: ProxyScope, port: InboundPort) -> cluster_pb2.Cluster:
    """``inbound|<port>||``: STATIC to the app (127.0.0.1, the pod IP or a Unix socket, per
    :mod:`sailmesh.xds.inbound_plan`), or ORIGINAL_DST for an ingress listener without a
    ``defaultEndpoint``; with the port's connection pool (as Istio: limits and HTTP protocol
    options; ``h2UpgradePolicy`` and ``useClientProtocol`` are outbound-only in Istio)."""
    name = names.inbound_cluster(port.port)
    mesh = scope.snapshot.mesh
    if port.endpoint == "original":
        cluster = _base(name, cluster_pb2.Cluster.ORIGINAL_DST, mesh.connect_timeout_nanos)
        cluster.lb_policy = cluster_pb2.Cluster.CLUSTER_PROVIDED
    else:
        cluster = _base(name, cluster_pb2.Cluster.STATIC, mesh.connect_timeout_nanos)
        cluster.lb_policy = cluster_pb2.Cluster.LEAST_REQUEST
        cluster.load_assignment.CopyFrom(inbound_load_assignment(scope, port))
    apply_connection_pool(cluster, port.pool, mesh.tcp_keepalive)
    if port.protocol in HTTP_PROTOCOLS:
        options = http_protocol_options(port.protocol, inbound_pool(port.pool))
        if options is not None:
            cluster.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS].Pack(options)
    if scope.proxy.interception == "REDIRECT" and port.endpoint != "unix":
        _bind_inbound(cluster)
    cluster.metadata.CopyFrom(_metadata(port.service, port.sidecar))
    return cluster


def inbound_load_assignment(
    scope: ProxyScope, port: InboundPort
) -> endpoint_pb2.ClusterLoadAssignment:
    """The one local endpoint of an inbound cluster."""
    name = names.inbound_cluster(port.port)
    if port.endpoint == "unix":
        host = endpoint_components_pb2.LbEndpoint()
        host.endpoint.address.pipe.path = port.unix_path
        assignment = endpoint_pb2.ClusterLoadAssignment(cluster_name=name)
        assignment.endpoints.add().lb_endpoints.append(host)
        return assignment
    local = Endpoint(
        hostname=port.service.hostname,
        service_port=ServicePort(port.name, port.port, "TCP"),
        address=scope.proxy.ip if port.endpoint == "pod" else names.LOCALHOST,
        port=port.app_port,
    )
    return load_assignment(name, [local])


def inbound_pool(pool: Any) -> Any:
    """``pool`` without the settings Istio applies to outbound clusters only."""
    if pool is None or pool.http is None:
        return pool
    http = pool.http.model_copy(
        update={"h2_upgrade_policy": "DEFAULT", "use_client_protocol": None}
    )
    return pool.model_copy(update={"http": http})


def build_clusters(
    scope: ProxyScope, options: TranslateOptions = DEFAULT_OPTIONS
) -> dict[str, cluster_pb2.Cluster]:
    """CDS resources of a sidecar (or gateway), keyed by cluster name."""
    out: dict[str, cluster_pb2.Cluster] = {}
    for spec in cluster_specs(scope):
        out[spec.name] = outbound_cluster(scope, spec, options)
    timeout = scope.snapshot.mesh.connect_timeout_nanos
    out[names.PASSTHROUGH_CLUSTER] = passthrough_cluster(timeout)
    out[names.BLACKHOLE_CLUSTER] = blackhole_cluster(timeout)
    if scope.proxy.interception == "REDIRECT":
        out[names.INBOUND_PASSTHROUGH_CLUSTER] = inbound_passthrough_cluster(scope)
    for port in inbound_ports(scope):
        out[names.inbound_cluster(port.port)] = inbound_cluster(scope, port)
    return out
