"""The control-plane API the CLI talks to: JSON over HTTP on a Unix socket (mode 0600).

Routes (all JSON):
  GET  /v1/version                      -> {"version", "revision"}
  POST /v1/apply   {"yaml", "file", "namespace"}  -> 200 {"outcomes", "warnings"} | 422 {"problems"}
  POST /v1/delete  {"yaml", "file", "namespace", "ignoreNotFound"} -> 200 {"outcomes"} | 404
  GET  /v1/config?kind=&namespace=&name=  -> {"items": [...]}
  GET  /v1/proxies                      -> {"proxies": [...]} (sync status per xDS type)
  GET  /v1/runtime/<what>?...           -> answered by the local runtime, when one runs
  GET  /v1/ca                           -> the CA, trust bundle, pods' certificates, warnings
  POST /v1/ca/rotate-root {"overlap", "cacerts"} -> the new root and the overlap's end
  POST /v1/runtime/loglevel?pod=[&level=|&paths=] -> a proxy's Envoy log levels (set, then listed)
  POST /v1/shutdown                     -> stops the process serving the API
Requests are served on a thread; the backend methods must be thread-safe. The backend is
:class:`sailmesh.app.backend.MeshApi`.

Bad requests get one-line JSON errors and never stop the server: a body over
:data:`MAX_BODY_BYTES` is refused with 413 before it is read, a missing or malformed length,
a body that is not a JSON object or fields of the wrong type with 400, a connection that stalls
for :data:`IDLE_TIMEOUT` seconds is closed. The stdlib's own refusals (garbage request lines,
header lines over 64 KiB, more than 100 headers) are answered in the same JSON form.

Who can talk to it: the socket is created with mode 0600 in a 0700 directory, so only its
owner (and root) can connect; nothing listens on TCP.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

from sailmesh.errors import ApiError

__all__ = [
    "IDLE_TIMEOUT",
    "MAX_BODY_BYTES",
    "ApiClient",
    "ApiError",
    "ApiServer",
    "Backend",
    "body_too_large",
]

#: Runtime calls that change something: served on POST only (every other one on GET only).
MUTATING_RUNTIME_CALLS = frozenset({"loglevel"})
#: The largest request body the API reads: room for 8 MiB of YAML (the config loader's limit)
#: once escaped into JSON.
MAX_BODY_BYTES = 16 * 1024 * 1024
#: Seconds a connection may stay silent mid-request (or between requests) before it is closed.
IDLE_TIMEOUT = 30.0
#: After refusing a request, unread bytes (at most this many, for at most _LINGER_SECONDS) are
#: read and dropped before closing, so the client can read the answer instead of a reset.
_LINGER_BYTES = 1024 * 1024
_LINGER_SECONDS = 1.0


def body_too_large(length: int) -> str:
    """The one-line 413 error for a request body of ``length`` bytes."""
    return (
        f"request body is {length} bytes; the limit is {MAX_BODY_BYTES // (1024 * 1024)} MiB "
        "(YAML up to 8 MiB per apply): split the input"
    )


class Backend(Protocol):
    def version(self) -> dict[str, Any]: ...
    def apply_yaml(self, text: str, file: str, namespace: str) -> dict[str, Any]: ...
    def delete_yaml(
        self, text: str, file: str, namespace: str, ignore_not_found: bool
    ) -> dict[str, Any]: ...
    def get_config(
        self, kind: str | None, namespace: str | None, name: str | None
    ) -> dict[str, Any]: ...
    def proxies(self) -> dict[str, Any]: ...
    def runtime_call(self, what: str, query: dict[str, str]) -> dict[str, Any]: ...
    def ca_status(self) -> dict[str, Any]: ...
    def traces(self, query: dict[str, str]) -> dict[str, Any]: ...
    def rotate_root(self, overlap: float | None, cacerts: str) -> dict[str, Any]: ...
    def shutdown(self) -> dict[str, Any]: ...


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    backend: Backend


class _Handler(BaseHTTPRequestHandler):
    server: _UnixHTTPServer
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:
        return

    def address_string(self) -> str:
        return "unix"

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib's refusals (bad request line, oversized headers, ...) as one-line JSON."""
        self.close_connection = True
        reason = message or self.responses.get(code, ("error",))[0]
        if getattr(self, "request_version", "") in ("", "HTTP/0.9"):
            self.request_version = "HTTP/1.1"  # answer with a status line, not a bare body
        self._send(code, {"error": f"bad request: {reason}"})

    def _body(self) -> dict[str, Any]:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise ApiError(411, {"error": "send the body with a Content-Length, not chunked"})
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not raw.isdigit():
            self.close_connection = True
            raise ApiError(400, {"error": f"bad request: invalid Content-Length {raw[:40]!r}"})
        length = int(raw)
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the body stays unread: this connection is done
            raise ApiError(413, {"error": body_too_large(length)})
        if not length:
            return {}
        payload = self.rfile.read(length)
        if len(payload) < length:
            self.close_connection = True
            raise ApiError(400, {"error": "bad request: the body ended before Content-Length"})
        try:
            data = json.loads(payload)
        except ValueError as exc:  # also bytes that are not UTF-8
            raise ApiError(400, {"error": f"bad request: the body is not JSON: {exc}"}) from None
        if not isinstance(data, dict):
            raise ApiError(400, {"error": "request body must be a JSON object"})
        return data

    @staticmethod
    def _field(body: dict[str, Any], name: str, kind: type, default: Any) -> Any:
        value = body.get(name, default)
        if not isinstance(value, kind):
            raise ApiError(
                400, {"error": f"bad request: field {name!r} must be a {kind.__name__} in JSON"}
            )
        return value

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        backend = self.server.backend
        try:
            if method == "GET" and url.path == "/v1/version":
                self._send(200, backend.version())
            elif method == "GET" and url.path == "/v1/config":
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._send(
                    200, backend.get_config(q.get("kind"), q.get("namespace"), q.get("name"))
                )
            elif method == "GET" and url.path == "/v1/proxies":
                self._send(200, backend.proxies())
            elif method == "GET" and url.path == "/v1/traces":
                self._send(200, backend.traces({k: v[0] for k, v in parse_qs(url.query).items()}))
            elif url.path.startswith("/v1/runtime/") and method == (
                "POST" if url.path.removeprefix("/v1/runtime/") in MUTATING_RUNTIME_CALLS else "GET"
            ):
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._send(200, backend.runtime_call(url.path.removeprefix("/v1/runtime/"), q))
            elif method == "GET" and url.path == "/v1/ca":
                self._send(200, backend.ca_status())
            elif method == "POST" and url.path == "/v1/ca/rotate-root":
                b = self._body()
                overlap = b.get("overlap")  # None: the backend's default
                if isinstance(overlap, bool) or not isinstance(overlap, int | float | None):
                    raise ApiError(400, {"error": "bad request: 'overlap' must be seconds"})
                cacerts = self._field(b, "cacerts", str, "")
                seconds = None if overlap is None else float(overlap)
                self._send(200, backend.rotate_root(seconds, cacerts))
            elif method == "POST" and url.path == "/v1/shutdown":
                self._send(200, backend.shutdown())
            elif method == "POST" and url.path == "/v1/apply":
                b = self._body()
                self._send(
                    200,
                    backend.apply_yaml(
                        self._field(b, "yaml", str, ""),
                        self._field(b, "file", str, "-"),
                        self._field(b, "namespace", str, "default"),
                    ),
                )
            elif method == "POST" and url.path == "/v1/delete":
                b = self._body()
                self._send(
                    200,
                    backend.delete_yaml(
                        self._field(b, "yaml", str, ""),
                        self._field(b, "file", str, "-"),
                        self._field(b, "namespace", str, "default"),
                        self._field(b, "ignoreNotFound", bool, False),
                    ),
                )
            else:
                self._send(404, {"error": f"no route {method} {url.path}"})
        except ApiError as exc:
            self._reply_error(exc.status, exc.body)
        except (ValueError, KeyError) as exc:
            self._reply_error(400, {"error": f"bad request: {exc}"})
        except Exception as exc:  # report, never kill the server thread silently
            self._reply_error(500, {"error": f"internal error: {type(exc).__name__}: {exc}"})

    def finish(self) -> None:
        super().finish()
        if self.close_connection:
            self._linger()

    def _linger(self) -> None:
        """Tell the client we are done, then drop what it still sends (bounded)."""
        sock = self.connection
        try:
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER_SECONDS
            dropped = 0
            while dropped < _LINGER_BYTES and (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                dropped += len(chunk)
        except OSError:
            pass

    def _reply_error(self, status: int, body: dict[str, Any]) -> None:
        try:
            self._send(status, body)
        except OSError:  # the client is gone: nobody to tell
            self.close_connection = True

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")


class ApiServer:
    """Serves a :class:`Backend` on a Unix socket readable only by its owner."""

    def __init__(self, backend: Backend, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.exists() or path.is_socket():
            path.unlink()
        old_umask = os.umask(0o177)
        try:
            self._server = _UnixHTTPServer(str(path), _Handler)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        self._server.backend = backend
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.path.exists():
            self.path.unlink()


class ApiClient:
    """Client side of the API (used by sailctl)."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout

    def request(
        self, method: str, route: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        import http.client

        path = self.path
        timeout = self.timeout

        class _Conn(http.client.HTTPConnection):
            def connect(self) -> None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(timeout)
                sock.connect(str(path))
                self.sock = sock

        payload = json.dumps(body).encode() if body is not None else None
        if payload is not None and len(payload) > MAX_BODY_BYTES:
            return 413, {"error": body_too_large(len(payload))}  # the server would refuse it
        conn = _Conn("localhost", timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"} if payload else {}
            conn.request(method, route, body=payload, headers=headers)
            resp = conn.getresponse()
            data = json.loads(resp.read() or b"{}")
            return resp.status, data
        except http.client.HTTPException as exc:  # the server went away mid-answer
            raise ConnectionError(
                f"the control plane closed the connection before answering in full ({exc!r})"
            ) from exc
        finally:
            conn.close()
