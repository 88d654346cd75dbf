"""What is wrong with a gateway's TLS credential Secret, if anything (IST0161's checks).

In: a Kubernetes Secret resource and the time to check against. Out: a short reason (missing
keys, not PEM, expired, key not matching the certificate, no CA for MUTUAL) or None. Reads
only the Secret's own data; the private key is parsed to compare it with the certificate and
never logged or returned.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sailmesh.config.resource import Resource

CERT_KEYS = ("tls.crt", "cert")
KEY_KEYS = ("tls.key", "key")
CA_KEYS = ("ca.crt", "cacert")
#: Istio's convention for the CA of a MUTUAL server kept apart from the key pair.
CA_SECRET_SUFFIX = "-cacert"


def secret_value(secret: Resource, *keys: str) -> bytes | None:
    """The first of ``keys`` present in ``stringData`` or (base64) ``data``; b"" if undecodable."""
    body: Any = secret.body
    for key in keys:
        if body.string_data and key in body.string_data:
            return str(body.string_data[key]).encode()
        if body.data and key in body.data:
            try:
                return base64.b64decode(body.data[key], validate=True)
            except (binascii.Error, ValueError):
                return b""
    return None


#: The annotation of a Secret whose values the control-plane API withheld (``sailctl analyze``
#: of a running mesh sees key names only, so only their presence is checked).
WITHHELD_ANNOTATION = "sailmesh.io/redacted"


def _keys(secret: Resource | None) -> set[str]:
    if secret is None:
        return set()
    body: Any = secret.body
    return set(body.data or {}) | set(body.string_data or {})


def _withheld_problem(secret: Resource, ca_secret: Resource | None, mutual: bool) -> str | None:
    keys = _keys(secret)
    if not keys & set(CERT_KEYS) or not keys & set(KEY_KEYS):
        return "missing keys: a certificate (tls.crt) and a private key (tls.key) are required"
    if mutual and not (keys | _keys(ca_secret)) & set(CA_KEYS):
        return "MUTUAL mode needs a CA certificate (ca.crt) to verify clients"
    return None


def credential_problem(
    secret: Resource,
    now: datetime.datetime,
    ca_secret: Resource | None = None,
    mutual: bool = False,
) -> str | None:
    """Why ``secret`` cannot serve as a gateway certificate (None when it can)."""
    if secret.meta.annotations and WITHHELD_ANNOTATION in secret.meta.annotations:
        return _withheld_problem(secret, ca_secret, mutual)
    cert_pem = secret_value(secret, *CERT_KEYS)
    key_pem = secret_value(secret, *KEY_KEYS)
    if not cert_pem or not key_pem:
        return "missing keys: a certificate (tls.crt) and a private key (tls.key) are required"
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return "tls.crt is not a PEM certificate"
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        return "tls.key is not an unencrypted PEM private key"
    if cert.not_valid_after_utc < now:
        return f"the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if key.public_key().public_bytes(encoding, public) != cert.public_key().public_bytes(
        encoding, public
    ):
        return "the private key does not match the certificate"
    if mutual:
        ca = secret_value(secret, *CA_KEYS)
        if ca is None and ca_secret is not None:
            ca = secret_value(ca_secret, *CA_KEYS)
        if not ca:
            return "MUTUAL mode needs a CA certificate (ca.crt) to verify clients"
    return None
