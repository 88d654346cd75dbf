"""Gateway proxies: Gateway servers -> bound listeners, VirtualServices -> ``http.<port>``."""

from __future__ import annotations

from typing import Any

import xds_fixtures as fx
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from config_support.manifests import manifests
from sailmesh.registry.model import frozen_map
from sailmesh.typeurls import LISTENER, ROUTE
from sailmesh.xds.gateway import gateways_for, route_config_name, translate_gateway
from sailmesh.xds.options import DEFAULT_OPTIONS, TranslateOptions

GATEWAYS = manifests("""
Gateway istio-system/public
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/bookinfo.example.com", "default/*.internal.example.com"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: cert}
---
Gateway istio-system/other
  selector: {istio: egressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
---
VirtualService default/bookinfo
  hosts: [bookinfo.example.com, api.internal.example.com, not-admitted.example.com]
  gateways: [istio-system/public]
  http: [{route: [{destination: {host: productpage, port: {number: 9080}}}]}]
---
VirtualService default/mesh-only
  hosts: [bookinfo.example.com]
  http: [{route: [{destination: {host: reviews}}]}]
""")


def ingress(**labels: str) -> Any:
    return fx.productpage_proxy(
        type="router",
        pod_name="ingress-1",
        namespace="istio-system",
        labels=frozen_map(labels or {"istio": "ingressgateway"}),
    )


def translated(options: TranslateOptions = DEFAULT_OPTIONS) -> dict[str, dict[str, Any]]:
    return translate_gateway(ingress(), fx.snapshot(fx.config(GATEWAYS)), options)


def test_gateways_are_chosen_by_selector() -> None:
    snap = fx.snapshot(fx.config(GATEWAYS))
    assert [g.name for g in gateways_for(ingress(), snap)] == ["public"]
    assert [g.name for g in gateways_for(ingress(istio="egressgateway"), snap)] == ["other"]
    assert gateways_for(ingress(app="nothing"), snap) == []


def test_http_servers_become_bound_listeners_with_edge_settings() -> None:
    listeners = translated()[LISTENER]
    # the HTTPS server's Secret does not exist: its chain still names it (Envoy waits for it)
    assert list(listeners) == ["0.0.0.0_80", "0.0.0.0_443"]
    listener = listeners["0.0.0.0_80"]
    address = listener.address.socket_address
    assert (address.address, address.port_value) == ("0.0.0.0", 80)
    hcm = hcm_pb2.HttpConnectionManager()
    assert listener.filter_chains[0].filters[0].typed_config.Unpack(hcm)
    assert hcm.rds.route_config_name == "http.80"
    assert hcm.use_remote_address.value is True and hcm.server_name == "istio-envoy"


def test_gateway_bind_and_substituted_ports() -> None:
    options = TranslateOptions(gateway_bind="127.0.0.1", gateway_ports=((80, 18080),))
    listener = translated(options)[LISTENER]["0.0.0.0_80"]  # the name keeps the server port
    address = listener.address.socket_address
    assert (address.address, address.port_value) == ("127.0.0.1", 18080)


def test_route_config_has_the_hosts_the_server_admits() -> None:
    config = translated()[ROUTE]["http.80"]
    assert config.name == route_config_name(80) == "http.80"
    assert config.ignore_port_in_host_matching is True
    hosts = [(vh.name, list(vh.domains)) for vh in config.virtual_hosts]
    assert hosts == [
        ("bookinfo.example.com:80", ["bookinfo.example.com"]),
        ("api.internal.example.com:80", ["api.internal.example.com"]),
    ]
    cluster = config.virtual_hosts[0].routes[0].route.cluster
    assert cluster == "outbound|9080||productpage.default.svc.cluster.local"
