"""Redaction of bug-report members: keys, tokens and Secret values go, names stay."""

from __future__ import annotations

import base64

from config_support.tls_secrets import tls_secret
from sailmesh.app.redact import REDACTED, redact_json, redact_object, redact_text
from sailmesh.config.load import load_text


def test_text_loses_pem_keys_bearer_tokens_and_jwts_only() -> None:
    text = (
        "cert -----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"
        "GET /x authorization: Bearer abc.DEF-123_~+/= host=reviews\n"
        "jwt eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.c2ln end"
    )
    out = redact_text(text)
    assert "BEGIN CERTIFICATE" in out and "host=reviews" in out
    assert "PRIVATE KEY" not in out and "MHcCAQEE" not in out
    assert "authorization: Bearer [redacted] host=reviews" in out
    assert "jwt [redacted] end" in out


def test_base64_private_keys_go_base64_certificates_stay() -> None:
    key = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nMIGHAgEA\n-----END PRIVATE KEY-----\n")
    cert = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIBkTCB\n-----END CERTIFICATE-----\n")
    out = redact_text(f"key: {key.decode()}\ncrt: {cert.decode()}")
    assert out.splitlines() == [f"key: {REDACTED}", f"crt: {cert.decode()}"]


def test_secret_objects_keep_keys_not_values() -> None:
    (secret,) = load_text(tls_secret("shop-cert")).resources
    item = redact_object(secret.to_dict())
    assert item["data"] == {"tls.crt": REDACTED, "tls.key": REDACTED}
    assert item["metadata"]["name"] == "shop-cert"


def test_json_secret_fields_anywhere() -> None:
    dump = {"a": [{"private_key": {"inline_bytes": "AAAA"}, "name": "default"}], "token": ""}
    assert redact_json(dump) == {"a": [{"private_key": REDACTED, "name": "default"}], "token": ""}
