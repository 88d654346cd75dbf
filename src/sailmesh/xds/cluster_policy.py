"""Applying a DestinationRule traffic policy to an Envoy cluster, the way Istio does.

- load balancer: ``ROUND_ROBIN``, ``LEAST_REQUEST`` (also ``LEAST_CONN``; Istio's default),
  ``RANDOM``; ``consistentHash`` -> ``RING_HASH`` (default, ``minimumRingSize``) or ``MAGLEV``
  (the hash key itself goes on the route, see :mod:`sailmesh.xds.route_actions`);
- slow start (``warmup``/``warmupDurationSecs``) for round robin and least request;
- connection pool -> circuit breaker thresholds (defaults 2^32-1 everywhere, like Istio),
  ``connect_timeout``, TCP keepalive, and HTTP protocol options (idle timeout, TCP
  ``maxConnectionDuration``, max requests per connection, HTTP/2 keepalive PINGs, HTTP/2 for
  HTTP2/GRPC ports or ``h2UpgradePolicy: UPGRADE``);
- mesh-wide defaults (:class:`sailmesh.snapshot.mesh.MeshConfig`): ``tcpKeepalive`` first, a
  rule's keepalive fields override it one by one (Istio's ``applyUpstreamTCPKeepalive``);
  ``h2UpgradePolicy: UPGRADE`` upgrades outbound HTTP ports (not ``AUTO`` ones) unless the
  rule says ``DO_NOT_UPGRADE`` (Istio's ``shouldH2Upgrade``); ``connectTimeout`` is the base
  every cluster starts from (:mod:`sailmesh.xds.clusters`);
- ``retryBudget`` -> the thresholds' ``retry_budget`` (``percent`` -> ``budget_percent``,
  ``minRetryConcurrency``; Envoy then ignores ``max_retries``);
- outlier detection with Istio's enforcement values (success-rate ejection disabled, the
  panic threshold set to ``minHealthPercent`` (0 when unset)).
"""

from __future__ import annotations

from typing import Any

from envoy.config.cluster.v3 import circuit_breaker_pb2, cluster_pb2, outlier_detection_pb2
from envoy.config.core.v3 import address_pb2, protocol_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2 as hpo_pb2
from envoy.type.v3 import percent_pb2
from google.protobuf import wrappers_pb2

from sailmesh.snapshot.mesh_defaults import H2UpgradePolicy, TcpKeepalive
from sailmesh.xds import pb
from sailmesh.xds.policy import EffectivePolicy

HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
HTTP2_PROTOCOLS = frozenset({"HTTP2", "GRPC", "GRPC-WEB"})
#: Ports a mesh-wide ``h2UpgradePolicy: UPGRADE`` upgrades (Istio's ``Protocol.IsHTTP``).
_MESH_UPGRADABLE = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY"})

_SIMPLE_LB = {
    "ROUND_ROBIN": cluster_pb2.Cluster.ROUND_ROBIN,
    "LEAST_REQUEST": cluster_pb2.Cluster.LEAST_REQUEST,
    "LEAST_CONN": cluster_pb2.Cluster.LEAST_REQUEST,
    "RANDOM": cluster_pb2.Cluster.RANDOM,
}


def apply_load_balancer(cluster: cluster_pb2.Cluster, lb: Any) -> None:
    """Set ``lb_policy`` (and ring hash / maglev parameters) from ``loadBalancer``."""
    if cluster.type == cluster_pb2.Cluster.ORIGINAL_DST:
        cluster.lb_policy = cluster_pb2.Cluster.CLUSTER_PROVIDED
        return
    cluster.lb_policy = cluster_pb2.Cluster.LEAST_REQUEST
    if lb is None:
        return
    hashing = lb.consistent_hash
    if hashing is not None:
        if hashing.maglev is not None:
            cluster.lb_policy = cluster_pb2.Cluster.MAGLEV
            if hashing.maglev.table_size:
                cluster.maglev_lb_config.table_size.value = hashing.maglev.table_size
            return
        cluster.lb_policy = cluster_pb2.Cluster.RING_HASH
        size = hashing.ring_hash.minimum_ring_size if hashing.ring_hash is not None else None
        cluster.ring_hash_lb_config.minimum_ring_size.value = (
            size or hashing.minimum_ring_size or 1024
        )
        return
    if lb.simple in _SIMPLE_LB:
        cluster.lb_policy = _SIMPLE_LB[lb.simple]
    _apply_warmup(cluster, lb)


def _apply_warmup(cluster: cluster_pb2.Cluster, lb: Any) -> None:
    """Slow start (``warmup``, or the older ``warmupDurationSecs``) for round robin and least
    request, the policies Envoy supports it for: new endpoints get a share of traffic that grows
    over the window from ``minimumPercent`` (Istio's default 10 %), shaped by ``aggression``."""
    warmup = lb.warmup
    window = warmup.duration if warmup is not None else lb.warmup_duration_secs
    if window is None or not window.nanos:
        return
    config = cluster_pb2.Cluster.SlowStartConfig(slow_start_window=pb.duration(window.nanos))
    if warmup is not None:
        aggression = warmup.aggression if warmup.aggression is not None else 1.0
        config.aggression.default_value = aggression
        config.aggression.runtime_key = "upstream.slow_start.aggression"
        minimum = warmup.minimum_percent if warmup.minimum_percent is not None else 10.0
        config.min_weight_percent.value = minimum
    if cluster.lb_policy == cluster_pb2.Cluster.ROUND_ROBIN:
        cluster.round_robin_lb_config.slow_start_config.CopyFrom(config)
    elif cluster.lb_policy == cluster_pb2.Cluster.LEAST_REQUEST:
        cluster.least_request_lb_config.slow_start_config.CopyFrom(config)


def default_thresholds() -> circuit_breaker_pb2.CircuitBreakers.Thresholds:
    """Istio's defaults: effectively unlimited, with remaining-capacity gauges."""
    return circuit_breaker_pb2.CircuitBreakers.Thresholds(
        max_connections=pb.u32(pb.MAX_UINT32),
        max_pending_requests=pb.u32(pb.MAX_UINT32),
        max_requests=pb.u32(pb.MAX_UINT32),
        max_retries=pb.u32(pb.MAX_UINT32),
        track_remaining=True,
    )


_DEFAULT_THRESHOLDS = default_thresholds()


def _mesh_keepalive(cluster: cluster_pb2.Cluster, keepalive: TcpKeepalive | None) -> None:
    if keepalive is None:
        return
    ka = cluster.upstream_connection_options.tcp_keepalive
    ka.SetInParent()  # SO_KEEPALIVE with the OS values for what is not set
    if keepalive.probes:
        ka.keepalive_probes.value = keepalive.probes
    if keepalive.time_s is not None:
        ka.keepalive_time.value = keepalive.time_s
    if keepalive.interval_s is not None:
        ka.keepalive_interval.value = keepalive.interval_s


def apply_connection_pool(
    cluster: cluster_pb2.Cluster, pool: Any, mesh_keepalive: TcpKeepalive | None = None
) -> None:
    """Circuit breakers, connect timeout and TCP keepalive from ``connectionPool`` (over the
    mesh's ``tcpKeepalive``)."""
    _mesh_keepalive(cluster, mesh_keepalive)
    thresholds = cluster.circuit_breakers.thresholds.add()
    thresholds.CopyFrom(_DEFAULT_THRESHOLDS)
    http = pool.http if pool is not None else None
    tcp = pool.tcp if pool is not None else None
    if http is not None:
        if http.http2_max_requests:
            thresholds.max_requests.value = http.http2_max_requests
        if http.http1_max_pending_requests:
            thresholds.max_pending_requests.value = http.http1_max_pending_requests
        if http.max_retries:
            thresholds.max_retries.value = http.max_retries
    if tcp is not None:
        if tcp.max_connections:
            thresholds.max_connections.value = tcp.max_connections
        if tcp.connect_timeout is not None and tcp.connect_timeout.nanos > 0:
            cluster.connect_timeout.CopyFrom(pb.duration(tcp.connect_timeout.nanos))
        keepalive = tcp.tcp_keepalive
        if keepalive is not None:
            ka = address_pb2.TcpKeepalive()
            ka.CopyFrom(cluster.upstream_connection_options.tcp_keepalive)
            if keepalive.probes:
                ka.keepalive_probes.value = keepalive.probes
            if keepalive.time is not None:
                ka.keepalive_time.value = keepalive.time.nanos // 1_000_000_000
            if keepalive.interval is not None:
                ka.keepalive_interval.value = keepalive.interval.nanos // 1_000_000_000
            cluster.upstream_connection_options.tcp_keepalive.CopyFrom(ka)


def _upgrade(protocol: str, http: Any, mesh_h2: H2UpgradePolicy) -> bool:
    """Whether HTTP/1.1 is upgraded to HTTP/2 upstream (the rule's policy, else the mesh's)."""
    policy = http.h2_upgrade_policy if http is not None else "DEFAULT"
    if policy == "UPGRADE":
        return True
    upgrade = mesh_h2 == "UPGRADE" and protocol in _MESH_UPGRADABLE
    return upgrade and policy != "DO_NOT_UPGRADE"


def http_protocol_options(
    protocol: str, pool: Any, mesh_h2: H2UpgradePolicy = "DO_NOT_UPGRADE"
) -> hpo_pb2.HttpProtocolOptions | None:
    """Typed HTTP protocol options for an HTTP-ish port (None when Envoy's defaults do);
    ``mesh_h2``: the mesh's ``h2UpgradePolicy`` (outbound clusters only, as in Istio)."""
    http = pool.http if pool is not None else None
    tcp = pool.tcp if pool is not None else None
    common = protocol_pb2.HttpProtocolOptions()
    h2 = protocol in HTTP2_PROTOCOLS or _upgrade(protocol, http, mesh_h2)
    if tcp is not None:  # Istio: TCP settings first, HTTP's idle timeout wins
        if tcp.max_connection_duration is not None:
            duration = pb.duration(tcp.max_connection_duration.nanos)
            common.max_connection_duration.CopyFrom(duration)
        if tcp.idle_timeout is not None:
            common.idle_timeout.CopyFrom(pb.duration(tcp.idle_timeout.nanos))
    if http is not None:
        if http.idle_timeout is not None:
            common.idle_timeout.CopyFrom(pb.duration(http.idle_timeout.nanos))
        if http.max_requests_per_connection:
            common.max_requests_per_connection.value = http.max_requests_per_connection
    h2_options = protocol_pb2.Http2ProtocolOptions()
    if http is not None and http.max_concurrent_streams:
        h2_options.max_concurrent_streams.value = http.max_concurrent_streams
    keepalive = http.http2_keep_alive if http is not None else None
    if keepalive is not None:  # HTTP/2 PINGs on idle upstream connections
        pings = h2_options.connection_keepalive
        if keepalive.interval is not None:
            pings.interval.CopyFrom(pb.duration(keepalive.interval.nanos))
        if keepalive.timeout is not None:
            pings.timeout.CopyFrom(pb.duration(keepalive.timeout.nanos))
    out = hpo_pb2.HttpProtocolOptions()
    if common.ByteSize():
        out.common_http_protocol_options.CopyFrom(common)
    if (http is not None and http.use_client_protocol) or protocol == "AUTO":
        out.use_downstream_protocol_config.CopyFrom(
            hpo_pb2.HttpProtocolOptions.UseDownstreamHttpConfig(
                http_protocol_options=protocol_pb2.Http1ProtocolOptions(),
                http2_protocol_options=h2_options,
            )
        )
    elif h2:
        out.explicit_http_config.http2_protocol_options.CopyFrom(h2_options)
    elif out.ByteSize():
        out.explicit_http_config.http_protocol_options.SetInParent()
    return out if out.ByteSize() else None


def apply_retry_budget(cluster: cluster_pb2.Cluster, budget: Any) -> None:
    """``retryBudget`` on the default-priority thresholds (Envoy's defaults, 20 % and 3, when
    a field is unset)."""
    if budget is None:
        return
    if not cluster.circuit_breakers.thresholds:
        cluster.circuit_breakers.thresholds.add().CopyFrom(_DEFAULT_THRESHOLDS)
    out = cluster.circuit_breakers.thresholds[0].retry_budget
    out.SetInParent()
    if budget.percent is not None:
        out.budget_percent.value = float(budget.percent)
    if budget.min_retry_concurrency is not None:
        out.min_retry_concurrency.value = budget.min_retry_concurrency


def apply_outlier_detection(cluster: cluster_pb2.Cluster, outlier: Any) -> None:
    """Outlier detection and the panic threshold, as Istio's ``applyOutlierDetection``."""
    if outlier is None:
        return
    out = outlier_detection_pb2.OutlierDetection(
        enforcing_success_rate=wrappers_pb2.UInt32Value(value=0)
    )
    five_xx = outlier.consecutive_5xx_errors
    if five_xx is None:
        five_xx = outlier.consecutive_errors
    if five_xx is not None:
        out.consecutive_5xx.value = five_xx
        out.enforcing_consecutive_5xx.value = 100 if five_xx > 0 else 0
    gateway = outlier.consecutive_gateway_errors
    if gateway is not None:
        out.consecutive_gateway_failure.value = gateway
        out.enforcing_consecutive_gateway_failure.value = 100 if gateway > 0 else 0
    if outlier.interval is not None:
        out.interval.CopyFrom(pb.duration(outlier.interval.nanos))
    if outlier.base_ejection_time is not None:
        out.base_ejection_time.CopyFrom(pb.duration(outlier.base_ejection_time.nanos))
    if outlier.max_ejection_percent:
        out.max_ejection_percent.value = outlier.max_ejection_percent
    if outlier.split_external_local_origin_errors:
        out.split_external_local_origin_errors = True
        if outlier.consecutive_local_origin_failures:
            out.consecutive_local_origin_failure.value = outlier.consecutive_local_origin_failures
            out.enforcing_consecutive_local_origin_failure.value = 100
        out.enforcing_local_origin_success_rate.value = 0
    cluster.outlier_detection.CopyFrom(out)
    cluster.common_lb_config.healthy_panic_threshold.CopyFrom(
        percent_pb2.Percent(value=float(outlier.min_health_percent or 0))
    )


def apply_policy(
    cluster: cluster_pb2.Cluster,
    policy: EffectivePolicy,
    protocol: str | None,
    mesh_keepalive: TcpKeepalive | None = None,
    mesh_h2: H2UpgradePolicy = "DO_NOT_UPGRADE",
) -> None:
    """Apply every part of ``policy`` over the mesh's defaults; ``protocol`` is the port's (None
    for non-HTTP clusters)."""
    apply_load_balancer(cluster, policy.load_balancer)
    apply_connection_pool(cluster, policy.connection_pool, mesh_keepalive)
    apply_retry_budget(cluster, policy.retry_budget)
    apply_outlier_detection(cluster, policy.outlier_detection)
    if protocol is not None:
        options = http_protocol_options(protocol, policy.connection_pool, mesh_h2)
        if options is not None:
            cluster.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS].Pack(options)
