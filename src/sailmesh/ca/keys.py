"""Key generation and the key policy: which public keys the CA accepts and creates.

Accepted: EC P-256 and P-384, RSA of 2048 bits or more (with the usual exponent 65537). Refused
with :class:`KeyPolicyError`: shorter RSA keys, other curves, DSA, Ed25519/Ed448 (Envoy's
BoringSSL handshakes with them poorly and Istio does not issue them).

Private keys are :mod:`cryptography` objects in memory; :func:`private_pem` is the only way to
serialize one and exists for the CA's own 0600 files (:mod:`sailmesh.ca.storage`) and for
handing a workload's key to its own Envoy over SDS. Nothing here logs or formats a key.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sailmesh.errors import CaError

MIN_RSA_BITS = 2048
ALLOWED_CURVES: tuple[type[ec.EllipticCurve], ...] = (ec.SECP256R1, ec.SECP384R1)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class KeyPolicyError(CaError):
    """A key the CA does not accept (weak, or of an unsupported algorithm or curve)."""


class KeyType(Enum):
    EC_P256 = "EC_P256"
    RSA_2048 = "RSA_2048"
    RSA_3072 = "RSA_3072"
    RSA_4096 = "RSA_4096"


def generate_key(key_type: KeyType = KeyType.EC_P256) -> PrivateKey:
    """A new private key of ``key_type`` (EC P-256 by default: small and fast)."""
    if key_type is KeyType.EC_P256:
        return ec.generate_private_key(ec.SECP256R1())
    bits = int(key_type.value.rsplit("_", 1)[1])
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def check_public_key(key: Any) -> None:
    """Raise :class:`KeyPolicyError` unless ``key`` is a public key the policy accepts."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyPolicyError(f"RSA key of {key.key_size} bits (at least {MIN_RSA_BITS})")
        if key.public_numbers().e != 65537:
            raise KeyPolicyError("RSA key with a public exponent other than 65537")
        return
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ALLOWED_CURVES):
            raise KeyPolicyError(f"EC key on curve {key.curve.name} (P-256 or P-384 only)")
        return
    raise KeyPolicyError(f"unsupported key type {type(key).__name__}")


def check_private_key(key: Any) -> PrivateKey:
    """``key`` when it is a private key the policy accepts (for loaded CA keys)."""
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise KeyPolicyError(f"unsupported private key type {type(key).__name__}")
    check_public_key(key.public_key())
    return key


def private_pem(key: PrivateKey) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM: for 0600 files and the workload's own Envoy only."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_pem(data: bytes) -> PrivateKey:
    """A private key from PEM (PKCS#1, SEC1 or PKCS#8, unencrypted), checked by the policy."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CaError(f"cannot read a private key: {type(exc).__name__}") from None
    return check_private_key(key)


def same_public_key(a: Any, b: Any) -> bool:
    """Whether two public keys are the same key."""
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return bool(a.public_bytes(der, fmt) == b.public_bytes(der, fmt))
