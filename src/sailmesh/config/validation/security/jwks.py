"""Whether Envoy can verify tokens with the keys of an inline JSON Web Key Set.

In: one JWK (a JSON object). Out: why Envoy's jwt_authn filter cannot use it, or None. Envoy
refuses a provider (and with it the whole listener update) whose inline set has no usable key,
so validation reports such sets and the translator keeps only usable keys
(:mod:`sailmesh.xds.jwt.keys`). Checked with ``cryptography``: RSA keys of at least 1024 bits,
EC points on P-256/384/521, Ed25519 keys, non-empty ``oct`` secrets.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

EC_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}
#: Shorter RSA keys are refused (weak, and the shortest Envoy's parser refuses too).
MIN_RSA_BITS = 1024


def key_problem(key: Any) -> str | None:
    """Why Envoy cannot use the JWK ``key`` (None: it can)."""
    if not isinstance(key, dict):
        return "a key must be a JSON object"
    kty = key.get("kty")
    try:
        if kty == "RSA":
            return _rsa_problem(_number(key, "n"), _number(key, "e"))
        if kty == "EC":
            curve = EC_CURVES.get(str(key.get("crv")))
            if curve is None:
                return f"EC curve {key.get('crv')!r} is not one of {', '.join(EC_CURVES)}"
            ec.EllipticCurvePublicNumbers(_number(key, "x"), _number(key, "y"), curve).public_key()
            return None
        if kty == "OKP":
            if key.get("crv") != "Ed25519":
                return f"OKP curve {key.get('crv')!r} is not Ed25519"
            ed25519.Ed25519PublicKey.from_public_bytes(_bytes(key, "x"))
            return None
        if kty == "oct":
            _bytes(key, "k")
            return None
    except (ValueError, TypeError) as exc:
        return f"{kty} key is not usable: {exc}"
    return f"key type {kty!r} is not one of RSA, EC, oct, OKP"


def _rsa_problem(n: int, e: int) -> str | None:
    if n.bit_length() < MIN_RSA_BITS:
        return f"the RSA modulus has {n.bit_length()} bits, fewer than {MIN_RSA_BITS}"
    rsa.RSAPublicNumbers(e, n).public_key()
    return None


def _bytes(key: dict[str, Any], member: str) -> bytes:
    value = key.get(member)
    if not isinstance(value, str) or not value:
        raise ValueError(f"member {member!r} is missing")
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"member {member!r} is not base64url") from exc


def _number(key: dict[str, Any], member: str) -> int:
    return int.from_bytes(_bytes(key, member), "big")
