"""EDS: LbEndpoints with Istio metadata, locality groups, subset selection, DNS endpoints."""

from __future__ import annotations

from typing import Any

import xds_fixtures as fx
from envoy.config.core.v3 import health_check_pb2

from sailmesh.registry.model import Endpoint, Service, ServicePort, frozen_map
from sailmesh.xds.endpoints import (
    build_endpoints,
    dns_load_assignment,
    lb_endpoint,
    load_assignment,
    select,
)
from sailmesh.xds.plan import cluster_specs
from sailmesh.xds.scope import build_scope

PORT = ServicePort("http", 9080, "HTTP")
REVIEWS = "reviews.default.svc.cluster.local"


def endpoint(address: str, locality: str = "", weight: int = 1, **labels: str) -> Endpoint:
    return Endpoint(
        hostname=REVIEWS,
        service_port=PORT,
        address=address,
        port=9080,
        labels=frozen_map(labels),
        locality=locality,
        weight=weight,
        workload=f"w-{address}",
        namespace="default",
    )


def test_lb_endpoint_with_workload_metadata() -> None:
    ep = endpoint("10.0.0.1", weight=0, app="reviews", version="v2")
    assert fx.as_dict(lb_endpoint(ep)) == {
        "endpoint": {"address": {"socketAddress": {"address": "10.0.0.1", "portValue": 9080}}},
        "healthStatus": "HEALTHY",
        "loadBalancingWeight": 1,  # at least 1
        "metadata": {
            "filterMetadata": {
                "istio": {
                    "workload": "w-10.0.0.1;default;reviews;v2;Kubernetes",
                    "labels": {"app": "reviews", "version": "v2"},
                }
            }
        },
    }
    assert not lb_endpoint(ep, with_metadata=False).HasField("metadata")


def test_workload_id_prefers_canonical_labels_and_defaults() -> None:
    canonical = endpoint(
        "10.0.0.1",
        **{"service.istio.io/canonical-name": "rv", "service.istio.io/canonical-revision": "r7"},
    )
    bare = endpoint("10.0.0.2")

    def workload_of(ep: Endpoint) -> str:
        return str(fx.as_dict(lb_endpoint(ep).metadata)["filterMetadata"]["istio"]["workload"])

    assert workload_of(canonical) == "w-10.0.0.1;default;rv;r7;Kubernetes"
    assert workload_of(bare) == "w-10.0.0.2;default;w-10.0.0.2;latest;Kubernetes"


def test_unhealthy_endpoints_and_endpoints_without_workload() -> None:
    sick = Endpoint(REVIEWS, PORT, "10.0.0.9", 9080, healthy=False)
    found = lb_endpoint(sick)
    assert found.health_status == health_check_pb2.HealthStatus.UNHEALTHY
    assert not found.HasField("metadata")  # no workload name: no metadata


def test_select_by_subset_labels() -> None:
    eps = [endpoint("1", version="v1"), endpoint("2", version="v2", track="x"), endpoint("3")]
    assert [e.address for e in select(eps, {"version": "v2"})] == ["2"]
    assert [e.address for e in select(eps, {"version": "v2", "track": "y"})] == []
    assert [e.address for e in select(eps, {})] == ["1", "2", "3"]


def test_load_assignment_groups_by_locality_in_a_stable_order() -> None:
    eps = [
        endpoint("10.0.0.3", "us/west/b", weight=2),
        endpoint("10.0.0.1", ""),
        endpoint("10.0.0.2", "us/west/b", weight=3),
        endpoint("10.0.0.4", "eu"),
    ]
    cache: dict[Endpoint, Any] = {}
    cla = load_assignment("outbound|9080||reviews", eps, cache)
    groups = [
        (
            fx.as_dict(g.locality),
            [lb.endpoint.address.socket_address.address for lb in g.lb_endpoints],
            g.load_balancing_weight.value,
        )
        for g in cla.endpoints
    ]
    assert cla.cluster_name == "outbound|9080||reviews"
    assert groups == [
        ({}, ["10.0.0.1"], 1),
        ({"region": "eu"}, ["10.0.0.4"], 1),
        ({"region": "us", "zone": "west", "subZone": "b"}, ["10.0.0.2", "10.0.0.3"], 5),
    ]
    assert set(cache) == set(eps)  # built once, reusable by the next assignment
    again = load_assignment("outbound|9080|v1|reviews", eps[:1], cache)
    assert again.endpoints[0].lb_endpoints[0] == cache[eps[0]]


def test_build_endpoints_has_one_assignment_per_eds_cluster() -> None:
    snap = fx.snapshot(fx.config(files=("destination-rule-all.yaml",)))
    scope = build_scope(fx.productpage_proxy(), snap)
    found = build_endpoints(scope)
    assert set(found) == {s.name for s in cluster_specs(scope) if s.discovery == "EDS"}
    addresses = {
        name: sorted(
            lb.endpoint.address.socket_address.address
            for group in cla.endpoints
            for lb in group.lb_endpoints
        )
        for name, cla in found.items()
        if "reviews" in name
    }
    assert addresses == {
        f"outbound|9080||{REVIEWS}": ["10.244.0.21", "10.244.0.22", "10.244.0.23"],
        f"outbound|9080|v1|{REVIEWS}": ["10.244.0.21"],
        f"outbound|9080|v2|{REVIEWS}": ["10.244.0.22"],
        f"outbound|9080|v3|{REVIEWS}": ["10.244.0.23"],
    }


def _dns_spec(resolution: str, target_port: int | None = None) -> Any:
    service = Service(
        hostname="api.example.com",
        namespace="default",
        ports=(ServicePort("https", 443, "TLS", target_port),),
        resolution=resolution,  # type: ignore[arg-type]
    )
    scope = build_scope(fx.productpage_proxy(), fx.snapshot([], extra_services=[service]))
    (spec,) = [s for s in cluster_specs(scope) if s.service is service]
    return scope, spec


def test_dns_cluster_without_endpoints_resolves_the_host_itself() -> None:
    scope, spec = _dns_spec("DNS", target_port=8443)
    assert spec.discovery == "STRICT_DNS"
    cla = dns_load_assignment(scope, spec)
    (group,) = cla.endpoints
    (lb,) = group.lb_endpoints
    address = lb.endpoint.address.socket_address
    assert (cla.cluster_name, address.address, address.port_value) == (
        "outbound|443||api.example.com",
        "api.example.com",
        8443,
    )
    _, plain = _dns_spec("DNS_ROUND_ROBIN")
    assert plain.discovery == "LOGICAL_DNS"
    port = dns_load_assignment(scope, plain).endpoints[0].lb_endpoints[0].endpoint.address
    assert port.socket_address.port_value == 443
