"""meshConfig defaults of clusters as Istio applies them: ``enableAutoMtls``, ``connectTimeout``
(every cluster; a DestinationRule's ``connectTimeout`` wins), ``tcpKeepalive`` (under a rule's
fields) and ``h2UpgradePolicy`` (outbound HTTP ports, unless a rule says DO_NOT_UPGRADE)."""

from __future__ import annotations

from typing import Any

import xds_fixtures as fx
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2 as hpo_pb2
from mtls_world import SDS, snapshot

from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.xds.cluster_policy import HTTP_PROTOCOL_OPTIONS
from sailmesh.xds.translate import clusters

REVIEWS = "outbound|9080||reviews.default.svc.cluster.local"
RATINGS = "outbound|9080||ratings.default.svc.cluster.local"
API_HTTP = "outbound|80||api.default.svc.cluster.local"
API_SNIFFED = "outbound|9000||api.default.svc.cluster.local"
API_TCP = "outbound|5432||api.default.svc.cluster.local"
INBOUND = "inbound|9080||"


def built(mesh: dict[str, Any], text: str = "") -> dict[str, Any]:
    world = snapshot(text, MeshConfig.from_dict(mesh))
    return clusters(fx.productpage_proxy(), world, options=SDS)


def h2(cluster: Any) -> bool:
    packed = cluster.typed_extension_protocol_options.get(HTTP_PROTOCOL_OPTIONS)
    if packed is None:
        return False
    options = hpo_pb2.HttpProtocolOptions()
    packed.Unpack(options)
    return options.explicit_http_config.HasField("http2_protocol_options")


def test_auto_mtls_off_sends_plaintext_unless_a_rule_says_istio_mutual() -> None:
    rule = "DestinationRule reviews\n  host: reviews\n  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}"
    found = built({"enableAutoMtls": False}, rule)
    ratings = found[RATINGS]
    assert not ratings.transport_socket_matches and not ratings.HasField("transport_socket")
    reviews = found[REVIEWS]
    assert reviews.transport_socket.name == "envoy.transport_sockets.tls"
    default = built({})[RATINGS]
    assert [m.name for m in default.transport_socket_matches] == [
        "tlsMode-istio",
        "tlsMode-disabled",
    ]


def test_connect_timeout_is_every_clusters_base_and_a_rule_overrides_it() -> None:
    rule = (
        "DestinationRule reviews\n  host: reviews\n"
        "  trafficPolicy: {connectionPool: {tcp: {connectTimeout: 250ms}}}"
    )
    found = built({"connectTimeout": "1.5s"}, rule)
    timeouts = {name: c.connect_timeout.ToNanoseconds() for name, c in found.items()}
    assert timeouts.pop(REVIEWS) == 250_000_000
    assert set(timeouts.values()) == {1_500_000_000}, timeouts
    assert {"PassthroughCluster", "BlackHoleCluster", RATINGS, INBOUND} <= set(timeouts)
    assert {c.connect_timeout.seconds for c in built({}).values()} == {10}


def test_mesh_tcp_keepalive_sits_under_the_rules_fields() -> None:
    rule = (
        "DestinationRule reviews\n  host: reviews\n"
        "  trafficPolicy: {connectionPool: {tcp: {tcpKeepalive: {probes: 3}}}}"
    )
    found = built({"tcpKeepalive": {"time": "60s", "interval": "10s", "probes": 5}}, rule)
    ratings = found[RATINGS].upstream_connection_options.tcp_keepalive
    values = (ratings.keepalive_probes.value, ratings.keepalive_time.value)
    assert (*values, ratings.keepalive_interval.value) == (5, 60, 10)
    reviews = found[REVIEWS].upstream_connection_options.tcp_keepalive
    assert (reviews.keepalive_probes.value, reviews.keepalive_time.value) == (3, 60)
    assert found[INBOUND].upstream_connection_options.HasField("tcp_keepalive")
    empty = built({"tcpKeepalive": {}})[RATINGS].upstream_connection_options
    assert empty.HasField("tcp_keepalive")  # SO_KEEPALIVE with the OS values
    assert not found["PassthroughCluster"].HasField("upstream_connection_options")
    assert not built({})[RATINGS].HasField("upstream_connection_options")


def test_mesh_h2_upgrade_upgrades_http_ports_unless_a_rule_refuses() -> None:
    rule = (
        "DestinationRule reviews\n  host: reviews\n"
        "  trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: DO_NOT_UPGRADE}}}"
    )
    found = built({"h2UpgradePolicy": "UPGRADE"}, rule)
    assert h2(found[RATINGS]) and h2(found[API_HTTP])
    assert not h2(found[REVIEWS])  # the rule says DO_NOT_UPGRADE
    assert not h2(found[API_SNIFFED]) and not h2(found[API_TCP])  # not declared HTTP
    assert not h2(found[INBOUND])  # outbound only, as in Istio
    assert not h2(built({})[RATINGS])
