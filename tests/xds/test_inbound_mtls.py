"""virtualInbound under PeerAuthentication: the chains of each mode, the TLS inspector, the
server TLS context (client certificate, trust domains) and the client certificate details."""

from __future__ import annotations

from typing import Any

from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2
from mtls_world import SDS, api_proxy, as_dict, snapshot

from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.xds.inbound import virtual_inbound
from sailmesh.xds.options import DEFAULT_OPTIONS, TranslateOptions
from sailmesh.xds.scope import build_scope

STRICT = "PeerAuthentication istio-system/mesh\n  mtls: {mode: STRICT}\n"
PERMISSIVE = "PeerAuthentication default/ns\n  mtls: {mode: PERMISSIVE}\n"
DISABLE = "PeerAuthentication default/ns\n  mtls: {mode: DISABLE}\n"
PORT_LEVEL = """
PeerAuthentication default/api
  selector: {matchLabels: {app: api}}
  mtls: {mode: STRICT}
  portLevelMtls:
    8080: {mode: DISABLE}
    7777: {mode: PERMISSIVE}
"""


def listener(text: str, options: TranslateOptions = SDS, mesh: MeshConfig | None = None) -> Any:
    return virtual_inbound(build_scope(api_proxy(), snapshot(text, mesh)), options)


def chains(found: Any) -> list[tuple[str, int, str, list[str], bool]]:
    """(name, port, transport, ALPN, terminates TLS) of each chain but the loop guard."""
    return [
        (
            c.name,
            c.filter_chain_match.destination_port.value,
            c.filter_chain_match.transport_protocol,
            list(c.filter_chain_match.application_protocols),
            c.HasField("transport_socket"),
        )
        for c in found.filter_chains[1:]
    ]


def server_context(chain: Any) -> tls_pb2.DownstreamTlsContext:
    context = tls_pb2.DownstreamTlsContext()
    chain.transport_socket.typed_config.Unpack(context)
    return context


ISTIO = ["istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2"]
ISTIO_HTTP = ["istio-http/1.0", "istio-http/1.1", "istio-h2"]


def test_strict_accepts_only_mutual_tls() -> None:
    found = listener(STRICT)
    assert chains(found) == [
        ("0.0.0.0_5432_tcp_mtls", 5432, "tls", [], True),
        ("0.0.0.0_8080_mtls", 8080, "tls", [], True),
        ("0.0.0.0_9000_mtls", 9000, "tls", ISTIO_HTTP, True),
        ("0.0.0.0_9000_tcp_mtls", 9000, "tls", [], True),
        ("0.0.0.0_9090_mtls", 9090, "tls", [], True),
        ("InboundPassthroughFilterChain_mtls", 0, "tls", [], True),  # undeclared ports too
    ]
    assert [f.name for f in found.listener_filters] == [
        "envoy.filters.listener.original_dst",
        "envoy.filters.listener.tls_inspector",
        "envoy.filters.listener.http_inspector",
    ]
    assert not found.listener_filters[1].HasField("filter_disabled")  # every port inspects
    assert found.continue_on_listener_filters_timeout is True


def test_server_context_requires_a_mesh_client_certificate() -> None:
    (http, *_) = [c for c in listener(STRICT).filter_chains if c.name == "0.0.0.0_8080_mtls"]
    context = server_context(http)
    assert context.require_client_certificate.value is True
    common = context.common_tls_context
    assert list(common.alpn_protocols) == ["h2", "http/1.1"]
    assert [s.name for s in common.tls_certificate_sds_secret_configs] == ["default"]
    combined = common.combined_validation_context
    assert combined.validation_context_sds_secret_config.name == "ROOTCA"
    assert as_dict(combined.default_validation_context) == {
        "match_typed_subject_alt_names": [
            {"san_type": "URI", "matcher": {"prefix": "spiffe://cluster.local/"}}
        ]
    }
    assert "ECDHE-ECDSA-AES256-GCM-SHA384" in common.tls_params.cipher_suites
    (tcp,) = [c for c in listener(STRICT).filter_chains if c.name == "0.0.0.0_5432_tcp_mtls"]
    assert list(server_context(tcp).common_tls_context.alpn_protocols) == [
        "istio-peer-exchange",
        "istio",
        "h2",
        "http/1.1",
    ]


def test_trust_domain_aliases_are_accepted_peers() -> None:
    mesh = MeshConfig(trust_domain="new.org", trust_domain_aliases=("old.org", "new.org"))
    (http,) = [
        c for c in listener(STRICT, mesh=mesh).filter_chains if c.name == "0.0.0.0_8080_mtls"
    ]
    matchers = server_context(http).common_tls_context.combined_validation_context
    prefixes = [
        m.matcher.prefix for m in matchers.default_validation_context.match_typed_subject_alt_names
    ]
    assert prefixes == ["spiffe://new.org/", "spiffe://old.org/"]


def test_permissive_accepts_mutual_tls_and_plaintext() -> None:
    assert chains(listener(PERMISSIVE)) == [
        ("0.0.0.0_5432_tcp_mtls", 5432, "tls", ISTIO, True),
        ("0.0.0.0_5432_tcp_tls", 5432, "tls", [], False),  # the app's own TLS passes through
        ("0.0.0.0_5432_tcp", 5432, "raw_buffer", [], False),
        ("0.0.0.0_8080_mtls", 8080, "tls", ISTIO, True),
        ("0.0.0.0_8080", 8080, "raw_buffer", [], False),
        ("0.0.0.0_9000_mtls", 9000, "tls", ISTIO_HTTP, True),
        ("0.0.0.0_9000", 9000, "raw_buffer", ["http/1.1", "h2c"], False),
        ("0.0.0.0_9000_tcp_mtls", 9000, "tls", ["istio-peer-exchange", "istio"], True),
        ("0.0.0.0_9000_tcp", 9000, "raw_buffer", [], False),
        ("0.0.0.0_9000_tcp_tls", 9000, "tls", [], False),
        ("0.0.0.0_9090_mtls", 9090, "tls", ISTIO, True),
        ("0.0.0.0_9090", 9090, "raw_buffer", [], False),
        ("InboundPassthroughFilterChain_mtls", 0, "tls", ISTIO, True),
        ("InboundPassthroughFilterChain_tls", 0, "tls", [], False),
        ("InboundPassthroughFilterChain", 0, "raw_buffer", [], False),
    ]


def test_no_policy_is_permissive() -> None:
    assert chains(listener("")) == chains(listener(PERMISSIVE))


def test_disable_and_no_identity_keep_plaintext_chains() -> None:
    plain = [
        ("0.0.0.0_5432_tcp", 5432, "", [], False),
        ("0.0.0.0_8080", 8080, "", [], False),
        ("0.0.0.0_9000", 9000, "", ["http/1.1", "h2c"], False),
        ("0.0.0.0_9000_tcp", 9000, "", [], False),
        ("0.0.0.0_9090", 9090, "", [], False),
        ("InboundPassthroughFilterChain", 0, "", [], False),
    ]
    disabled = listener(DISABLE)
    assert chains(disabled) == plain
    assert "envoy.filters.listener.tls_inspector" not in [f.name for f in disabled.listener_filters]
    # a proxy without a workload identity cannot enforce STRICT: it has no certificate
    assert chains(listener(STRICT, DEFAULT_OPTIONS)) == plain


def test_port_level_modes_by_container_port() -> None:
    found = listener(PORT_LEVEL)
    assert chains(found) == [
        ("0.0.0.0_5432_tcp_mtls", 5432, "tls", [], True),
        ("0.0.0.0_8080", 8080, "", [], False),  # DISABLE on the target port of service port 80
        ("0.0.0.0_9000_mtls", 9000, "tls", ISTIO_HTTP, True),
        ("0.0.0.0_9000_tcp_mtls", 9000, "tls", [], True),
        ("0.0.0.0_9090_mtls", 9090, "tls", [], True),
        # a port-level port no service declares: passthrough chains of its own
        ("InboundPassthroughFilterChain_7777_mtls", 7777, "tls", ISTIO, True),
        ("InboundPassthroughFilterChain_7777_tls", 7777, "tls", [], False),
        ("InboundPassthroughFilterChain_7777", 7777, "raw_buffer", [], False),
        ("InboundPassthroughFilterChain_mtls", 0, "tls", [], True),
    ]
    inspector = found.listener_filters[1]
    assert inspector.name == "envoy.filters.listener.tls_inspector"
    assert as_dict(inspector.filter_disabled) == {
        "destination_port_range": {"start": 8080, "end": 8081}
    }


def test_only_some_ports_inspected_when_undeclared_ports_are_plaintext() -> None:
    text = (
        DISABLE
        + """---
PeerAuthentication default/api
  selector: {matchLabels: {app: api}}
  portLevelMtls:
    8080: {mode: STRICT}
    5432: {mode: PERMISSIVE}
"""
    )
    inspector = listener(text).listener_filters[1]
    assert as_dict(inspector.filter_disabled) == {
        "not_match": {
            "or_match": {
                "rules": [
                    {"destination_port_range": {"start": 5432, "end": 5433}},
                    {"destination_port_range": {"start": 8080, "end": 8081}},
                ]
            }
        }
    }


def test_the_app_gets_the_client_certificate_details() -> None:
    (http,) = [c for c in listener(STRICT).filter_chains if c.name == "0.0.0.0_8080_mtls"]
    hcm = hcm_pb2.HttpConnectionManager()
    http.filters[-1].typed_config.Unpack(hcm)
    assert hcm.forward_client_cert_details == hcm_pb2.HttpConnectionManager.APPEND_FORWARD
    details = hcm.set_current_client_cert_details
    assert (details.subject.value, details.uri, details.dns) == (True, True, True)
