"""LDS: which listeners a sidecar gets and what each one does."""

from __future__ import annotations

from typing import Any

import xds_fixtures as fx
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2

from sailmesh.registry.model import Service, ServicePort
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.xds.listeners import build_listeners
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.scope import build_scope

ALL_PORTS = [
    fx.tcp_service("mysql", 3306, vip="10.96.0.30"),
    fx.tcp_service("redis", 6379),  # no VIP: 0.0.0.0_6379
    Service(
        hostname="web.default.svc.cluster.local",
        namespace="default",
        ports=(ServicePort("web", 8000, "AUTO"),),
        vip="10.96.0.31",
        name="web",
    ),
    Service(
        hostname="secure.example.com",
        namespace="default",
        ports=(ServicePort("tls", 6379, "TLS"),),  # shares 6379, no VIP: by SNI
        resolution="DNS",
    ),
]


def listeners(mesh: MeshConfig | None = None, **proxy: object) -> dict[str, Any]:
    snap = fx.snapshot([], extra_services=ALL_PORTS, mesh=mesh)
    scope = build_scope(fx.productpage_proxy(**proxy), snap)
    return build_listeners(scope, TranslateOptions(protocol_detection_timeout_nanos=5_000_000))


def tcp_cluster(chain: Any) -> str:
    proxy = tcp_proxy_pb2.TcpProxy()
    assert chain.filters[0].typed_config.Unpack(proxy)
    return proxy.cluster


def test_a_capturing_sidecar_gets_virtual_port_and_vip_listeners() -> None:
    found = listeners()
    assert list(found) == [
        "virtualOutbound",
        "0.0.0.0_8000",
        "0.0.0.0_9080",
        "10.96.0.30_3306",
        "10.96.0.31_8000",
        "0.0.0.0_6379",
        "virtualInbound",
    ]
    outbound = found["virtualOutbound"]
    assert outbound.use_original_dst.value is True
    assert (outbound.address.socket_address.port_value, outbound.bind_to_port.ByteSize()) == (
        15001,
        0,  # bound (the default)
    )
    (chain,) = outbound.filter_chains
    assert (chain.name, tcp_cluster(chain)) == ("PassthroughFilterChain", "PassthroughCluster")


def test_registry_only_passes_through_to_the_black_hole() -> None:
    found = listeners(MeshConfig(outbound_traffic_policy="REGISTRY_ONLY"))
    assert tcp_cluster(found["virtualOutbound"].filter_chains[0]) == "BlackHoleCluster"


def test_http_port_listener_uses_rds_and_does_not_bind() -> None:
    http = listeners()["0.0.0.0_9080"]
    assert http.bind_to_port.value is False
    (chain,) = http.filter_chains
    assert chain.name == "0.0.0.0_9080"
    assert chain.filters[0].name == "envoy.filters.network.http_connection_manager"
    assert not http.listener_filters  # a declared HTTP port is not sniffed


def test_a_port_with_an_auto_service_sniffs_and_passes_the_rest_through() -> None:
    sniffed = listeners()["0.0.0.0_8000"]
    assert [f.name for f in sniffed.listener_filters] == ["envoy.filters.listener.http_inspector"]
    (chain,) = sniffed.filter_chains
    assert list(chain.filter_chain_match.application_protocols) == ["http/1.1", "h2c"]
    assert tcp_cluster(sniffed.default_filter_chain) == "PassthroughCluster"


def test_tcp_service_with_a_vip() -> None:
    mysql = listeners()["10.96.0.30_3306"]
    assert mysql.address.socket_address.address == "10.96.0.30"
    (chain,) = mysql.filter_chains
    assert tcp_cluster(chain) == "outbound|3306||mysql.default.svc.cluster.local"


def test_auto_service_with_a_vip_sniffs_http() -> None:
    web = listeners()["10.96.0.31_8000"]
    assert [f.name for f in web.listener_filters] == ["envoy.filters.listener.http_inspector"]
    assert web.continue_on_listener_filters_timeout is True
    assert web.listener_filters_timeout.nanos == 5_000_000
    (http_chain,) = web.filter_chains
    assert http_chain.name == "10.96.0.31_8000_http"
    assert list(http_chain.filter_chain_match.application_protocols) == ["http/1.1", "h2c"]
    assert tcp_cluster(web.default_filter_chain) == "outbound|8000||web.default.svc.cluster.local"


def test_wildcard_port_picks_tls_by_sni_and_tcp_by_default() -> None:
    shared = listeners()["0.0.0.0_6379"]
    assert [f.name for f in shared.listener_filters] == ["envoy.filters.listener.tls_inspector"]
    (tls_chain,) = shared.filter_chains
    assert list(tls_chain.filter_chain_match.server_names) == ["secure.example.com"]
    assert tcp_cluster(tls_chain) == "outbound|6379||secure.example.com"
    assert tcp_cluster(shared.default_filter_chain) == (
        "outbound|6379||redis.default.svc.cluster.local"
    )


def test_an_explicit_sidecar_gets_one_http_proxy_listener() -> None:
    found = listeners(interception="NONE")
    assert list(found) == ["127.0.0.1_15001"]
    listener = found["127.0.0.1_15001"]
    assert listener.address.socket_address.address == "127.0.0.1"
    assert listener.filter_chains[0].filters[0].name == (
        "envoy.filters.network.http_connection_manager"
    )


def _ranged(port: int, protocol: str = "TCP") -> Service:
    return Service(
        hostname=f"ranged{port}.example.com",
        namespace="default",
        ports=(ServicePort("p", port, protocol),),
        cidrs=("240.0.7.0/24",),
    )


def _with(*extra: Service) -> dict[str, Any]:
    snap = fx.snapshot([], extra_services=[*ALL_PORTS, *extra])
    return build_listeners(build_scope(fx.productpage_proxy(), snap), TranslateOptions())


def test_an_address_range_gets_a_destination_prefix_chain_and_passes_the_rest_through() -> None:
    listener = _with(_ranged(7000))["0.0.0.0_7000"]
    [chain] = listener.filter_chains
    assert chain.name == "240.0.7.0_24_7000"
    [prefix] = chain.filter_chain_match.prefix_ranges
    assert (prefix.address_prefix, prefix.prefix_len.value) == ("240.0.7.0", 24)
    assert tcp_cluster(chain) == "outbound|7000||ranged7000.example.com"
    assert tcp_cluster(listener.default_filter_chain) == "PassthroughCluster"


def test_an_address_range_joins_the_ports_http_and_tcp_listeners() -> None:
    found = _with(_ranged(9080), _ranged(6379))
    for name in ("0.0.0.0_9080", "0.0.0.0_6379"):
        ranged = [c for c in found[name].filter_chains if c.filter_chain_match.prefix_ranges]
        assert [c.name for c in ranged] == [name.replace("0.0.0.0", "240.0.7.0_24")]
    # redis (no VIP, no range) still takes the rest of 6379, secure.example.com its SNI
    assert tcp_cluster(found["0.0.0.0_6379"].default_filter_chain).endswith(
        "redis.default.svc.cluster.local"
    )
