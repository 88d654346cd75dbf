"""Building X.509 certificates: self-signed roots, intermediates, workload leaves.

Workload certificates follow Istio's: an empty subject, the SPIFFE id as the only (critical) URI
SAN, ``serverAuth`` + ``clientAuth`` extended key usage, not a CA, and a validity starting a
little before "now" (:data:`BACKDATE`, at most a tenth of the lifetime, so a peer whose clock runs slightly behind accepts it)
and never past the issuer's own end. Times come from the caller (a :class:`~sailmesh.clock.
Clock`'s wall time), so tests choose them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sailmesh.ca.keys import PrivateKey

#: Workload certificates start this long before they are issued (clock skew between peers).
BACKDATE = 60.0


def utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)


def timestamp(moment: dt.datetime) -> float:
    return moment.timestamp()


@dataclass(frozen=True)
class Validity:
    """A certificate's validity in seconds since the epoch."""

    not_before: float
    not_after: float

    @property
    def lifetime(self) -> float:
        return self.not_after - self.not_before

    @classmethod
    def of(cls, cert: x509.Certificate) -> Validity:
        return cls(
            timestamp(cert.not_valid_before_utc),
            timestamp(cert.not_valid_after_utc),
        )


def ca_name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _serial() -> int:
    return secrets.randbits(127) | 1  # positive, non-zero, at most 16 bytes


def _key_usage(
    *, key_encipherment: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    """Digital signature plus what the certificate is for: signing certificates (a CA) or
    key encipherment (a TLS leaf); nothing else."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _ca_extensions(
    builder: x509.CertificateBuilder, public_key: Any, path_length: int | None
) -> x509.CertificateBuilder:
    usage = _key_usage(key_cert_sign=True, crl_sign=True)
    return (
        builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def self_signed_root(
    key: PrivateKey, name: x509.Name, not_before: float, not_after: float
) -> x509.Certificate:
    """A self-signed root CA certificate for ``key``."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(utc(not_before))
        .not_valid_after(utc(not_after))
    )
    builder = _ca_extensions(builder, key.public_key(), None)
    return builder.sign(key, hashes.SHA256())


def intermediate(
    issuer_key: PrivateKey,
    issuer: x509.Certificate,
    public_key: Any,
    name: x509.Name,
    not_before: float,
    not_after: float,
) -> x509.Certificate:
    """An intermediate CA certificate for ``public_key``, signed by ``issuer``; it may sign
    leaves only (path length 0)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(_serial())
        .not_valid_before(utc(not_before))
        .not_valid_after(utc(min(not_after, Validity.of(issuer).not_after)))
    )
    builder = _ca_extensions(builder, public_key, 0).add_extension(
        _authority_key_id(issuer), critical=False
    )
    return builder.sign(issuer_key, hashes.SHA256())


def workload(
    issuer_key: PrivateKey,
    issuer: x509.Certificate,
    public_key: Any,
    spiffe_uri: str,
    validity: Validity,
) -> x509.Certificate:
    """A workload (leaf) certificate for ``public_key`` naming ``spiffe_uri``."""
    usage = _key_usage(key_encipherment=True)
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    san = x509.SubjectAlternativeName([x509.UniformResourceIdentifier(spiffe_uri)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(_serial())
        .not_valid_before(utc(validity.not_before))
        .not_valid_after(utc(validity.not_after))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(eku, critical=False)
        .add_extension(san, critical=True)  # the subject is empty (RFC 5280 4.2.1.6)
        .add_extension(_authority_key_id(issuer), critical=False)
    )
    return builder.sign(issuer_key, hashes.SHA256())


def _authority_key_id(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key())  # type: ignore[arg-type]
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.PEM)


def load_pems(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, in order."""
    return x509.load_pem_x509_certificates(data)


def uri_sans(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return list(san.get_values_for_type(x509.UniformResourceIdentifier))
