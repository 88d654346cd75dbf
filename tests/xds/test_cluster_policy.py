"""DestinationRule traffic policies applied to Envoy clusters, with Istio's defaults."""

from __future__ import annotations

from typing import Any

import pytest
import xds_fixtures as fx
from envoy.config.cluster.v3 import cluster_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2 as hpo_pb2

from sailmesh.xds import pb
from sailmesh.xds.cluster_policy import (
    HTTP_PROTOCOL_OPTIONS,
    apply_connection_pool,
    apply_load_balancer,
    apply_outlier_detection,
    apply_policy,
    http_protocol_options,
)
from sailmesh.xds.policy import effective_policy

Cluster = cluster_pb2.Cluster


def traffic_policy(yaml: str) -> Any:
    return fx.resource("DestinationRule", f"host: r\ntrafficPolicy: {yaml}").spec.traffic_policy


@pytest.mark.parametrize(
    ("lb", "policy"),
    [
        ("{simple: ROUND_ROBIN}", Cluster.ROUND_ROBIN),
        ("{simple: LEAST_CONN}", Cluster.LEAST_REQUEST),
        ("{simple: RANDOM}", Cluster.RANDOM),
        ("{simple: PASSTHROUGH}", Cluster.LEAST_REQUEST),  # not translated: Istio's default
        ("{consistentHash: {httpHeaderName: u}}", Cluster.RING_HASH),
        ("{consistentHash: {httpHeaderName: u, maglev: {tableSize: 65537}}}", Cluster.MAGLEV),
    ],
)
def test_load_balancer_policy(lb: str, policy: int) -> None:
    cluster = Cluster(type=Cluster.EDS)
    apply_load_balancer(cluster, traffic_policy(f"{{loadBalancer: {lb}}}").load_balancer)
    assert cluster.lb_policy == policy


def test_ring_hash_and_maglev_parameters() -> None:
    ring = Cluster(type=Cluster.EDS)
    apply_load_balancer(
        ring, traffic_policy("{loadBalancer: {consistentHash: {useSourceIp: true}}}").load_balancer
    )
    assert ring.ring_hash_lb_config.minimum_ring_size.value == 1024  # Istio's default
    sized = Cluster(type=Cluster.EDS)
    apply_load_balancer(
        sized,
        traffic_policy(
            "{loadBalancer: {consistentHash: {useSourceIp: true, ringHash: {minimumRingSize: 64}}}}"
        ).load_balancer,
    )
    assert sized.ring_hash_lb_config.minimum_ring_size.value == 64
    maglev = Cluster(type=Cluster.EDS)
    apply_load_balancer(
        maglev,
        traffic_policy(
            "{loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 65537}}}}"
        ).load_balancer,
    )
    assert maglev.maglev_lb_config.table_size.value == 65537


def test_default_and_original_dst_load_balancers() -> None:
    default = Cluster(type=Cluster.EDS)
    apply_load_balancer(default, None)
    assert default.lb_policy == Cluster.LEAST_REQUEST
    passthrough = Cluster(type=Cluster.ORIGINAL_DST)
    apply_load_balancer(
        passthrough, traffic_policy("{loadBalancer: {simple: RANDOM}}").load_balancer
    )
    assert passthrough.lb_policy == Cluster.CLUSTER_PROVIDED


def test_default_circuit_breakers_are_unlimited() -> None:
    cluster = Cluster()
    apply_connection_pool(cluster, None)
    (thresholds,) = cluster.circuit_breakers.thresholds
    limits = (
        thresholds.max_connections.value,
        thresholds.max_pending_requests.value,
        thresholds.max_requests.value,
        thresholds.max_retries.value,
    )
    assert limits == (pb.MAX_UINT32,) * 4
    assert thresholds.track_remaining is True
    assert not cluster.HasField("connect_timeout")


def test_connection_pool_limits_timeout_and_keepalive() -> None:
    cluster = Cluster()
    pool = traffic_policy(
        "{connectionPool: {tcp: {maxConnections: 10, connectTimeout: 250ms,"
        " tcpKeepalive: {probes: 3, time: 7200s, interval: 75s}},"
        " http: {http2MaxRequests: 20, http1MaxPendingRequests: 5, maxRetries: 2}}}"
    ).connection_pool
    apply_connection_pool(cluster, pool)
    (thresholds,) = cluster.circuit_breakers.thresholds
    assert (
        thresholds.max_connections.value,
        thresholds.max_pending_requests.value,
        thresholds.max_requests.value,
        thresholds.max_retries.value,
    ) == (10, 5, 20, 2)
    assert (cluster.connect_timeout.seconds, cluster.connect_timeout.nanos) == (0, 250_000_000)
    assert fx.as_dict(cluster.upstream_connection_options.tcp_keepalive) == {
        "keepaliveProbes": 3,
        "keepaliveTime": 7200,
        "keepaliveInterval": 75,
    }


@pytest.mark.parametrize(
    ("protocol", "pool", "expected"),
    [
        ("HTTP", "", None),  # Envoy's defaults
        ("HTTP2", "", {"explicitHttpConfig": {"http2ProtocolOptions": {}}}),
        ("GRPC", "", {"explicitHttpConfig": {"http2ProtocolOptions": {}}}),
        (
            "HTTP",
            "{http: {h2UpgradePolicy: UPGRADE, maxConcurrentStreams: 7}}",
            {"explicitHttpConfig": {"http2ProtocolOptions": {"maxConcurrentStreams": 7}}},
        ),
        (
            "HTTP",
            "{http: {idleTimeout: 30s, maxRequestsPerConnection: 1}}",
            {
                "commonHttpProtocolOptions": {"idleTimeout": "30s", "maxRequestsPerConnection": 1},
                "explicitHttpConfig": {"httpProtocolOptions": {}},
            },
        ),
        (
            "AUTO",
            "",
            {
                "useDownstreamProtocolConfig": {
                    "httpProtocolOptions": {},
                    "http2ProtocolOptions": {},
                }
            },
        ),
        (
            "HTTP",
            "{http: {useClientProtocol: true}}",
            {
                "useDownstreamProtocolConfig": {
                    "httpProtocolOptions": {},
                    "http2ProtocolOptions": {},
                }
            },
        ),
    ],
)
def test_http_protocol_options(protocol: str, pool: str, expected: dict[str, Any] | None) -> None:
    connection_pool = (
        traffic_policy(f"{{connectionPool: {pool}}}").connection_pool if pool else None
    )
    found = http_protocol_options(protocol, connection_pool)
    assert (fx.as_dict(found) if found is not None else None) == expected


def test_outlier_detection_with_istio_enforcement() -> None:
    cluster = Cluster()
    outlier = traffic_policy(
        "{outlierDetection: {consecutive5xxErrors: 3, consecutiveGatewayErrors: 0, interval: 10s,"
        " baseEjectionTime: 30s, maxEjectionPercent: 50, minHealthPercent: 20,"
        " splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 4}}"
    ).outlier_detection
    apply_outlier_detection(cluster, outlier)
    assert fx.as_dict(cluster.outlier_detection) == {
        "consecutive5xx": 3,
        "enforcingConsecutive5xx": 100,
        "consecutiveGatewayFailure": 0,
        "enforcingConsecutiveGatewayFailure": 0,  # 0 errors: not enforced
        "interval": "10s",
        "baseEjectionTime": "30s",
        "maxEjectionPercent": 50,
        "enforcingSuccessRate": 0,
        "splitExternalLocalOriginErrors": True,
        "consecutiveLocalOriginFailure": 4,
        "enforcingConsecutiveLocalOriginFailure": 100,
        "enforcingLocalOriginSuccessRate": 0,
    }
    assert cluster.common_lb_config.healthy_panic_threshold.value == 20.0


def test_no_outlier_detection_leaves_the_cluster_alone() -> None:
    cluster = Cluster()
    apply_outlier_detection(cluster, None)
    assert not cluster.HasField("outlier_detection")
    assert not cluster.HasField("common_lb_config")


def test_panic_threshold_is_zero_without_min_health_percent() -> None:
    cluster = Cluster()
    apply_outlier_detection(
        cluster, traffic_policy("{outlierDetection: {consecutive5xxErrors: 1}}").outlier_detection
    )
    assert cluster.common_lb_config.HasField("healthy_panic_threshold")
    assert cluster.common_lb_config.healthy_panic_threshold.value == 0.0


def test_apply_policy_sets_every_part_and_http_options_only_for_http_ports() -> None:
    rule = fx.resource(
        "DestinationRule",
        "host: r\ntrafficPolicy: {loadBalancer: {simple: RANDOM},"
        " connectionPool: {tcp: {maxConnections: 4}}, outlierDetection: {consecutive5xxErrors: 2}}",
    )
    policy = effective_policy(rule, "", 80)
    http = Cluster(type=Cluster.EDS)
    apply_policy(http, policy, "GRPC")
    assert http.lb_policy == Cluster.RANDOM
    assert http.circuit_breakers.thresholds[0].max_connections.value == 4
    assert http.outlier_detection.consecutive_5xx.value == 2
    options = hpo_pb2.HttpProtocolOptions()
    assert http.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS].Unpack(options)
    assert options.explicit_http_config.HasField("http2_protocol_options")
    tcp = Cluster(type=Cluster.EDS)
    apply_policy(tcp, policy, None)
    assert dict(tcp.typed_extension_protocol_options) == {}
    plain = Cluster(type=Cluster.EDS)
    apply_policy(plain, policy, "HTTP")  # nothing to say beyond Envoy's defaults
    assert dict(plain.typed_extension_protocol_options) == {}


def test_warmup_is_slow_start_for_round_robin_and_least_request() -> None:
    cluster = Cluster()
    lb = traffic_policy(
        "{loadBalancer: {simple: ROUND_ROBIN, warmup: {duration: 30s, minimumPercent: 20, aggression: 2}}}"
    ).load_balancer
    apply_load_balancer(cluster, lb)
    slow = cluster.round_robin_lb_config.slow_start_config
    assert (slow.slow_start_window.seconds, slow.min_weight_percent.value) == (30, 20.0)
    assert slow.aggression.default_value == 2.0
    cluster = Cluster()
    apply_load_balancer(
        cluster, traffic_policy("{loadBalancer: {warmupDurationSecs: 60s}}").load_balancer
    )
    slow = cluster.least_request_lb_config.slow_start_config
    assert slow.slow_start_window.seconds == 60 and not slow.HasField("min_weight_percent")
    cluster = Cluster()
    hashed = "{loadBalancer: {consistentHash: {httpHeaderName: u}, warmupDurationSecs: 60s}}"
    apply_load_balancer(cluster, traffic_policy(hashed).load_balancer)
    assert not cluster.HasField("least_request_lb_config")  # Envoy has no slow start for hashing


def test_tcp_duration_idle_timeout_and_h2_keepalive_are_protocol_options() -> None:
    pool = traffic_policy(
        "{connectionPool: {tcp: {maxConnectionDuration: 1h, idleTimeout: 5m},"
        " http: {http2KeepAlive: {interval: 30s, timeout: 5s}}}}"
    ).connection_pool
    options = http_protocol_options("HTTP2", pool)
    assert options is not None
    common = options.common_http_protocol_options
    assert (common.max_connection_duration.seconds, common.idle_timeout.seconds) == (3600, 300)
    pings = options.explicit_http_config.http2_protocol_options.connection_keepalive
    assert (pings.interval.seconds, pings.timeout.seconds) == (30, 5)
    both = traffic_policy("{connectionPool: {tcp: {idleTimeout: 5m}, http: {idleTimeout: 7s}}}")
    found = http_protocol_options("HTTP", both.connection_pool)
    assert found is not None and found.common_http_protocol_options.idle_timeout.seconds == 7
