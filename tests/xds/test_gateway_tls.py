"""Gateway TLS, TCP and passthrough servers: listeners, SNI chains, TLS contexts, credential
Secrets over SDS, Istio's server merging; golden listeners and routes (refresh with
``SAILMESH_UPDATE_GOLDEN=1``) and real Envoy accepting them."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import xds_fixtures as fx
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, tls_pb2
from gateway_world import ingress, world
from xds_envoy_static import assert_envoy_accepts

from config_support.manifests import manifests
from sailmesh.typeurls import CLUSTER, LISTENER, ROUTE, SECRET
from sailmesh.xds.gateway import translate_gateway
from sailmesh.xds.generate import generate
from sailmesh.xds.options import TranslateOptions

GOLDEN = Path(__file__).parent / "golden" / "gateway_servers.json"
SDS = TranslateOptions(sds=True)


def translated(extra: str = "", options: TranslateOptions = SDS) -> dict[str, dict[str, Any]]:
    return translate_gateway(ingress(), world(extra), options)


def _context(chain: Any) -> tls_pb2.DownstreamTlsContext:
    context = tls_pb2.DownstreamTlsContext()
    assert chain.transport_socket.typed_config.Unpack(context)
    return context


def _chains(listener: Any) -> dict[str, Any]:
    return {",".join(c.filter_chain_match.server_names) or "*": c for c in listener.filter_chains}


def test_servers_sharing_a_port_merge_and_a_clashing_protocol_is_dropped() -> None:
    found = translated()
    assert list(found[LISTENER]) == [
        "0.0.0.0_80",
        "0.0.0.0_443",
        "127.0.0.1_8080",  # bind: the listener binds the address and is named after it
        "0.0.0.0_8443",
        "0.0.0.0_9443",
        "0.0.0.0_31400",
    ]
    # the later Gateway's plain HTTP server on 443 is dropped, as Istio drops it
    assert "http.443" not in found[ROUTE]
    chains = _chains(found[LISTENER]["0.0.0.0_443"])
    assert list(chains) == [
        "bookinfo.example.com",
        "mutual.example.com",
        "optional.example.com",
        "mesh.example.com",
    ]
    address = found[LISTENER]["127.0.0.1_8080"].address.socket_address
    assert (address.address, address.port_value) == ("127.0.0.1", 8080)


def test_each_tls_mode_gets_its_context() -> None:
    chains = _chains(translated()[LISTENER]["0.0.0.0_443"])
    simple = _context(chains["bookinfo.example.com"])
    assert not simple.require_client_certificate.value
    common = simple.common_tls_context
    assert [s.name for s in common.tls_certificate_sds_secret_configs] == [
        "kubernetes://bookinfo-cert"
    ]
    assert common.tls_certificate_sds_secret_configs[0].sds_config.HasField("ads")
    assert common.tls_params.tls_minimum_protocol_version == common_pb2.TlsParameters.TLSv1_3
    assert list(common.alpn_protocols) == ["h2", "http/1.1"]

    mutual = _context(chains["mutual.example.com"])
    assert mutual.require_client_certificate.value
    combined = mutual.common_tls_context.combined_validation_context
    assert combined.validation_context_sds_secret_config.name == "kubernetes://mutual-cert-cacert"
    checks = combined.default_validation_context
    assert list(checks.verify_certificate_hash) == [
        "AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB"
    ]
    assert {m.matcher.exact for m in checks.match_typed_subject_alt_names} == {"client.example.com"}
    params = mutual.common_tls_context.tls_params
    assert list(params.cipher_suites) == ["ECDHE-ECDSA-AES128-GCM-SHA256"]

    optional = _context(chains["optional.example.com"])
    assert not optional.require_client_certificate.value
    assert optional.common_tls_context.HasField("combined_validation_context")

    mesh = _context(chains["mesh.example.com"]).common_tls_context
    assert [s.name for s in mesh.tls_certificate_sds_secret_configs] == ["default"]
    assert mesh.combined_validation_context.validation_context_sds_secret_config.name == "ROOTCA"


def test_istio_mutual_needs_the_gateway_identity() -> None:
    chains = _chains(translated(options=TranslateOptions())[LISTENER]["0.0.0.0_443"])
    assert "mesh.example.com" not in chains


def test_file_certificates_are_read_by_envoy() -> None:
    extra = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: files, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 7443, name: https-files, protocol: HTTPS}
    hosts: [files.example.com]
    tls: {mode: MUTUAL, serverCertificate: /certs/cert.pem, privateKey: /certs/key.pem,
          caCertificates: /certs/ca.pem, verifyCertificateSpki: ["c2Vj"]}
"""
    common = _context(translated(extra)[LISTENER]["0.0.0.0_7443"].filter_chains[0])
    pair = common.common_tls_context.tls_certificates[0]
    assert (pair.certificate_chain.filename, pair.private_key.filename) == (
        "/certs/cert.pem",
        "/certs/key.pem",
    )
    validation = common.common_tls_context.validation_context
    assert validation.trusted_ca.filename == "/certs/ca.pem"
    assert list(validation.verify_certificate_spki) == ["c2Vj"]


def test_passthrough_tcp_and_terminated_tls_forward_streams() -> None:
    listeners = translated()[LISTENER]
    passthrough = _chains(listeners["0.0.0.0_8443"])
    assert list(passthrough) == [
        "reviews.passthrough.example.com",
        "ratings.passthrough.example.com",
    ]
    assert not passthrough["reviews.passthrough.example.com"].HasField("transport_socket")
    proxy = tcp_proxy_pb2.TcpProxy()
    passthrough["ratings.passthrough.example.com"].filters[0].typed_config.Unpack(proxy)
    assert [(c.name, c.weight) for c in proxy.weighted_clusters.clusters] == [
        ("outbound|9080||ratings.default.svc.cluster.local", 80),
        ("outbound|9080||details.default.svc.cluster.local", 20),
    ]
    terminated = listeners["0.0.0.0_9443"].filter_chains[0]
    assert terminated.HasField("transport_socket")
    terminated.filters[0].typed_config.Unpack(proxy)
    assert proxy.cluster == "outbound|9080||details.default.svc.cluster.local"
    listeners["0.0.0.0_31400"].filter_chains[0].filters[0].typed_config.Unpack(proxy)
    assert proxy.cluster == "outbound|9080||ratings.default.svc.cluster.local"


def test_https_redirect_requires_tls() -> None:
    (host,) = translated()[ROUTE]["http.80"].virtual_hosts
    assert host.domains == ["bookinfo.example.com"] and host.require_tls == host.ALL


def test_credentials_come_from_secrets_of_the_gateway_namespace() -> None:
    secrets = translated()[SECRET]
    assert list(secrets) == [
        "kubernetes://bookinfo-cert",
        "kubernetes://mutual-cert",
        "kubernetes://mutual-cert-cacert",
    ]
    cert = secrets["kubernetes://bookinfo-cert"].tls_certificate
    assert cert.certificate_chain.inline_bytes.startswith(b"-----BEGIN CERTIFICATE")
    assert b"PRIVATE KEY" in cert.private_key.inline_bytes
    ca = secrets["kubernetes://mutual-cert-cacert"].validation_context
    assert ca.trusted_ca.inline_bytes.startswith(b"-----BEGIN CERTIFICATE")
    # a gateway asks for everything, secrets included
    assert SECRET in generate(ingress(), world(), options=SDS)


def test_generic_secret_keys_and_a_separate_cacert_secret() -> None:
    pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    def encoded(value: bytes) -> str:
        return base64.b64encode(value).decode()

    extra = f"""
apiVersion: v1
kind: Secret
metadata: {{name: generic, namespace: istio-system}}
data: {{cert: {encoded(pem)}, key: {encoded(b"k")}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: generic-cacert, namespace: istio-system}}
data: {{cacert: {encoded(pem)}}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: generic, namespace: istio-system}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
  - port: {{number: 6443, name: https-generic, protocol: HTTPS}}
    hosts: [generic.example.com]
    tls: {{mode: MUTUAL, credentialName: generic}}
"""
    secrets = translated(extra)[SECRET]
    assert secrets["kubernetes://generic"].tls_certificate.private_key.inline_bytes == b"k"
    assert secrets["kubernetes://generic-cacert"].validation_context.trusted_ca.inline_bytes == pem


def test_destination_rule_credential_name_at_the_gateway() -> None:
    rule = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: default}
spec:
  host: ratings
  trafficPolicy: {tls: {mode: MUTUAL, credentialName: mutual-cert, sni: ratings.example.com}}
"""
    found = translated(rule)
    assert "kubernetes://mutual-cert" in found[SECRET]
    cluster = found[CLUSTER]["outbound|9080||ratings.default.svc.cluster.local"]
    context = tls_pb2.UpstreamTlsContext()
    cluster.transport_socket.typed_config.Unpack(context)
    common = context.common_tls_context
    assert [s.name for s in common.tls_certificate_sds_secret_configs] == [
        "kubernetes://mutual-cert"
    ]
    assert not common.tls_certificates
    validation = common.combined_validation_context
    assert validation.validation_context_sds_secret_config.name == "kubernetes://mutual-cert-cacert"
    # a sidecar keeps the file settings (Istio reads credentialName at gateways only)
    sidecar = generate(fx.productpage_proxy(), world(rule), options=SDS)[CLUSTER]
    sidecar_cluster = sidecar["outbound|9080||ratings.default.svc.cluster.local"]
    sidecar_cluster.transport_socket.typed_config.Unpack(context)
    assert not context.common_tls_context.tls_certificate_sds_secret_configs


def _golden_view(found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from google.protobuf import json_format

    def plain(message: Any) -> Any:
        return json_format.MessageToDict(message, preserving_proto_field_name=True)

    return {
        "listeners": {n: plain(m) for n, m in found[LISTENER].items()},
        "routes": {n: plain(m) for n, m in found[ROUTE].items()},
        "secrets": sorted(found[SECRET]),  # names only: the keys are fresh per run
    }


def test_golden_gateway_servers() -> None:
    view = _golden_view(translated())
    text = json.dumps(view, indent=1, sort_keys=True) + "\n"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert GOLDEN.read_text() == text


def test_envoy_accepts_the_gateway(tmp_path: Path) -> None:
    assert_envoy_accepts(translated(), tmp_path, str(tmp_path / "sds.sock"))


def test_a_tcp_server_tunnels_when_the_destination_rule_says_so() -> None:
    rule = manifests("""
DestinationRule default/ratings-tunnel
  host: ratings.default.svc.cluster.local
  trafficPolicy:
    tunnel: {protocol: POST, targetHost: backend.internal, targetPort: 9000}
""")
    listeners = translated(rule)[LISTENER]
    proxy = tcp_proxy_pb2.TcpProxy()
    listeners["0.0.0.0_31400"].filter_chains[0].filters[-1].typed_config.Unpack(proxy)
    assert proxy.cluster == "outbound|9080||ratings.default.svc.cluster.local"
    assert (proxy.tunneling_config.hostname, proxy.tunneling_config.use_post) == (
        "backend.internal:9000",
        True,
    )
