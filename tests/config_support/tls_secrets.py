"""Kubernetes TLS Secrets for gateway credential tests: valid, expired, mismatched or partial."""

from __future__ import annotations

import base64
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def pem_pair(days: int) -> tuple[bytes, bytes]:
    """A self-signed ``shop.example.com`` certificate and its key (PEM), valid for ``days``
    days from now (expired a day ago when ``days`` is not positive)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    start, end = (
        (now, now + datetime.timedelta(days=days))
        if days > 0
        else (
            now - datetime.timedelta(days=10),
            now - datetime.timedelta(days=1),
        )
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def tls_secret(
    name: str,
    namespace: str = "istio-system",
    *,
    expired: bool = False,
    other_key: bool = False,
    without_key: bool = False,
    ca: bool = False,
) -> str:
    """A ``kubernetes.io/tls`` Secret document (ending in a newline)."""
    cert, key = pem_pair(-1 if expired else 1)
    if other_key:
        key = pem_pair(1)[1]
    data = {"tls.crt": cert} if without_key else {"tls.crt": cert, "tls.key": key}
    if ca:
        data["ca.crt"] = cert
    lines = "".join(f"  {k}: {base64.b64encode(v).decode()}\n" for k, v in data.items())
    kind = "Opaque" if without_key else "kubernetes.io/tls"  # a tls Secret must have both
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        f"type: {kind}\ndata:\n{lines}"
    )
