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


def test_the_api_returns_secret_key_names_and_sizes_only() -> None:
    from sailmesh.app.redact import withhold_secret_values
    from sailmesh.config.analysis.analyzers.credentials import credential_problem

    (secret,) = load_text(tls_secret("cred", ca=True), "s.yaml").resources
    item = secret.to_dict()
    out = withhold_secret_values(item)
    assert set(out["data"]) == {"tls.crt", "tls.key", "ca.crt"}
    size = len(base64.b64decode(item["data"]["tls.key"]))
    assert out["data"]["tls.key"] == f"[redacted: {size} bytes]"
    assert "PRIVATE" not in str(out) and "LS0t" not in str(out)
    assert withhold_secret_values({"kind": "Gateway", "spec": {}}) == {
        "kind": "Gateway",
        "spec": {},
    }
    # what `sailctl analyze` of a running mesh then sees: keys present, values not checked
    import datetime

    from sailmesh.app.mesh_inputs import mesh_resources

    ((seen,), problems) = mesh_resources([out])
    assert problems == []

    now = datetime.datetime.now(datetime.UTC)
    assert credential_problem(seen, now, mutual=True) is None
    del out["data"]["ca.crt"]
    ((seen,), _) = mesh_resources([out])
    assert credential_problem(seen, now, mutual=True) == (
        "MUTUAL mode needs a CA certificate (ca.crt) to verify clients"
    )
