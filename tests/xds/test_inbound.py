"""The virtualInbound listener: one filter chain set per workload port, loops and passthrough."""

from __future__ import annotations

from typing import Any

import xds_fixtures as fx

from sailmesh.registry.model import Service, ServicePort, Workload, frozen_map
from sailmesh.xds.inbound import inbound_chains, inbound_route_config, virtual_inbound
from sailmesh.xds.options import DEFAULT_OPTIONS, TranslateOptions
from sailmesh.xds.plan import InboundPort
from sailmesh.xds.scope import build_scope

API = Service(
    "api.default.svc.cluster.local",
    "default",
    (
        ServicePort("http", 80, "HTTP", 8080),
        ServicePort("db", 5432, "TCP"),
        ServicePort("web", 9000, "AUTO"),
    ),
    name="api",
    selector=frozen_map({"app": "api"}),
)
POD = Workload("api-1", "default", "10.244.1.1", labels=frozen_map({"app": "api"}))


def listener(options: TranslateOptions = DEFAULT_OPTIONS) -> Any:
    snap = fx.snapshot([], extra_services=[API], extra_workloads=[POD])
    proxy = fx.productpage_proxy(ip="10.244.1.1", labels=frozen_map({"app": "api"}))
    return virtual_inbound(build_scope(proxy, snap), options)


def test_filter_chains_in_order() -> None:
    found = listener()
    assert found.name == "virtualInbound"
    assert found.address.socket_address.port_value == 15006
    chains = [
        (
            c.name,
            c.filter_chain_match.destination_port.value,
            list(c.filter_chain_match.application_protocols),
        )
        for c in found.filter_chains
    ]
    assert chains == [
        ("virtualInbound-blackhole", 15006, []),
        ("0.0.0.0_5432_tcp", 5432, []),
        ("0.0.0.0_8080", 8080, []),
        ("0.0.0.0_9000", 9000, ["http/1.1", "h2c"]),  # AUTO: sniffed HTTP ...
        ("0.0.0.0_9000_tcp", 9000, []),  # ... and the rest as TCP
        ("InboundPassthroughFilterChain", 0, []),
    ]


def test_sniffing_needs_the_http_inspector() -> None:
    found = listener(TranslateOptions(protocol_detection_timeout_nanos=100_000_000))
    assert [f.name for f in found.listener_filters] == [
        "envoy.filters.listener.original_dst",
        "envoy.filters.listener.http_inspector",
    ]
    assert found.continue_on_listener_filters_timeout is True
    assert found.listener_filters_timeout.nanos == 100_000_000


def test_without_auto_ports_only_original_dst() -> None:
    snap = fx.snapshot([])
    found = virtual_inbound(build_scope(fx.productpage_proxy(), snap), DEFAULT_OPTIONS)
    assert [f.name for f in found.listener_filters] == ["envoy.filters.listener.original_dst"]


def test_inbound_route_config_sends_everything_to_the_local_app() -> None:
    config = inbound_route_config(InboundPort(8080, "http-api", "HTTP", API))
    assert config.name == "inbound|8080||"
    assert config.validate_clusters.value is False
    (vh,) = config.virtual_hosts
    assert (vh.name, list(vh.domains)) == ("inbound|http-api|8080", ["*"])
    (route,) = vh.routes
    assert route.route.cluster == "inbound|8080||"
    assert route.decorator.operation == "api.default.svc.cluster.local:8080/*"


def test_inbound_chains_by_protocol() -> None:
    def names(protocol: str) -> list[str]:
        port = InboundPort(7000, "p", protocol, API)
        snap = fx.snapshot([], extra_services=[API], extra_workloads=[POD])
        proxy = fx.productpage_proxy(ip="10.244.1.1", labels=frozen_map({"app": "api"}))
        scope = build_scope(proxy, snap)
        return [c.filters[-1].name for c in inbound_chains(scope, port, DEFAULT_OPTIONS)]

    hcm, tcp = "envoy.filters.network.http_connection_manager", "envoy.filters.network.tcp_proxy"
    assert names("GRPC") == [hcm]
    assert names("MYSQL") == [tcp]
    assert names("AUTO") == [hcm, tcp]
