"""Istio-compatible names: clusters, listeners, route configs, stat prefixes, config paths."""

from __future__ import annotations

import pytest
import xds_fixtures as fx

from sailmesh.xds import names


def test_names() -> None:
    assert names.outbound_cluster(9080, "v1", "reviews.default.svc.cluster.local") == (
        "outbound|9080|v1|reviews.default.svc.cluster.local"
    )
    assert names.inbound_cluster(9080) == "inbound|9080||"
    assert names.listener_name("0.0.0.0", 9080) == "0.0.0.0_9080"
    assert names.virtual_host("reviews.default.svc.cluster.local", 9080) == (
        "reviews.default.svc.cluster.local:9080"
    )
    assert names.parse_cluster("outbound|9080||a.b") == ("outbound", 9080, "", "a.b")
    assert names.parse_cluster("PassthroughCluster") is None
    assert names.kind_path_segment("VirtualService") == "virtual-service"
    assert names.kind_path_segment("DestinationRule") == "destination-rule"
    (vs,) = fx.config(
        "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\n"
        "metadata: {name: reviews, namespace: ns1}\n"
        "spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}}]}]}\n"
    )
    assert names.config_path(vs) == (
        "/apis/networking.istio.io/v1alpha3/namespaces/ns1/virtual-service/reviews"
    )


@pytest.mark.parametrize(
    "name",
    ["outbound|x||a.b", "sideways|80||a.b", "outbound|80|a.b", "outbound|80||a.b|extra", ""],
)
def test_parse_cluster_rejects_other_shapes(name: str) -> None:
    assert names.parse_cluster(name) is None


def test_parse_cluster_round_trips() -> None:
    for built in (names.outbound_cluster(443, "", "api.example.com"), names.inbound_cluster(9080)):
        parsed = names.parse_cluster(built)
        assert parsed is not None and "|".join(map(str, parsed)) == built


def test_route_config_virtual_host_and_stat_prefix_names() -> None:
    assert names.outbound_route_config(9080) == "9080"
    assert names.inbound_route_config(9080) == "inbound|9080||"
    assert names.inbound_virtual_host("http-web", 9080) == "inbound|http-web|9080"
    assert names.inbound_virtual_host("", 9080) == "inbound|http|9080"
    assert names.outbound_stat_prefix("10.96.0.12", 3306) == "outbound_10.96.0.12_3306"
    assert names.inbound_stat_prefix(9080) == "inbound_0.0.0.0_9080"
    assert names.inbound_filter_chain(9080, "http") == "0.0.0.0_9080"
    assert names.inbound_filter_chain(9080, "tcp") == "0.0.0.0_9080_tcp"


@pytest.mark.parametrize(
    ("kind", "segment"),
    [
        ("Gateway", "gateway"),
        ("ServiceEntry", "service-entry"),
        ("PeerAuthentication", "peer-authentication"),
        ("EnvoyFilter", "envoy-filter"),
    ],
)
def test_kind_path_segment_is_kebab_case(kind: str, segment: str) -> None:
    assert names.kind_path_segment(kind) == segment


def test_decorator_operation() -> None:
    host = "reviews.default.svc.cluster.local"
    assert names.decorator_operation(host, 9080) == f"{host}:9080/*"
