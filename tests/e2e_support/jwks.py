"""JWT issuers for tests: RSA signing keys, their JWKS, tokens with chosen claims, and a JWKS
HTTP server (a process of its own, or a mesh Deployment's command).

Tokens are RS256 JWS compact serialisations minted with ``cryptography`` alone (no JWT
library): ``base64url(header) . base64url(payload) . base64url(RSASSA-PKCS1-v1_5(SHA-256))``.
Private keys live only in the test process's memory; only public keys are written out.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: Serves argv[1] (JSON: {url path: key set}) on argv[3]:argv[2], 404 for other paths, one line
#: per GET to stdout (the mesh keeps it as the pod's log): what tests read to see who fetched keys.
#: With argv[4] and argv[5] (certificate chain and key files) it speaks HTTPS.
SERVER_SCRIPT = """
import http.server, json, ssl, sys
sets, port, host = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
class Keys(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print('GET', self.path, flush=True)
        found = sets.get(self.path)
        body = (found if found is not None else 'no key set here').encode()
        self.send_response(200 if found is not None else 404)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer((host, port), Keys)
if len(sys.argv) > 5:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[4], sys.argv[5])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class SigningKey:
    """An RSA key pair with a key id; mints RS256 tokens and publishes its public JWK."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self._private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, str]:
        numbers = self._private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
            "n": _uint(numbers.n),
            "e": _uint(numbers.e),
        }

    def token(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        """A signed token with ``claims`` as its payload (``kid`` overrides the header's)."""
        header = {"alg": "RS256", "typ": "JWT", "kid": kid or self.kid}
        signing_input = ".".join(
            b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        signature = self._private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"


def jwks(*keys: SigningKey) -> str:
    """The JSON Web Key Set publishing ``keys`` (public parts only)."""
    return json.dumps({"keys": [key.jwk() for key in keys]})


def claims(issuer: str, subject: str, lifetime: float = 3600.0, **extra: Any) -> dict[str, Any]:
    """Standard claims (``iss``, ``sub``, ``iat``, ``exp`` = now + lifetime) plus ``extra``;
    a negative lifetime makes an expired token."""
    now = int(time.time())
    return {"iss": issuer, "sub": subject, "iat": now, "exp": now + int(lifetime), **extra}


def server_command(
    key_sets: dict[str, str],
    port: int,
    host: str = "0.0.0.0",
    tls: tuple[str, str] | None = None,
) -> list[str]:
    """The command of a JWKS server publishing ``key_sets`` (URL path -> JWKS JSON) on
    ``host:port`` (every address of a pod's own network namespace by default), over HTTPS
    with ``tls`` = (certificate chain file, key file)."""
    argv = ["python3", "-c", SERVER_SCRIPT, json.dumps(key_sets), str(port), host]
    return argv + list(tls or ())


class JwksServer:
    """A JWKS server process on 127.0.0.1 (``with JwksServer(key_sets, port):``), stopped by
    its pid."""

    def __init__(self, key_sets: dict[str, str], port: int) -> None:
        command = server_command(key_sets, port, "127.0.0.1")
        command[0] = sys.executable
        self._command = command
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> JwksServer:
        self._process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)


class Issuer:
    """A named issuer with its own signing key (kid ``test``): ``jwks()`` is the key set Envoy
    verifies with, ``token(claims)`` a token carrying ``claims`` plus ``iss`` and a one-hour
    ``exp`` (unless ``claims`` sets them)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.key = SigningKey("test")

    def jwks(self) -> str:
        return jwks(self.key)

    def token(self, claims: dict[str, Any]) -> str:
        return self.key.token({"iss": self.name, "exp": int(time.time()) + 3600, **claims})
