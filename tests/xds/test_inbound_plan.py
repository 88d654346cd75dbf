"""Inbound ports from Sidecar ingress listeners (they replace the Services' ports), where each
forwards to, which pool applies, and when the listener's own TLS is terminated."""

from __future__ import annotations

import xds_fixtures as fx
from envoy.config.listener.v3 import listener_pb2

from config_support.manifests import manifests
from sailmesh.ads.resources import LISTENER
from sailmesh.xds.inbound_plan import inbound_ports, parse_default_endpoint
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.scope import build_scope
from sailmesh.xds.translate import translate

SIDECAR = """
Sidecar productpage
  workloadSelector:
    labels: {app: productpage}
  inboundConnectionPool:
    http: {idleTimeout: 30s}
  ingress:
  - port: {number: 9080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:8080
  - port: {number: 7070, protocol: TCP, name: tcp}
    defaultEndpoint: 0.0.0.0:7171
    connectionPool:
      tcp: {maxConnections: 3}
%s
"""
OWN_TLS = """  - port: {number: 7443, protocol: HTTPS, name: https}
    defaultEndpoint: 127.0.0.1:8080
    tls: {mode: SIMPLE, serverCertificate: /c.pem, privateKey: /k.pem}
  - port: {number: 7444, protocol: HTTPS, name: credential}
    defaultEndpoint: 127.0.0.1:8080
    tls: {mode: SIMPLE, credentialName: cred}"""

PLAIN_7443 = """
---
PeerAuthentication productpage-plain
  selector:
    matchLabels: {app: productpage}
  portLevelMtls:
    7443: {mode: DISABLE}"""


def _ports(extra: str = "") -> dict[int, object]:
    snap = fx.snapshot(fx.config(manifests(SIDECAR % extra)))
    return {p.port: p for p in inbound_ports(build_scope(fx.productpage_proxy(), snap))}


def test_ingress_listeners_replace_the_services_ports() -> None:
    ports = _ports()
    assert sorted(ports) == [7070, 9080]
    http, tcp = ports[9080], ports[7070]
    # 9080 is also productpage's Service target port: attributed to that service
    assert http.service.hostname == "productpage.default.svc.cluster.local"  # type: ignore[attr-defined]
    assert (http.endpoint, http.app_port) == ("localhost", 8080)  # type: ignore[attr-defined]
    # no Service declares 7070: Istio's synthetic <sidecar>.<namespace> service
    assert tcp.service.hostname == "productpage.default"  # type: ignore[attr-defined]
    assert (tcp.endpoint, tcp.app_port) == ("pod", 7171)  # type: ignore[attr-defined]


def test_a_listeners_pool_overrides_the_sidecars() -> None:
    ports = _ports()
    assert ports[9080].pool.http.idle_timeout is not None  # type: ignore[attr-defined]
    assert ports[7070].pool.http is None  # type: ignore[attr-defined]
    assert ports[7070].pool.tcp.max_connections == 3  # type: ignore[attr-defined]


def test_default_endpoint_forms() -> None:
    assert parse_default_endpoint(None) == ("original", 0, "")
    assert parse_default_endpoint("127.0.0.1:80") == ("localhost", 80, "")
    assert parse_default_endpoint("0.0.0.0:80") == ("pod", 80, "")
    assert parse_default_endpoint("unix:///run/a.sock") == ("unix", 0, "/run/a.sock")


def test_own_tls_needs_files_and_terminates_as_http() -> None:
    ports = _ports(OWN_TLS)
    files, credential = ports[7443], ports[7444]
    assert files.tls is not None and files.protocol == "HTTP"  # type: ignore[attr-defined]
    # a credentialName alone: sidecars get no Secrets, the port stays TLS passed through
    assert credential.tls is None and credential.protocol == "HTTPS"  # type: ignore[attr-defined]


def _inbound_chains(extra: str, sds: bool) -> dict[str, listener_pb2.FilterChain]:
    snap = fx.snapshot(fx.config(manifests(SIDECAR % extra)))
    out = translate(fx.productpage_proxy(), snap, options=TranslateOptions(sds=sds))
    listener = out[LISTENER]["virtualInbound"]
    return {c.name: c for c in listener.filter_chains}


def test_own_tls_only_where_mutual_tls_is_off() -> None:
    plain = _inbound_chains(OWN_TLS, sds=False)
    assert plain["0.0.0.0_7443_tls"].HasField("transport_socket")
    # with an identity the port is PERMISSIVE: Istio's mutual TLS chains, not the listener's
    mtls = _inbound_chains(OWN_TLS, sds=True)
    assert "0.0.0.0_7443_mtls" in mtls
    disabled = OWN_TLS + PLAIN_7443
    own = _inbound_chains(disabled, sds=True)["0.0.0.0_7443_tls"]
    assert own.transport_socket.name == "envoy.transport_sockets.tls"
