"""CDS: outbound clusters per service port and subset, the fixed clusters, inbound clusters."""

from __future__ import annotations

from typing import Any

import xds_fixtures as fx
from envoy.config.cluster.v3 import cluster_pb2

from sailmesh.registry.model import Service, ServicePort
from sailmesh.xds.clusters import build_clusters
from sailmesh.xds.scope import build_scope

Cluster = cluster_pb2.Cluster
REVIEWS = "reviews.default.svc.cluster.local"
EXTERNAL = Service(
    "api.example.com", "default", (ServicePort("https", 443, "TLS"),), resolution="DNS"
)
GRPC = fx.service("grpc-api", 9090, "GRPC")


def clusters(*texts: str, **proxy: object) -> dict[str, Any]:
    snap = fx.snapshot(
        fx.config(*texts, files=("destination-rule-all.yaml",)), extra_services=[EXTERNAL, GRPC]
    )
    return build_clusters(build_scope(fx.productpage_proxy(**proxy), snap))


def test_cluster_names() -> None:
    found = clusters()
    assert {
        "PassthroughCluster",
        "BlackHoleCluster",
        "InboundPassthroughCluster",
        "inbound|9080||",
        f"outbound|9080||{REVIEWS}",
        f"outbound|9080|v3|{REVIEWS}",
        "outbound|443||api.example.com",
    } <= set(found)
    assert "InboundPassthroughCluster" not in clusters(interception="NONE")


def test_eds_cluster_with_istio_metadata() -> None:
    v1 = clusters()[f"outbound|9080|v1|{REVIEWS}"]
    assert v1.type == Cluster.EDS
    assert v1.eds_cluster_config.service_name == f"outbound|9080|v1|{REVIEWS}"
    assert v1.eds_cluster_config.eds_config.HasField("ads")
    assert v1.connect_timeout.seconds == 10
    assert v1.lb_policy == Cluster.LEAST_REQUEST
    assert fx.as_dict(v1.metadata) == {
        "filterMetadata": {
            "istio": {
                "services": [{"host": REVIEWS, "name": "reviews", "namespace": "default"}],
                "config": "/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews",
            }
        }
    }


def test_dns_cluster_carries_its_endpoints() -> None:
    external = clusters()["outbound|443||api.example.com"]
    assert external.type == Cluster.STRICT_DNS
    assert external.dns_lookup_family == Cluster.V4_ONLY and external.respect_dns_ttl
    address = external.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address
    assert (address.socket_address.address, address.socket_address.port_value) == (
        "api.example.com",
        443,
    )
    assert dict(external.typed_extension_protocol_options) == {}  # TLS: no HTTP options


def test_http2_ports_speak_http2_upstream() -> None:
    grpc = clusters()["outbound|9090||grpc-api.default.svc.cluster.local"]
    assert list(grpc.typed_extension_protocol_options) == [
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    ]


def test_passthrough_and_black_hole() -> None:
    found = clusters()
    passthrough = found["PassthroughCluster"]
    assert (passthrough.type, passthrough.lb_policy) == (
        Cluster.ORIGINAL_DST,
        Cluster.CLUSTER_PROVIDED,
    )
    assert passthrough.circuit_breakers.thresholds[0].max_connections.value == 4_294_967_295
    black_hole = found["BlackHoleCluster"]
    assert black_hole.type == Cluster.STATIC and not black_hole.HasField("load_assignment")


def test_inbound_clusters_bind_to_the_inbound_passthrough_address() -> None:
    found = clusters()
    local = found["inbound|9080||"]
    assert local.type == Cluster.STATIC
    assert local.upstream_bind_config.source_address.address == "127.0.0.6"
    address = local.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address
    assert (address.address, address.port_value) == ("127.0.0.1", 9080)
    assert found["InboundPassthroughCluster"].upstream_bind_config.source_address.address == (
        "127.0.0.6"
    )
    explicit = clusters(interception="NONE")["inbound|9080||"]
    assert not explicit.HasField("upstream_bind_config")


def test_inbound_connection_pool_from_the_sidecar() -> None:
    sidecar = fx.resource(
        "Sidecar", "inboundConnectionPool: {tcp: {maxConnections: 3}}", name="default"
    )
    snap = fx.snapshot([sidecar])
    local = build_clusters(build_scope(fx.productpage_proxy(), snap))["inbound|9080||"]
    assert local.circuit_breakers.thresholds[0].max_connections.value == 3
