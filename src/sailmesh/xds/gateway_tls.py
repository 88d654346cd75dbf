"""The TLS a gateway server terminates: Gateway ``servers[].tls`` -> ``DownstreamTlsContext``.

In: one server's ``tls`` settings (and whether the proxy has a workload identity over SDS).
Out: the filter chain's ``envoy.transport_sockets.tls`` socket, or None when the server cannot
terminate TLS (PASSTHROUGH and AUTO_PASSTHROUGH forward the client's TLS untouched, see
:mod:`sailmesh.xds.gateway_tcp`; ISTIO_MUTUAL needs the proxy's own identity).

- ``SIMPLE``: the server certificate is ``credentialName`` (SDS secret
  ``kubernetes://<name>`` served by the control plane over ADS from the Secret in the gateway's
  namespace, see :mod:`sailmesh.xds.credentials`) or the files ``serverCertificate`` and
  ``privateKey`` (read by Envoy itself: they must be readable by the gateway's user).
- ``MUTUAL``/``OPTIONAL_MUTUAL``: also a client CA: ``kubernetes://<name>-cacert`` (the
  Secret's ``ca.crt``/``cacert``, or a Secret ``<name>-cacert``; ``caCertCredentialName``
  names another Secret holding it) or ``caCertificates``; a
  client certificate is required (MUTUAL) or only checked when sent (OPTIONAL_MUTUAL).
  ``subjectAltNames``, ``verifyCertificateSpki`` and ``verifyCertificateHash`` constrain it.
- ``ISTIO_MUTUAL``: the gateway's workload certificate (``default``) and the mesh roots
  (``ROOTCA``) from its node agent; a client certificate of the mesh is required.
- ``minProtocolVersion``/``maxProtocolVersion`` (default TLS 1.2 to 1.3, as Istio's gateways)
  and ``cipherSuites`` (default Istio's server ciphers) set the TLS parameters.

Security: the private key of a credentialName reaches only the gateway proxies that serve the
Gateway naming it, over the control plane's ADS socket (a Unix socket of the mesh's user);
Envoy's admin ``/config_dump`` shows it as ``[redacted]``. Somebody on the host who can read
the mesh's run directory, or the Secret's YAML, has the key: Kubernetes' threat model for
Secrets, not a stronger one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from envoy.config.core.v3 import base_pb2, config_source_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, secret_pb2, tls_pb2

from sailmesh.xds import pb, tls
from sailmesh.xds.secrets import DEFAULT_SECRET, ROOT_SECRET, sds_reference

#: Istio's SDS resource names of a credentialName (certificate and key; the client CA).
CREDENTIAL_PREFIX = "kubernetes://"
CA_SUFFIX = "-cacert"
PASSTHROUGH_MODES = ("PASSTHROUGH", "AUTO_PASSTHROUGH")
#: ALPN an HTTPS server negotiates (Istio's gateways: HTTP/2 first).
ALPN_HTTPS = ("h2", "http/1.1")

_VERSIONS = {
    "TLS_AUTO": common_pb2.TlsParameters.TLS_AUTO,
    "TLSV1_0": common_pb2.TlsParameters.TLSv1_0,
    "TLSV1_1": common_pb2.TlsParameters.TLSv1_1,
    "TLSV1_2": common_pb2.TlsParameters.TLSv1_2,
    "TLSV1_3": common_pb2.TlsParameters.TLSv1_3,
}


def credential_secret_name(credential: str) -> str:
    """``kubernetes://<credential>``: the certificate chain and private key."""
    return f"{CREDENTIAL_PREFIX}{credential}"


def credential_ca_name(credential: str) -> str:
    """``kubernetes://<credential>-cacert``: the CA that verifies peers."""
    return f"{CREDENTIAL_PREFIX}{credential}{CA_SUFFIX}"


def ads_sds_reference(name: str) -> secret_pb2.SdsSecretConfig:
    """Secret ``name`` fetched over the proxy's ADS stream (the control plane serves it)."""
    return secret_pb2.SdsSecretConfig(
        name=name,
        sds_config=config_source_pb2.ConfigSource(
            ads=config_source_pb2.AggregatedConfigSource(),
            resource_api_version=config_source_pb2.V3,
        ),
    )


def terminates(settings: Any) -> bool:
    """Whether a server with ``tls`` settings terminates TLS at the gateway."""
    return settings is not None and settings.mode not in PASSTHROUGH_MODES


def credentials(settings: Any) -> list[str]:
    """The credentialName, or the credentialNames (one certificate each, e.g. RSA and ECDSA)."""
    if settings.credential_name:
        return [str(settings.credential_name)]
    return [str(n) for n in settings.credential_names or [] if n]


def _credential(settings: Any) -> str:
    found = credentials(settings)
    return found[0] if found else ""


def _params(settings: Any) -> common_pb2.TlsParameters:
    params = common_pb2.TlsParameters(
        tls_minimum_protocol_version=_VERSIONS.get(
            settings.min_protocol_version or "", common_pb2.TlsParameters.TLSv1_2
        ),
        tls_maximum_protocol_version=_VERSIONS.get(
            settings.max_protocol_version or "", common_pb2.TlsParameters.TLSv1_3
        ),
    )
    params.cipher_suites.extend(settings.cipher_suites or tls.SERVER_CIPHERS)
    return params


def _file(path: str) -> base_pb2.DataSource:
    return base_pb2.DataSource(filename=path)


def _peer_checks(settings: Any, into: common_pb2.CertificateValidationContext) -> None:
    into.match_typed_subject_alt_names.extend(tls.san_matchers(settings.subject_alt_names or []))
    into.verify_certificate_spki.extend(settings.verify_certificate_spki or [])
    into.verify_certificate_hash.extend(settings.verify_certificate_hash or [])


def _istio_mutual(common: tls_pb2.CommonTlsContext, settings: Any) -> None:
    common.tls_certificate_sds_secret_configs.append(sds_reference(DEFAULT_SECRET))
    combined = common.combined_validation_context
    _peer_checks(settings, combined.default_validation_context)
    combined.validation_context_sds_secret_config.CopyFrom(sds_reference(ROOT_SECRET))


def _user_certificates(common: tls_pb2.CommonTlsContext, settings: Any, mutual: bool) -> None:
    credential = _credential(settings)
    for name in credentials(settings):
        common.tls_certificate_sds_secret_configs.append(
            ads_sds_reference(credential_secret_name(name))
        )
    if not credential:
        pairs = [(settings.server_certificate, settings.private_key)]
        pairs += [(c.server_certificate, c.private_key) for c in settings.tls_certificates or []]
        for cert, key in pairs:
            if cert and key:
                common.tls_certificates.add(certificate_chain=_file(cert), private_key=_file(key))
    if not mutual:
        return
    ca_credential = settings.ca_cert_credential_name or credential
    if ca_credential:
        combined = common.combined_validation_context
        _peer_checks(settings, combined.default_validation_context)
        combined.validation_context_sds_secret_config.CopyFrom(
            ads_sds_reference(credential_ca_name(ca_credential))
        )
    elif settings.ca_certificates:
        validation = common.validation_context
        validation.trusted_ca.CopyFrom(_file(settings.ca_certificates))
        if settings.ca_crl:
            validation.crl.CopyFrom(_file(settings.ca_crl))
        _peer_checks(settings, validation)


def has_certificate(settings: Any, sds: bool) -> bool:
    """Whether the server names a certificate the gateway can present."""
    if settings.mode == "ISTIO_MUTUAL":
        return sds
    files = [(settings.server_certificate, settings.private_key)]
    files += [(c.server_certificate, c.private_key) for c in settings.tls_certificates or []]
    return bool(_credential(settings) or any(cert and key for cert, key in files))


def downstream_socket(settings: Any, http: bool, sds: bool) -> base_pb2.TransportSocket | None:
    """The TLS socket of a terminating server (None: passthrough, or no certificate)."""
    if not terminates(settings) or not has_certificate(settings, sds):
        return None
    common = tls_pb2.CommonTlsContext(alpn_protocols=list(ALPN_HTTPS) if http else [])
    common.tls_params.CopyFrom(_params(settings))
    mode = settings.mode
    if mode == "ISTIO_MUTUAL":
        _istio_mutual(common, settings)
    else:
        _user_certificates(common, settings, mode in ("MUTUAL", "OPTIONAL_MUTUAL"))
    require = mode in ("MUTUAL", "ISTIO_MUTUAL")
    context = tls_pb2.DownstreamTlsContext(
        common_tls_context=common, require_client_certificate=pb.bool_value(require)
    )
    return tls.transport_socket(context)


def sni_names(hosts: Sequence[str]) -> list[str]:
    """The SNI server names of a server's ``hosts`` (``ns/`` dropped; ``*`` matches any)."""
    out: list[str] = []
    for entry in hosts:
        host = entry.rpartition("/")[2]
        if host == "*":
            return []
        if host not in out:
            out.append(host)
    return out
