"""Taking secrets out of what a bug report carries: config, proxy dumps and logs.

In: Secret objects, JSON documents and text. Out: the same with secret values replaced by
``[redacted]``: every value of a Secret's ``data``/``stringData`` (the keys stay, so a missing
key is still visible), every field named like a key or token in JSON, and in any text PEM
private-key blocks (also base64-wrapped ones, as Secret data holds them), bearer tokens and
JWTs. Certificates and public keys stay: they help and reveal nothing.

Who reads a bug report: whoever it is sent to. After redaction they cannot impersonate a
workload or gateway (no private key), nor replay a user's request (no token); they do see
names, hosts, routes, certificate subjects and expiry dates, which is what a bug report is for.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

REDACTED = "[redacted]"
#: JSON fields whose values are secret wherever they appear (Envoy and Kubernetes spellings).
SECRET_FIELDS = frozenset(
    {
        "private_key",
        "privateKey",
        "password",
        "client_secret",
        "clientSecret",
        "token",
        "access_token",
        "id_token",
        "refresh_token",
    }
)
_PEM_KEY = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.DOTALL
)
#: A PEM block as base64 (``-----BEGIN`` encodes to ``LS0tLS1CRUdJTi``), as Secret data holds it.
_B64_PEM = re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]{16,}")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def _b64_pem(match: re.Match[str]) -> str:
    try:
        decoded = base64.b64decode(match.group(0) + "==", validate=False)
    except (binascii.Error, ValueError):
        return match.group(0)
    return REDACTED if b"PRIVATE KEY" in decoded else match.group(0)


def redact_text(text: str) -> str:
    """``text`` without private keys, bearer tokens or JWTs."""
    text = _PEM_KEY.sub(REDACTED, text)
    text = _B64_PEM.sub(_b64_pem, text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return _JWT.sub(REDACTED, text)


def redact_json(value: Any) -> Any:
    """A JSON value with every :data:`SECRET_FIELDS` value and every string redacted."""
    if isinstance(value, dict):
        return {
            k: REDACTED if k in SECRET_FIELDS and v not in (None, "") else redact_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_object(item: dict[str, Any]) -> dict[str, Any]:
    """A config object as ``/v1/config`` returns it; a Secret keeps its keys, not its values."""
    out = dict(item)
    if out.get("kind") == "Secret":
        for field in ("data", "stringData"):
            if isinstance(out.get(field), dict):
                out[field] = dict.fromkeys(out[field], REDACTED)
    redacted: dict[str, Any] = redact_json(out)
    return redacted


#: Annotation the API puts on a Secret whose values it withheld (analyzers then check keys only).
REDACTED_ANNOTATION = "sailmesh.io/redacted"


def _size(value: Any, encoded: bool) -> int:
    text = str(value)
    if encoded:
        try:
            return len(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            return len(text)
    return len(text.encode())


def withhold_secret_values(item: dict[str, Any]) -> dict[str, Any]:
    """A Secret as the control-plane API returns it (``sailctl get secret``): the key names
    and their sizes (``[redacted: N bytes]``), never the values, and an annotation saying so.
    Other objects are returned unchanged. (kubectl prints values base64-encoded; sailmesh does
    not hand private keys to any API client: they reach only the gateways that serve them.)"""
    if item.get("kind") != "Secret":
        return item
    out = dict(item)
    for field, encoded in (("data", True), ("stringData", False)):
        values = out.get(field)
        if isinstance(values, dict):
            out[field] = {k: f"[redacted: {_size(v, encoded)} bytes]" for k, v in values.items()}
    metadata = dict(out.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    annotations[REDACTED_ANNOTATION] = "values"
    metadata["annotations"] = annotations
    out["metadata"] = metadata
    return out
