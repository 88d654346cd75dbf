"""Outbound TLS: auto mTLS by endpoint tlsMode, DestinationRule tls modes and their precedence,
SNI, ALPN and subject alt names as Istio writes them."""

from __future__ import annotations

from typing import Any

import xds_fixtures as fx
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, tls_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2 as hpo_pb2
from mtls_world import SDS, snapshot

from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.cluster_policy import HTTP_PROTOCOL_OPTIONS
from sailmesh.xds.endpoints import build_endpoints
from sailmesh.xds.options import DEFAULT_OPTIONS, TranslateOptions
from sailmesh.xds.scope import build_scope
from sailmesh.xds.tls import SYSTEM_ROOTS
from sailmesh.xds.translate import clusters

REVIEWS = "outbound|9080||reviews.default.svc.cluster.local"
RATINGS = "outbound|9080||ratings.default.svc.cluster.local"
REVIEWS_SA = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews"


def cluster(name: str, world: MeshSnapshot | None = None, options: TranslateOptions = SDS) -> Any:
    return clusters(fx.productpage_proxy(), world or snapshot(), options=options)[name]


def upstream(socket: Any) -> tls_pb2.UpstreamTlsContext:
    assert socket.name == "envoy.transport_sockets.tls"
    context = tls_pb2.UpstreamTlsContext()
    socket.typed_config.Unpack(context)
    return context


def sans(context: tls_pb2.UpstreamTlsContext) -> list[tuple[int, str]]:
    common = context.common_tls_context
    validation = (
        common.combined_validation_context.default_validation_context
        if common.HasField("combined_validation_context")
        else common.validation_context
    )
    return [
        (common_pb2.SubjectAltNameMatcher.SanType.Name(m.san_type), m.matcher.exact)
        for m in validation.match_typed_subject_alt_names
    ]


def test_auto_mtls_chooses_per_endpoint_by_tls_mode() -> None:
    found = cluster(REVIEWS)
    assert not found.HasField("transport_socket")
    istio, plain = found.transport_socket_matches
    assert (istio.name, dict(istio.match)) == ("tlsMode-istio", {"tlsMode": "istio"})
    assert (plain.name, dict(plain.match)) == ("tlsMode-disabled", {})
    assert plain.transport_socket.name == "envoy.transport_sockets.raw_buffer"
    context = upstream(istio.transport_socket)
    assert context.sni == "outbound_.9080_._.reviews.default.svc.cluster.local"
    common = context.common_tls_context
    assert list(common.alpn_protocols) == ["istio-peer-exchange", "istio"]
    assert [s.name for s in common.tls_certificate_sds_secret_configs] == ["default"]
    combined = common.combined_validation_context
    assert combined.validation_context_sds_secret_config.name == "ROOTCA"
    sds = combined.validation_context_sds_secret_config.sds_config.api_config_source
    assert sds.grpc_services[0].envoy_grpc.cluster_name == "sds-grpc"
    assert sans(context) == [("URI", REVIEWS_SA)]  # URI SAN: the service's service account
    params = common_pb2.TlsParameters
    assert common.tls_params.tls_minimum_protocol_version == params.TLSv1_2
    assert common.tls_params.tls_maximum_protocol_version == params.TLSv1_3


def test_endpoints_carry_their_tls_mode() -> None:
    scope = build_scope(fx.productpage_proxy(), snapshot())
    assignment = build_endpoints(scope)[REVIEWS]
    modes = {
        lb.endpoint.address.socket_address.address: dict(
            lb.metadata.filter_metadata.get("envoy.transport_socket_match", {})
        )
        for group in assignment.endpoints
        for lb in group.lb_endpoints
    }
    assert modes == {
        "10.244.0.21": {"tlsMode": "istio"},  # reviews-v1 and v2 have a sidecar
        "10.244.0.22": {"tlsMode": "istio"},
        "10.244.0.23": {},  # reviews-v3 has none: the tlsMode-disabled match (plaintext)
    }


def test_without_an_identity_nothing_is_originated() -> None:
    found = cluster(REVIEWS, options=DEFAULT_OPTIONS)
    assert not found.HasField("transport_socket") and not found.transport_socket_matches
    mutual = snapshot(
        "DestinationRule details\n  host: details\n  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}\n"
    )
    details = cluster("outbound|9080||details.default.svc.cluster.local", mutual, DEFAULT_OPTIONS)
    assert not details.HasField("transport_socket")


def test_subset_and_http2_clusters() -> None:
    world = snapshot(
        "DestinationRule reviews\n  host: reviews\n  subsets: [{name: v1, labels: {version: v1}}]\n"
    )
    (istio, _) = cluster(
        "outbound|9080|v1|reviews.default.svc.cluster.local", world
    ).transport_socket_matches
    assert (
        upstream(istio.transport_socket).sni
        == "outbound_.9080_.v1_.reviews.default.svc.cluster.local"
    )
    (grpc, _) = cluster("outbound|90||api.default.svc.cluster.local").transport_socket_matches
    assert list(upstream(grpc.transport_socket).common_tls_context.alpn_protocols) == [
        "istio-peer-exchange",
        "istio",
        "h2",
    ]


def test_namespace_disable_turns_auto_mtls_off_and_workload_policies_do_not() -> None:
    off = snapshot("PeerAuthentication default/off-ns\n  mtls: {mode: DISABLE}\n")
    assert not cluster(REVIEWS, off).transport_socket_matches
    mesh_off = snapshot("PeerAuthentication istio-system/mesh\n  mtls: {mode: DISABLE}\n")
    assert not cluster(REVIEWS, mesh_off).transport_socket_matches
    workload = snapshot(
        "PeerAuthentication default/wl\n  selector: {matchLabels: {app: reviews}}\n"
        "  mtls: {mode: DISABLE}\n"
    )
    assert cluster(REVIEWS, workload).transport_socket_matches  # clients cannot see it
    strict = snapshot("PeerAuthentication default/s\n  mtls: {mode: STRICT}\n")
    assert cluster(REVIEWS, strict).transport_socket_matches  # still per endpoint


def test_service_entries_inside_and_outside_the_mesh() -> None:
    external = cluster("outbound|443||api.example.com")
    assert not external.HasField("transport_socket") and not external.transport_socket_matches
    (istio, _) = cluster("outbound|8080||vm.internal").transport_socket_matches
    assert sans(upstream(istio.transport_socket)) == [
        ("URI", "spiffe://cluster.local/ns/default/sa/vm-sa"),  # the endpoint's service account
        ("URI", "spiffe://cluster.local/ns/vms/sa/legacy"),  # the entry's subjectAltNames
    ]


def test_trust_domain_and_aliases_name_the_identities() -> None:
    mesh = MeshConfig(trust_domain="example.org", trust_domain_aliases=("old.org",))
    (istio, _) = cluster(REVIEWS, snapshot(mesh=mesh)).transport_socket_matches
    assert sans(upstream(istio.transport_socket)) == [
        ("URI", "spiffe://example.org/ns/default/sa/bookinfo-reviews"),
        ("URI", "spiffe://old.org/ns/default/sa/bookinfo-reviews"),
    ]


ISTIO_MUTUAL = """
DestinationRule reviews
  host: reviews
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    portLevelSettings:
    - port: {number: 9080}
      tls: {mode: ISTIO_MUTUAL, sni: reviews.custom, subjectAltNames: [spiffe://x/ns/y/sa/z]}
  subsets:
  - name: v3
    labels: {version: v3}
    trafficPolicy: {tls: {mode: DISABLE}}
  - name: v1
    labels: {version: v1}
"""


def test_istio_mutual_is_always_mutual_tls_with_port_level_and_subset_precedence() -> None:
    world = snapshot(ISTIO_MUTUAL)
    found = cluster(REVIEWS, world)
    assert not found.transport_socket_matches  # no per-endpoint choice
    context = upstream(found.transport_socket)
    assert (context.sni, sans(context)) == ("reviews.custom", [("URI", "spiffe://x/ns/y/sa/z")])
    v1 = upstream(
        cluster("outbound|9080|v1|reviews.default.svc.cluster.local", world).transport_socket
    )
    assert v1.sni == "reviews.custom"  # the subset inherits the port-level settings
    v3 = cluster("outbound|9080|v3|reviews.default.svc.cluster.local", world)
    assert not v3.HasField("transport_socket") and not v3.transport_socket_matches  # DISABLE


def test_disable_is_plaintext_even_to_sidecars() -> None:
    world = snapshot(
        "DestinationRule r\n  host: reviews\n  trafficPolicy: {tls: {mode: DISABLE}}\n"
    )
    found = cluster(REVIEWS, world)
    assert not found.HasField("transport_socket") and not found.transport_socket_matches


def _options(found: Any) -> hpo_pb2.HttpProtocolOptions:
    options = hpo_pb2.HttpProtocolOptions()
    found.typed_extension_protocol_options[HTTP_PROTOCOL_OPTIONS].Unpack(options)
    return options


ORIGINATE = """
DestinationRule external
  host: api.example.com
  trafficPolicy:
    tls: {mode: SIMPLE}
    portLevelSettings:
    - port: {number: 443}
      tls:
        mode: MUTUAL
        clientCertificate: /etc/certs/client.pem
        privateKey: /etc/certs/key.pem
        caCertificates: /etc/certs/ca.pem
        caCrl: /etc/certs/crl.pem
        sni: api.example.com
        subjectAltNames: [api.example.com]
"""


def test_simple_and_mutual_origination_to_external_services() -> None:
    world = snapshot(ORIGINATE)
    http = cluster("outbound|80||api.example.com", world)
    context = upstream(http.transport_socket)
    assert context.sni == "" and not context.common_tls_context.tls_certificates
    validation = context.common_tls_context.validation_context
    assert validation.trusted_ca.filename == SYSTEM_ROOTS  # no caCertificates: the system's
    auto = _options(http).upstream_http_protocol_options
    assert (auto.auto_sni, auto.auto_san_validation) == (True, True)  # the request's host
    mutual = upstream(cluster("outbound|443||api.example.com", world).transport_socket)
    assert mutual.sni == "api.example.com"
    (pair,) = mutual.common_tls_context.tls_certificates
    assert pair.certificate_chain.filename == "/etc/certs/client.pem"
    assert pair.private_key.filename == "/etc/certs/key.pem"  # a path: the key is not inlined
    validation = mutual.common_tls_context.validation_context
    assert validation.trusted_ca.filename == "/etc/certs/ca.pem"
    assert validation.crl.filename == "/etc/certs/crl.pem"
    assert sans(mutual) == [("DNS", "api.example.com"), ("URI", "api.example.com")]  # DNS, URI


#: Istio's egress TLS origination task: SIMPLE on the ServiceEntry's HTTPS port, no ``sni``, no
#: ``subjectAltNames`` (a DNS certificate for the host, issued by a CA given as a file).
ORIGINATE_HTTPS_PORT = """
DestinationRule originate
  host: api.example.com
  trafficPolicy:
    portLevelSettings:
    - port: {number: 443}
      tls: {mode: SIMPLE, caCertificates: /etc/certs/ca.pem}
"""


def test_simple_origination_on_an_https_port_sends_and_checks_the_host_name() -> None:
    """The HTTPS port's cluster carries HTTP once TLS is originated (an egress gateway routes
    requests to it): the request's host is the SNI and the name the certificate must carry,
    not a SPIFFE id and not "any certificate of the CA"."""
    found = cluster("outbound|443||api.example.com", snapshot(ORIGINATE_HTTPS_PORT))
    context = upstream(found.transport_socket)
    assert context.sni == "" and sans(context) == []
    assert context.common_tls_context.validation_context.trusted_ca.filename == "/etc/certs/ca.pem"
    auto = _options(found).upstream_http_protocol_options
    assert (auto.auto_sni, auto.auto_san_validation) == (True, True)


def test_service_entry_subject_alt_names_are_the_matchers_when_the_rule_names_none() -> None:
    """As Istio: the ServiceEntry's names are configured, and HTTP requests check their
    host as well (Envoy checks the typed matchers and the auto_san_validation host)."""
    world = snapshot(
        "DestinationRule vm\n  host: vm.internal\n  trafficPolicy: {tls: {mode: SIMPLE}}\n"
    )
    found = cluster("outbound|8080||vm.internal", world)
    names = {name for _, name in sans(upstream(found.transport_socket))}
    assert "spiffe://cluster.local/ns/vms/sa/legacy" in names
    auto = _options(found).upstream_http_protocol_options
    assert (auto.auto_sni, auto.auto_san_validation) == (True, True)


def test_insecure_skip_verify_checks_nothing() -> None:
    world = snapshot(
        "DestinationRule e\n  host: api.example.com\n"
        "  trafficPolicy: {tls: {mode: SIMPLE, insecureSkipVerify: true, sni: a.example.com}}\n"
    )
    found = cluster("outbound|80||api.example.com", world)
    validation = upstream(found.transport_socket).common_tls_context.validation_context
    assert fx.as_dict(validation) == {}
    auto = _options(found).upstream_http_protocol_options
    assert (auto.auto_sni, auto.auto_san_validation) == (False, False)


def test_passthrough_clusters_use_mutual_tls_only_when_every_endpoint_has_a_sidecar() -> None:
    world = snapshot("""
DestinationRule reviews
  host: reviews
  trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}
---
DestinationRule ratings
  host: ratings
  trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}
""")
    reviews = cluster(REVIEWS, world)  # reviews-v3 has no sidecar
    assert not reviews.HasField("transport_socket") and not reviews.transport_socket_matches
    ratings = cluster(RATINGS, world)
    assert not ratings.transport_socket_matches
    assert (
        upstream(ratings.transport_socket).sni
        == "outbound_.9080_._.ratings.default.svc.cluster.local"
    )


def test_gateways_originate_mutual_tls_the_same_way() -> None:
    router = Proxy("router", "10.244.0.50", "gw-1", "istio-system")
    found = clusters(router, snapshot(), options=SDS)[REVIEWS]
    assert [m.name for m in found.transport_socket_matches] == ["tlsMode-istio", "tlsMode-disabled"]
