"""RS256 JSON Web Tokens and their JWKS for tests, signed with ``cryptography`` (no JWT library).

:class:`Issuer` holds one RSA key: ``issuer.jwks()`` is the JWKS document Envoy verifies with,
``issuer.token(claims)`` a signed token carrying ``claims`` (plus ``iss`` and a one-hour ``exp``).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class Issuer:
    """A token issuer with its own 2048-bit RSA key (kid ``test``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> str:
        numbers = self._key.public_key().public_numbers()
        key = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "test",
               "n": _uint(numbers.n), "e": _uint(numbers.e)}  # fmt: skip
        return json.dumps({"keys": [key]})

    def token(self, claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": "test"}
        body = {"iss": self.name, "exp": int(time.time()) + 3600, **claims}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"
