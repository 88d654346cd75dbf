"""Table tests for DestinationRule validation."""

from __future__ import annotations

from typing import Any

import pytest

from config_support.documents import assert_rejected, networking_doc
from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text


def _doc(spec: dict[str, Any], version: str = "v1") -> str:
    return networking_doc("DestinationRule", spec, version, name="dr")


def _tp(**policy: Any) -> dict[str, Any]:
    return {"host": "reviews", "trafficPolicy": policy}


INVALID = [
    (
        "host missing",
        {"subsets": [{"name": "v1", "labels": {"version": "v1"}}]},
        "spec.host",
        "required",
    ),
    ("bad host", {"host": "re_views"}, "spec.host", "invalid host"),
    ("ip host", {"host": "10.0.0.1"}, "spec.host", "all-numeric"),
    (
        "subset name missing",
        {"host": "r", "subsets": [{"labels": {"a": "b"}}]},
        "spec.subsets[0].name",
        "required",
    ),
    (
        "subset name bad",
        {"host": "r", "subsets": [{"name": "V1"}]},
        "spec.subsets[0].name",
        "invalid subset name",
    ),
    (
        "subset dup",
        {"host": "r", "subsets": [{"name": "v1"}, {"name": "v1"}]},
        "spec.subsets[1].name",
        "duplicate",
    ),
    (
        "subset labels",
        {"host": "r", "subsets": [{"name": "v1", "labels": {"bad key!": "x"}}]},
        "spec.subsets[0].labels[bad key!]",
        "invalid label key",
    ),
    ("empty policy", {"host": "r", "trafficPolicy": {}}, "spec.trafficPolicy", "at least one"),
    (
        "lb both",
        _tp(loadBalancer={"simple": "RANDOM", "consistentHash": {"useSourceIp": True}}),
        "spec.trafficPolicy.loadBalancer",
        "only one of simple or consistentHash",
    ),
    (
        "lb enum",
        _tp(loadBalancer={"simple": "FASTEST"}),
        "spec.trafficPolicy.loadBalancer.simple",
        "must be one of",
    ),
    (
        "hash no key",
        _tp(loadBalancer={"consistentHash": {"ringHash": {"minimumRingSize": 10}}}),
        "spec.trafficPolicy.loadBalancer.consistentHash",
        "needs a hash key",
    ),
    (
        "hash two keys",
        _tp(loadBalancer={"consistentHash": {"useSourceIp": True, "httpHeaderName": "x-user"}}),
        "spec.trafficPolicy.loadBalancer.consistentHash",
        "only one hash key",
    ),
    (
        "cookie name",
        _tp(loadBalancer={"consistentHash": {"httpCookie": {"ttl": "0s"}}}),
        "spec.trafficPolicy.loadBalancer.consistentHash.httpCookie.name",
        "required",
    ),
    (
        "ring and maglev",
        _tp(loadBalancer={"consistentHash": {"useSourceIp": True, "ringHash": {}, "maglev": {}}}),
        "spec.trafficPolicy.loadBalancer.consistentHash",
        "ringHash or maglev",
    ),
    (
        "maglev prime",
        _tp(loadBalancer={"consistentHash": {"useSourceIp": True, "maglev": {"tableSize": 1000}}}),
        "spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize",
        "prime",
    ),
    (
        "locality both",
        _tp(
            loadBalancer={
                "localityLbSetting": {
                    "distribute": [{"from": "a/*", "to": {"b/*": 100}}],
                    "failover": [{"from": "a", "to": "b"}],
                }
            }
        ),
        "spec.trafficPolicy.loadBalancer.localityLbSetting",
        "cannot both",
    ),
    (
        "locality weights",
        _tp(
            loadBalancer={
                "localityLbSetting": {"distribute": [{"from": "a/*", "to": {"a/*": 80, "b/*": 10}}]}
            }
        ),
        "spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to",
        "add up to 100",
    ),
    (
        "failover same",
        _tp(loadBalancer={"localityLbSetting": {"failover": [{"from": "a", "to": "a"}]}}),
        "spec.trafficPolicy.loadBalancer.localityLbSetting.failover[0]",
        "different",
    ),
    (
        "warmup dur",
        _tp(loadBalancer={"simple": "ROUND_ROBIN", "warmup": {"aggression": 2}}),
        "spec.trafficPolicy.loadBalancer.warmup.duration",
        "required",
    ),
    (
        "warmup pct",
        _tp(loadBalancer={"warmup": {"duration": "10s", "minimumPercent": 150}}),
        "spec.trafficPolicy.loadBalancer.warmup.minimumPercent",
        "0..100",
    ),
    ("pool empty", _tp(connectionPool={}), "spec.trafficPolicy.connectionPool", "tcp and/or http"),
    (
        "max conns",
        _tp(connectionPool={"tcp": {"maxConnections": -1}}),
        "spec.trafficPolicy.connectionPool.tcp.maxConnections",
        "negative",
    ),
    (
        "connect timeout",
        _tp(connectionPool={"tcp": {"connectTimeout": "0s"}}),
        "spec.trafficPolicy.connectionPool.tcp.connectTimeout",
        "at least 1ms",
    ),
    (
        "keepalive interval",
        _tp(connectionPool={"tcp": {"tcpKeepalive": {"interval": "0.1ms"}}}),
        "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.interval",
        "at least 1ms",
    ),
    (
        "pending",
        _tp(connectionPool={"http": {"http1MaxPendingRequests": -5}}),
        "spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests",
        "negative",
    ),
    (
        "h2 enum",
        _tp(connectionPool={"http": {"h2UpgradePolicy": "ALWAYS"}}),
        "spec.trafficPolicy.connectionPool.http.h2UpgradePolicy",
        "must be one of",
    ),
    (
        "outlier misplaced",
        _tp(connectionPool={"http": {"consecutiveGatewayErrors": 5}}),
        "spec.trafficPolicy.connectionPool.http.consecutiveGatewayErrors",
        "belongs under",
    ),
    (
        "keepAlive misspelt",
        _tp(connectionPool={"tcp": {"keepAlive": {"time": "7200s"}}}),
        "spec.trafficPolicy.connectionPool.tcp.keepAlive",
        "unknown field",
    ),
    (
        "ejection pct",
        _tp(outlierDetection={"maxEjectionPercent": 101}),
        "spec.trafficPolicy.outlierDetection.maxEjectionPercent",
        "0..100",
    ),
    (
        "health pct",
        _tp(outlierDetection={"minHealthPercent": -1}),
        "spec.trafficPolicy.outlierDetection.minHealthPercent",
        "0..100",
    ),
    (
        "interval",
        _tp(outlierDetection={"interval": "0s"}),
        "spec.trafficPolicy.outlierDetection.interval",
        "at least 1ms",
    ),
    (
        "base ejection",
        _tp(outlierDetection={"baseEjectionTime": "-1s"}),
        "spec.trafficPolicy.outlierDetection.baseEjectionTime",
        "negative",
    ),
    (
        "consecutive errors negative",
        _tp(outlierDetection={"consecutiveErrors": -1}),
        "spec.trafficPolicy.outlierDetection.consecutiveErrors",
        "negative",
    ),
    (
        "error codes",
        _tp(outlierDetection={"outlierDetectionHttpErrorCodes": [700]}),
        "spec.trafficPolicy.outlierDetection.outlierDetectionHttpErrorCodes[0]",
        "100..599",
    ),
    (
        "istio mutual certs",
        _tp(tls={"mode": "ISTIO_MUTUAL", "clientCertificate": "/c.pem"}),
        "spec.trafficPolicy.tls.clientCertificate",
        "ISTIO_MUTUAL",
    ),
    (
        "mutual cert",
        _tp(tls={"mode": "MUTUAL", "privateKey": "/k.pem"}),
        "spec.trafficPolicy.tls.clientCertificate",
        "MUTUAL",
    ),
    (
        "mutual key",
        _tp(tls={"mode": "MUTUAL", "clientCertificate": "/c.pem"}),
        "spec.trafficPolicy.tls.privateKey",
        "MUTUAL",
    ),
    ("tls enum", _tp(tls={"mode": "PASSTHROUGH"}), "spec.trafficPolicy.tls.mode", "must be one of"),
    (
        "port settings port",
        _tp(portLevelSettings=[{"loadBalancer": {"simple": "RANDOM"}}]),
        "spec.trafficPolicy.portLevelSettings[0].port.number",
        "required",
    ),
    (
        "port settings range",
        _tp(portLevelSettings=[{"port": {"number": 0}, "loadBalancer": {"simple": "RANDOM"}}]),
        "spec.trafficPolicy.portLevelSettings[0].port.number",
        "1..65535",
    ),
    (
        "port settings dup",
        _tp(
            portLevelSettings=[
                {"port": {"number": 80}, "loadBalancer": {"simple": "RANDOM"}},
                {"port": {"number": 80}, "tls": {"mode": "ISTIO_MUTUAL"}},
            ]
        ),
        "spec.trafficPolicy.portLevelSettings[1].port.number",
        "duplicate port 80",
    ),
    (
        "port settings empty",
        _tp(portLevelSettings=[{"port": {"number": 80}}]),
        "spec.trafficPolicy.portLevelSettings[0]",
        "at least one",
    ),
    (
        "port settings nested",
        _tp(portLevelSettings=[{"port": {"number": 80}, "outlierDetection": {"interval": "0s"}}]),
        "spec.trafficPolicy.portLevelSettings[0].outlierDetection.interval",
        "at least 1ms",
    ),
    (
        "tunnel protocol",
        _tp(tunnel={"protocol": "GET", "targetHost": "a", "targetPort": 80}),
        "spec.trafficPolicy.tunnel.protocol",
        "CONNECT or POST",
    ),
    (
        "tunnel port",
        _tp(tunnel={"targetHost": "10.0.0.1"}),
        "spec.trafficPolicy.tunnel.targetPort",
        "required",
    ),
    (
        "tunnel host",
        _tp(tunnel={"targetPort": 80}),
        "spec.trafficPolicy.tunnel.targetHost",
        "required",
    ),
    (
        "proxy protocol",
        _tp(proxyProtocol={"version": "V3"}),
        "spec.trafficPolicy.proxyProtocol.version",
        "must be one of",
    ),
    (
        "retry budget",
        _tp(retryBudget={"percent": 200}),
        "spec.trafficPolicy.retryBudget.percent",
        "0..100",
    ),
    (
        "subset policy",
        {
            "host": "r",
            "subsets": [
                {"name": "v1", "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": -2}}}}
            ],
        },
        "spec.subsets[0].trafficPolicy.connectionPool.tcp.maxConnections",
        "negative",
    ),
    (
        "selector empty",
        {"host": "r", "workloadSelector": {"matchLabels": {}}},
        "spec.workloadSelector.matchLabels",
        "at least one label",
    ),
    ("exportTo", {"host": "r", "exportTo": ["a", "a"]}, "spec.exportTo[1]", "duplicate"),
]


@pytest.mark.parametrize(
    ("spec", "path", "fragment"), [pytest.param(s, p, f, id=n) for n, s, p, f in INVALID]
)
def test_invalid(spec: dict[str, Any], path: str, fragment: str) -> None:
    assert_rejected(_doc(spec), path, fragment)


WARNINGS = [
    (
        "least conn",
        _tp(loadBalancer={"simple": "LEAST_CONN"}),
        "spec.trafficPolicy.loadBalancer.simple",
        "deprecated",
    ),
    (
        "consecutive errors",
        _tp(outlierDetection={"consecutiveErrors": 5}),
        "spec.trafficPolicy.outlierDetection.consecutiveErrors",
        "deprecated",
    ),
    (
        "min ring size",
        _tp(loadBalancer={"consistentHash": {"useSourceIp": True, "minimumRingSize": 1024}}),
        "spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize",
        "deprecated",
    ),
    (
        "tls disabled certs",
        _tp(tls={"mode": "DISABLE", "caCertificates": "/ca.pem"}),
        "spec.trafficPolicy.tls.mode",
        "ignored",
    ),
]


@pytest.mark.parametrize(
    ("spec", "path", "fragment"), [pytest.param(s, p, f, id=n) for n, s, p, f in WARNINGS]
)
def test_warning(spec: dict[str, Any], path: str, fragment: str) -> None:
    result = load_text(_doc(spec))
    assert result.ok and len(result.resources) == 1
    assert any(
        p.path == path and fragment in p.message and p.level is Level.WARNING
        for p in result.problems
    ), result.problems


VALID = [
    (
        "everything",
        {
            "host": "reviews.prod.svc.cluster.local",
            "exportTo": ["."],
            "trafficPolicy": {
                "loadBalancer": {
                    "simple": "LEAST_REQUEST",
                    "warmup": {"duration": "60s", "minimumPercent": 10, "aggression": 1.5},
                    "localityLbSetting": {
                        "enabled": True,
                        "failover": [{"from": "us-east", "to": "eu-west"}],
                        "failoverPriority": ["topology.kubernetes.io/region"],
                    },
                },
                "connectionPool": {
                    "tcp": {
                        "maxConnections": 100,
                        "connectTimeout": "30ms",
                        "tcpKeepalive": {"probes": 9, "time": "7200s", "interval": "75s"},
                        "maxConnectionDuration": "1h",
                        "idleTimeout": "0s",
                    },
                    "http": {
                        "http1MaxPendingRequests": 1024,
                        "http2MaxRequests": 1024,
                        "maxRequestsPerConnection": 10,
                        "maxRetries": 3,
                        "idleTimeout": "60s",
                        "h2UpgradePolicy": "UPGRADE",
                        "useClientProtocol": True,
                        "maxConcurrentStreams": 100,
                    },
                },
                "outlierDetection": {
                    "consecutive5xxErrors": 7,
                    "consecutiveGatewayErrors": 3,
                    "interval": "5m",
                    "baseEjectionTime": "15m",
                    "maxEjectionPercent": 100,
                    "minHealthPercent": 0,
                    "splitExternalLocalOriginErrors": True,
                    "consecutiveLocalOriginFailures": 5,
                },
                "tls": {"mode": "ISTIO_MUTUAL", "sni": "reviews.example.com"},
                "portLevelSettings": [
                    {"port": {"number": 80}, "loadBalancer": {"simple": "RANDOM"}},
                    {"port": {"number": 9080}, "connectionPool": {"tcp": {"maxConnections": 10}}},
                ],
                "proxyProtocol": {"version": "V2"},
            },
            "subsets": [
                {"name": "v1", "labels": {"version": "v1"}},
                {
                    "name": "testversion",
                    "labels": {"version": "v3"},
                    "trafficPolicy": {
                        "loadBalancer": {
                            "consistentHash": {
                                "httpCookie": {
                                    "name": "user",
                                    "ttl": "0s",
                                    "path": "/",
                                    "attributes": [{"name": "SameSite", "value": "Strict"}],
                                },
                                "ringHash": {"minimumRingSize": 1024},
                            }
                        }
                    },
                },
            ],
        },
    ),
    (
        "mutual with files",
        _tp(
            tls={
                "mode": "MUTUAL",
                "clientCertificate": "/etc/c.pem",
                "privateKey": "/etc/k.pem",
                "caCertificates": "/etc/ca.pem",
                "subjectAltNames": ["a.com"],
            }
        ),
    ),
    ("mutual with secret", _tp(tls={"mode": "MUTUAL", "credentialName": "client-cert"})),
    ("simple tls", {"host": "*.example.com", "trafficPolicy": {"tls": {"mode": "SIMPLE"}}}),
    (
        "maglev",
        _tp(
            loadBalancer={
                "consistentHash": {"httpQueryParameterName": "u", "maglev": {"tableSize": 65537}}
            }
        ),
    ),
    (
        "distribute",
        _tp(
            loadBalancer={
                "localityLbSetting": {
                    "enabled": True,
                    "distribute": [
                        {
                            "from": "us-west/zone1/*",
                            "to": {"us-west/zone1/*": 80, "us-west/zone2/*": 20},
                        }
                    ],
                }
            }
        ),
    ),
    (
        "tunnel",
        _tp(tunnel={"protocol": "CONNECT", "targetHost": "egress.example.com", "targetPort": 8443}),
    ),
    (
        "selector",
        {
            "host": "r",
            "workloadSelector": {"matchLabels": {"app": "ratings"}},
            "trafficPolicy": {"loadBalancer": {"simple": "PASSTHROUGH"}},
        },
    ),
]


@pytest.mark.parametrize("version", ["v1", "v1beta1", "v1alpha3"])
@pytest.mark.parametrize("spec", [pytest.param(s, id=n) for n, s in VALID])
def test_valid(spec: dict[str, Any], version: str) -> None:
    result = load_text(_doc(spec, version))
    assert result.problems == []
    assert len(result.resources) == 1


def test_defaults_and_aliases() -> None:
    spec = _tp(
        outlierDetection={"consecutive5xxErrors": 5},
        tls={"sni": "a"},
        connectionPool={"http": {"maxRetries": 1}},
    )
    policy = load_text(_doc(spec)).resources[0].spec.traffic_policy
    assert policy.outlier_detection.consecutive_5xx_errors == 5
    assert policy.tls.mode == "DISABLE"
    assert policy.connection_pool.http.h2_upgrade_policy == "DEFAULT"
