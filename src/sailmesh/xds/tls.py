"""TLS contexts and transport sockets, as Istio writes them.

In: what a connection must prove and check (SNI, subject alt names, ALPN, files or SDS
secrets). Out: Envoy ``UpstreamTlsContext``/``DownstreamTlsContext`` messages and the
transport sockets that carry them. Which context a cluster or filter chain gets is decided by
:mod:`sailmesh.xds.cluster_tls` and :mod:`sailmesh.xds.inbound_tls`.

- Istio mutual TLS (sidecars and gateways with a workload identity): the certificate is the
  ``default`` SDS secret and peers are validated against ``ROOTCA``, both served by the pod's
  node agent on the bootstrap's ``sds-grpc`` cluster (:mod:`sailmesh.xds.secrets`); TLS 1.2 to
  1.3. Clients offer ALPN ``istio-peer-exchange``, ``istio`` (+ ``h2`` to HTTP/2 upstreams) and
  check the server's SPIFFE id; servers require a client certificate whose URI SAN is in one
  of the mesh's trust domains (``spiffe://<domain>/`` prefixes, aliases included).
- TLS origination from a DestinationRule (SIMPLE, MUTUAL): certificates and CAs are files the
  Envoy process reads itself (``filename`` data sources; Istio's agent would serve them over
  SDS: here the files must be readable by the proxy's user). Without ``caCertificates`` the
  system's roots (:data:`SYSTEM_ROOTS`) verify the server (Istio's
  ``VERIFY_CERTIFICATE_AT_CLIENT`` default);
  ``insecureSkipVerify`` turns verification off.

No private key is ever put into a context: keys stay in the node agent (SDS) or in the files
the user names.

What this buys against an attacker on the host (not root): a process that can reach the pods'
bridge, or runs in another pod, sees only TLS between sidecars, cannot pass a STRICT port
without a certificate chained to the mesh roots (it cannot obtain one for another identity: the
CA signs only what the runtime vouches for), and cannot pose as a server to a client sidecar
(the server's SPIFFE id is checked). It can still send plaintext to PERMISSIVE ports (with a
forged ``x-forwarded-client-cert`` the app must not trust there), and to pods without a
sidecar. Root on the host, or the workload of a pod (it shares the pod's network namespace),
is not stopped. Files named by a DestinationRule (``MUTUAL`` client keys) are as safe as their
file modes: the proxy's user must be able to read them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from envoy.config.core.v3 import base_pb2
from envoy.extensions.transport_sockets.raw_buffer.v3 import raw_buffer_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, tls_pb2
from envoy.type.matcher.v3 import string_pb2

from sailmesh.xds import pb
from sailmesh.xds.secrets import DEFAULT_SECRET, ROOT_SECRET, sds_reference

TLS_SOCKET = "envoy.transport_sockets.tls"
RAW_BUFFER_SOCKET = "envoy.transport_sockets.raw_buffer"
#: What the TLS inspector reports for TLS connections (and Envoy for the others).
TLS_TRANSPORT = "tls"
RAW_BUFFER_TRANSPORT = "raw_buffer"

#: ALPN a client sidecar offers on Istio mutual TLS (Istio's ``ALPNInMeshWithMxc``, and
#: ``ALPNInMeshH2WithMxc`` towards HTTP/2 upstreams).
ALPN_IN_MESH = ("istio-peer-exchange", "istio")
ALPN_IN_MESH_H2 = ("istio-peer-exchange", "istio", "h2")
#: ALPN a server sidecar negotiates: HTTP chains ``h2``/``http/1.1`` (Istio's ``ALPNHttp``),
#: TCP chains also the Istio values (``ALPNDownstreamWithMxc``).
ALPN_HTTP = ("h2", "http/1.1")
ALPN_DOWNSTREAM_TCP = ("istio-peer-exchange", "istio", "h2", "http/1.1")
#: ALPN values that mark a connection as Istio mutual TLS (filter chain matches).
ALPN_ISTIO_MTLS = ("istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2")
ALPN_H2_ONLY = ("h2",)
#: The server ciphers of Istio's sidecars (``SupportedCiphers``).
SERVER_CIPHERS = (
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-GCM-SHA256",
)
SPIFFE_SCHEME = "spiffe://"
#: The system's trust bundle (Debian's path, where Istio's proxy image has it too): what
#: verifies a server when a DestinationRule names no ``caCertificates``. (Envoy's
#: ``system_root_certs`` cannot be combined with subject alt name checks.)
SYSTEM_ROOTS = "/etc/ssl/certs/ca-certificates.crt"

_TLS12 = common_pb2.TlsParameters.TLSv1_2
_TLS13 = common_pb2.TlsParameters.TLSv1_3


def transport_socket(
    context: tls_pb2.UpstreamTlsContext | tls_pb2.DownstreamTlsContext,
) -> base_pb2.TransportSocket:
    """The ``envoy.transport_sockets.tls`` socket carrying ``context``."""
    return base_pb2.TransportSocket(name=TLS_SOCKET, typed_config=pb.pack(context))


def raw_buffer_socket() -> base_pb2.TransportSocket:
    """Plaintext (the socket of the ``tlsMode-disabled`` match)."""
    return base_pb2.TransportSocket(
        name=RAW_BUFFER_SOCKET, typed_config=pb.pack(raw_buffer_pb2.RawBuffer())
    )


def san_matchers(names: Sequence[str]) -> list[common_pb2.SubjectAltNameMatcher]:
    """Exact matches of subject alt names: SPIFFE ids as URI SANs, addresses as IP SANs,
    other names as DNS (wildcard certificates match) or URI SANs (Istio's untyped match)."""
    out: list[common_pb2.SubjectAltNameMatcher] = []
    kinds = common_pb2.SubjectAltNameMatcher
    for name in names:
        if name.startswith(SPIFFE_SCHEME):
            types = [kinds.URI]
        elif _is_ip(name):
            types = [kinds.IP_ADDRESS]
        else:
            types = [kinds.DNS, kinds.URI]
        for san_type in types:
            out.append(kinds(san_type=san_type, matcher=string_pb2.StringMatcher(exact=name)))
    return out


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def trust_domain_matchers(trust_domains: Sequence[str]) -> list[common_pb2.SubjectAltNameMatcher]:
    """URI SAN prefixes ``spiffe://<domain>/``: a peer of any of the mesh's trust domains."""
    kinds = common_pb2.SubjectAltNameMatcher
    return [
        kinds(san_type=kinds.URI, matcher=string_pb2.StringMatcher(prefix=f"{SPIFFE_SCHEME}{d}/"))
        for d in trust_domains
    ]


def _sds_common(
    alpn: Sequence[str], sans: Sequence[common_pb2.SubjectAltNameMatcher]
) -> tls_pb2.CommonTlsContext:
    """The workload certificate (``default``) and the mesh roots (``ROOTCA``) over SDS."""
    common = tls_pb2.CommonTlsContext(alpn_protocols=list(alpn))
    common.tls_certificate_sds_secret_configs.append(sds_reference(DEFAULT_SECRET))
    combined = common.combined_validation_context
    combined.default_validation_context.match_typed_subject_alt_names.extend(sans)
    combined.validation_context_sds_secret_config.CopyFrom(sds_reference(ROOT_SECRET))
    return common


def istio_mutual_upstream(sni: str, sans: Sequence[str], h2: bool) -> tls_pb2.UpstreamTlsContext:
    """Istio mutual TLS from a client sidecar or gateway: SNI ``outbound_...``, the service's
    SPIFFE ids (none: any certificate of the mesh's roots)."""
    common = _sds_common(ALPN_IN_MESH_H2 if h2 else ALPN_IN_MESH, san_matchers(sans))
    common.tls_params.CopyFrom(
        common_pb2.TlsParameters(
            tls_minimum_protocol_version=_TLS12, tls_maximum_protocol_version=_TLS13
        )
    )
    return tls_pb2.UpstreamTlsContext(common_tls_context=common, sni=sni)


def istio_mutual_downstream(
    http: bool, trust_domains: Sequence[str]
) -> tls_pb2.DownstreamTlsContext:
    """Istio mutual TLS on a server sidecar's inbound chain: a client certificate is required,
    chained to ``ROOTCA`` and naming a SPIFFE id of one of ``trust_domains``."""
    alpn = ALPN_HTTP if http else ALPN_DOWNSTREAM_TCP
    common = _sds_common(alpn, trust_domain_matchers(trust_domains))
    common.tls_params.CopyFrom(
        common_pb2.TlsParameters(
            tls_minimum_protocol_version=_TLS12,
            tls_maximum_protocol_version=_TLS13,
            cipher_suites=list(SERVER_CIPHERS),
        )
    )
    return tls_pb2.DownstreamTlsContext(
        common_tls_context=common, require_client_certificate=pb.bool_value(True)
    )


def _file(path: str) -> base_pb2.DataSource:
    return base_pb2.DataSource(filename=path)


def originate_upstream(
    *,
    sni: str,
    sans: Sequence[str],
    ca_certificates: str,
    ca_crl: str,
    insecure_skip_verify: bool,
    client_certificate: str = "",
    private_key: str = "",
    h2: bool = False,
) -> tls_pb2.UpstreamTlsContext:
    """TLS origination (DestinationRule SIMPLE, or MUTUAL with ``client_certificate``)."""
    common = tls_pb2.CommonTlsContext()
    common.tls_params.CopyFrom(
        common_pb2.TlsParameters(
            tls_minimum_protocol_version=_TLS12, tls_maximum_protocol_version=_TLS13
        )
    )
    if client_certificate and private_key:
        common.tls_certificates.add(
            certificate_chain=_file(client_certificate), private_key=_file(private_key)
        )
    validation = common.validation_context
    validation.SetInParent()  # with insecureSkipVerify: present, and checking nothing
    if not insecure_skip_verify:
        validation.match_typed_subject_alt_names.extend(san_matchers(sans))
        if ca_crl:
            validation.crl.CopyFrom(_file(ca_crl))
        validation.trusted_ca.CopyFrom(_file(ca_certificates or SYSTEM_ROOTS))
    if h2:
        common.alpn_protocols.extend(ALPN_H2_ONLY)
    return tls_pb2.UpstreamTlsContext(common_tls_context=common, sni=sni)
