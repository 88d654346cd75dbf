"""SDS secrets a gateway gets from the control plane: ``credentialName`` -> Kubernetes Secret.

In: a gateway proxy, the Gateways that select it and the DestinationRules it originates TLS
for, and the Secrets of the gateway's namespace (Istio looks credentials up there only). Out:
``{name: Secret}`` for the ADS stream: ``kubernetes://<name>`` (the certificate chain and
private key of ``tls.crt``/``tls.key``, or Istio's generic keys ``cert``/``key``) and
``kubernetes://<name>-cacert`` (the CA of ``ca.crt``/``cacert`` in the same Secret, else in a
Secret ``<name>-cacert``; with the revocation list of ``ca.crl``). A Secret that is missing or lacks its keys yields nothing: Envoy
keeps the listener warming (then the TLS handshakes fail) and ``sailctl analyze`` reports
IST0161. When a Secret changes only these resources change, so Envoy swaps the certificate in
place: no listener drain, no dropped connection.

Security: the private key goes only to the gateways whose own servers (or DestinationRules'
``credentialName``) name the Secret, and only from their own namespace; nothing here logs it.
"""

from __future__ import annotations

from collections.abc import Iterable

from envoy.extensions.transport_sockets.tls.v3 import secret_pb2

from sailmesh.config.analysis.analyzers.credentials import (
    CA_KEYS,
    CA_SECRET_SUFFIX,
    CERT_KEYS,
    KEY_KEYS,
    secret_value,
)
from sailmesh.config.resource import Resource
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.gateway_tls import credential_ca_name, credential_secret_name, credentials
from sailmesh.xds.secrets import certificate_secret, trust_secret

#: Istio's key of a certificate revocation list beside the CA.
CRL_KEYS = ("ca.crl",)


def _secret(snapshot: MeshSnapshot, namespace: str, name: str) -> Resource | None:
    return next(
        (s for s in snapshot.of_kind("Secret") if s.namespace == namespace and s.name == name),
        None,
    )


def credential_secrets(
    snapshot: MeshSnapshot, namespace: str, names: Iterable[str]
) -> dict[str, secret_pb2.Secret]:
    """The SDS secrets of the credentials ``names`` from Secrets in ``namespace``."""
    out: dict[str, secret_pb2.Secret] = {}
    for name in sorted(set(names)):
        found = _secret(snapshot, namespace, name)
        if found is not None:
            cert, key = secret_value(found, *CERT_KEYS), secret_value(found, *KEY_KEYS)
            if cert and key:
                sds_name = credential_secret_name(name)
                out[sds_name] = certificate_secret(cert, key, sds_name)
        ca = secret_value(found, *CA_KEYS) if found is not None else None
        if not ca:
            separate = _secret(snapshot, namespace, name + CA_SECRET_SUFFIX)
            ca = secret_value(separate, *CA_KEYS) if separate is not None else None
        if ca:
            ca_name = credential_ca_name(name)
            out[ca_name] = trust_secret(ca, ca_name)
            crl = secret_value(found, *CRL_KEYS) if found is not None else None
            if crl:
                out[ca_name].validation_context.crl.inline_bytes = crl
    return out


def server_credentials(servers: Iterable[object]) -> set[str]:
    """The credential names the Gateway servers refer to (certificates and CA credentials)."""
    names: set[str] = set()
    for server in servers:
        settings = getattr(server, "tls", None)
        if settings is None:
            continue
        names.update(credentials(settings))
        if settings.ca_cert_credential_name:
            names.add(settings.ca_cert_credential_name)
    return names


def rule_credentials(snapshot: MeshSnapshot) -> set[str]:
    """The ``tls.credentialName`` of every DestinationRule policy (any level)."""
    names: set[str] = set()
    for rule in snapshot.of_kind("DestinationRule"):
        policies = [rule.spec.traffic_policy]
        policies += [s.traffic_policy for s in rule.spec.subsets or []]
        for policy in [p for p in policies if p is not None]:
            levels = [policy, *(policy.port_level_settings or [])]
            for level in levels:
                settings = level.tls
                if settings is not None and settings.credential_name:
                    names.add(settings.credential_name)
    return names
