"""The cluster plan: one spec per service port and subset, discovery types, inbound ports."""

from __future__ import annotations

import pytest
import xds_fixtures as fx

from sailmesh.registry.model import FrozenMap, Service, ServicePort, Workload, frozen_map
from sailmesh.xds.plan import cluster_specs, discovery_for, inbound_ports
from sailmesh.xds.policy import EMPTY_POLICY, effective_policy
from sailmesh.xds.scope import build_scope

REVIEWS = "reviews.default.svc.cluster.local"


def service(hostname: str, resolution: str, *ports: ServicePort) -> Service:
    return Service(
        hostname, "default", ports or (ServicePort("http", 80, "HTTP"),), resolution=resolution
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hostname", "resolution", "discovery"),
    [
        ("a.example.com", "STATIC", "EDS"),
        ("a.example.com", "NONE", "ORIGINAL_DST"),
        ("a.example.com", "DNS", "STRICT_DNS"),
        ("a.example.com", "DNS_ROUND_ROBIN", "LOGICAL_DNS"),
        ("*.example.com", "DNS", None),  # a wildcard cannot be resolved
        ("*.example.com", "NONE", "ORIGINAL_DST"),
    ],
)
def test_discovery_for(hostname: str, resolution: str, discovery: str | None) -> None:
    assert discovery_for(service(hostname, resolution), EMPTY_POLICY) == discovery


def test_passthrough_load_balancer_means_original_dst() -> None:
    rule = fx.resource(
        "DestinationRule", "host: r\ntrafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}"
    )
    policy = effective_policy(rule, "", 80)
    assert discovery_for(service("a.example.com", "STATIC"), policy) == "ORIGINAL_DST"


def test_cluster_specs_per_port_and_subset() -> None:
    udp = service(
        "dns.example.com", "STATIC", ServicePort("dns", 53, "UDP"), ServicePort("tcp", 54, "TCP")
    )
    snap = fx.snapshot(fx.config(files=("destination-rule-all.yaml",)), extra_services=[udp])
    scope = build_scope(fx.productpage_proxy(), snap)
    specs = cluster_specs(scope)
    names = [s.name for s in specs]
    assert names[:1] == ["outbound|9080||details.default.svc.cluster.local"]
    assert "outbound|53||dns.example.com" not in names  # UDP ports get no cluster
    assert "outbound|54||dns.example.com" in names
    reviews = [
        (s.subset, dict(s.labels), s.discovery) for s in specs if s.service.hostname == REVIEWS
    ]
    assert reviews == [
        ("", {}, "EDS"),
        ("v1", {"version": "v1"}, "EDS"),
        ("v2", {"version": "v2"}, "EDS"),
        ("v3", {"version": "v3"}, "EDS"),
    ]
    assert cluster_specs(scope) == specs and scope.memo["cluster_specs"] == tuple(specs)


def test_inbound_ports_use_target_ports_and_named_container_ports() -> None:
    svc = Service(
        "api.default.svc.cluster.local",
        "default",
        (
            ServicePort("http", 80, "HTTP", 8080),
            ServicePort("metrics", 9100, "HTTP", "metrics"),
            ServicePort("missing", 9200, "HTTP", "nope"),  # no such container port: skipped
            ServicePort("dns", 53, "UDP"),
            ServicePort("grpc", 9090, "GRPC"),
        ),
        name="api",
        selector=frozen_map({"app": "api"}),
    )
    pod = Workload(
        "api-1",
        "default",
        "10.244.1.1",
        labels=frozen_map({"app": "api"}),
        ports=FrozenMap({"metrics": 15090}),
    )
    snap = fx.snapshot([], extra_services=[svc], extra_workloads=[pod])
    proxy = fx.productpage_proxy(ip="10.244.1.1", labels=frozen_map({"app": "api"}))
    found = [(p.port, p.name, p.protocol) for p in inbound_ports(build_scope(proxy, snap))]
    assert found == [(8080, "http", "HTTP"), (9090, "grpc", "GRPC"), (15090, "metrics", "HTTP")]
