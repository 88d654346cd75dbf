"""Certificate files for TLS origination tests: a CA, a server certificate for a DNS name, a
client certificate, and an (empty) CRL, written as PEM files readable by Envoy (0644 in a
test directory; the keys are throwaway test keys)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pki:
    ca: Path
    crl: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    #: The CA's key (to sign more certificates of the same CA: rotation tests).
    ca_key: Path | None = None
    #: A second server certificate (``write_pki(secure=...)``).
    secure_cert: Path | None = None
    secure_key: Path | None = None


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o644)  # Envoy runs as another user in pod tests; a throwaway test key
    return path


def _write_cert(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.chmod(0o644)
    return path


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    name: str,
    usage: x509.ObjectIdentifier,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _self_signed(ca_key: ec.EllipticCurvePrivateKey, now: dt.datetime) -> x509.Certificate:
    usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(_name("test root"))
        .issuer_name(_name("test root"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(ca_key, hashes.SHA256())
    )


def write_pki(
    directory: Path,
    server_name: str,
    client_name: str = "client.test",
    *,
    secure: str | None = None,
    ca_from: Pki | None = None,
) -> Pki:
    """A fresh CA (or the CA of ``ca_from``), a server certificate for ``server_name``, a client
    certificate and, with ``secure``, a second server certificate for that name."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    if ca_from is not None and ca_from.ca_key is not None:
        loaded = serialization.load_pem_private_key(ca_from.ca_key.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        ca_key = loaded
        ca = x509.load_pem_x509_certificate(ca_from.ca.read_bytes())
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _self_signed(ca_key, now)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    server, server_key = _leaf(ca_key, ca, server_name, ExtendedKeyUsageOID.SERVER_AUTH)
    client, client_key = _leaf(ca_key, ca, client_name, ExtendedKeyUsageOID.CLIENT_AUTH)
    crl_path = directory / "crl.pem"
    crl_path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    crl_path.chmod(0o644)
    secure_cert = secure_key = None
    if secure is not None:
        leaf, leaf_key = _leaf(ca_key, ca, secure, ExtendedKeyUsageOID.SERVER_AUTH)
        secure_cert = _write_cert(leaf, directory / "secure.pem")
        secure_key = _write_key(leaf_key, directory / "secure-key.pem")
    return Pki(
        ca=_write_cert(ca, directory / "ca.pem"),
        crl=crl_path,
        server_cert=_write_cert(server, directory / "server.pem"),
        server_key=_write_key(server_key, directory / "server-key.pem"),
        client_cert=_write_cert(client, directory / "client.pem"),
        client_key=_write_key(client_key, directory / "client-key.pem"),
        ca_key=_write_key(ca_key, directory / "ca-key.pem"),
        secure_cert=secure_cert,
        secure_key=secure_key,
    )
