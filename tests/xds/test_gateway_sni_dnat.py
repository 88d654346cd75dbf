"""Gateway AUTO_PASSTHROUGH (Istio's cross-network gateway): SNI chains named
``outbound_.<port>_.<subset>_.<host>`` forwarding to clusters of the same name, which carry no
TLS of their own; golden listener, clusters and endpoints (refresh with
``SAILMESH_UPDATE_GOLDEN=1``) and real Envoy accepting them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2
from gateway_world import ingress, world
from google.protobuf import json_format
from xds_envoy_static import assert_envoy_accepts

from config_support.manifests import manifests
from sailmesh.typeurls import CLUSTER, ENDPOINT, LISTENER
from sailmesh.xds.gateway import translate_gateway
from sailmesh.xds.options import TranslateOptions

GOLDEN = Path(__file__).parent / "golden" / "gateway_auto_passthrough.json"
SDS = TranslateOptions(sds=True)
REVIEWS_V1 = "outbound_.9080_.v1_.reviews.default.svc.cluster.local"

CROSS_NETWORK = """
Gateway istio-system/cross-network-gateway
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 15443, name: tls, protocol: TLS}
    tls: {mode: AUTO_PASSTHROUGH}
    hosts: ["*.local"]
---
Gateway istio-system/ratings-only
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 16443, name: tls, protocol: TLS}
    tls: {mode: AUTO_PASSTHROUGH}
    hosts: ["default/ratings.default.svc.cluster.local"]
---
DestinationRule default/reviews
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
---
ServiceEntry default/external
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: DNS
"""


def translated() -> dict[str, dict[str, Any]]:
    return translate_gateway(ingress(), world(manifests(CROSS_NETWORK)), SDS)


def _server_names(listener: Any) -> list[str]:
    return [n for c in listener.filter_chains for n in c.filter_chain_match.server_names]


def _tcp_cluster(chain: Any) -> str:
    proxy = tcp_proxy_pb2.TcpProxy()
    chain.filters[-1].typed_config.Unpack(proxy)
    return str(proxy.cluster)


def test_each_mesh_service_port_and_subset_is_an_sni_chain() -> None:
    found = translated()
    listener = found[LISTENER]["0.0.0.0_15443"]
    names = _server_names(listener)
    assert REVIEWS_V1 in names
    assert "outbound_.9080_._.ratings.default.svc.cluster.local" in names
    assert not any("api.example.com" in n for n in names)  # MESH_EXTERNAL: not exposed
    assert [f.name for f in listener.listener_filters] == ["envoy.filters.listener.tls_inspector"]
    for chain in listener.filter_chains:
        (name,) = chain.filter_chain_match.server_names
        assert _tcp_cluster(chain) == name  # the SNI names the cluster
        assert not chain.HasField("transport_socket")  # the client's TLS is not terminated
    only = found[LISTENER]["0.0.0.0_16443"]
    assert _server_names(only) == ["outbound_.9080_._.ratings.default.svc.cluster.local"]


def test_sni_clusters_forward_the_clients_tls_to_the_services_endpoints() -> None:
    found = translated()
    cluster = found[CLUSTER][REVIEWS_V1]
    assert not cluster.HasField("transport_socket") and not cluster.transport_socket_matches
    assert cluster.eds_cluster_config.service_name == REVIEWS_V1
    # the same endpoints as the ordinary subset cluster
    plain = found[ENDPOINT]["outbound|9080|v1|reviews.default.svc.cluster.local"]
    assert found[ENDPOINT][REVIEWS_V1].endpoints == plain.endpoints
    # the ordinary clusters keep their mutual TLS
    ordinary = found[CLUSTER]["outbound|9080|v1|reviews.default.svc.cluster.local"]
    assert ordinary.transport_socket_matches or ordinary.HasField("transport_socket")


def test_a_gateway_without_auto_passthrough_has_no_sni_clusters() -> None:
    found = translate_gateway(ingress(), world(), SDS)
    assert not [n for n in found[CLUSTER] if n.startswith("outbound_.")]


def test_golden_auto_passthrough() -> None:
    found = translated()

    def plain(message: Any) -> Any:
        return json_format.MessageToDict(message, preserving_proto_field_name=True)

    view = {
        "listener": plain(found[LISTENER]["0.0.0.0_15443"]),
        "clusters": {n: plain(c) for n, c in found[CLUSTER].items() if n.startswith("outbound_.")},
        "endpoints": {
            n: plain(e) for n, e in found[ENDPOINT].items() if n.startswith("outbound_.")
        },
    }
    text = json.dumps(view, indent=1, sort_keys=True) + "\n"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert GOLDEN.read_text() == text


def test_envoy_accepts_the_cross_network_gateway(tmp_path: Path) -> None:
    assert_envoy_accepts(translated(), tmp_path, str(tmp_path / "sds.sock"))
