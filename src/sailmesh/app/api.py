"""The control-plane API the CLI talks to: JSON over HTTP on a Unix socket (mode 0600).

Routes (all JSON):
  GET  /v1/version                      -> {"version", "revision"}
  POST /v1/apply   {"yaml", "file", "namespace"}  -> 200 {"outcomes", "warnings"} | 422 {"problems"}
  POST /v1/delete  {"yaml", "file", "namespace", "ignoreNotFound"} -> 200 {"outcomes"} | 404
  GET  /v1/config?kind=&namespace=&name=  -> {"items": [...]}
  GET  /v1/proxies                      -> {"proxies": [...]} (sync status per xDS type)
  GET  /v1/runtime/<what>?...           -> answered by the local runtime, when one runs
  POST /v1/shutdown                     -> stops the process serving the API
Requests are served on a thread; the backend methods must be thread-safe. The backend is
:class:`sailmesh.app.backend.MeshApi`.

Who can talk to it: the socket is created with mode 0600 in a 0700 directory, so only its
owner (and root) can connect; nothing listens on TCP.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

from sailmesh.errors import ApiError

__all__ = ["ApiClient", "ApiError", "ApiServer", "Backend"]


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
    def shutdown(self) -> dict[str, Any]: ...


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    backend: Backend


class _Handler(BaseHTTPRequestHandler):
    server: _UnixHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def address_string(self) -> str:
        return "unix"

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        data = json.loads(self.rfile.read(length))
        if not isinstance(data, dict):
            raise ApiError(400, {"error": "request body must be a JSON object"})
        return data

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
            elif method == "GET" and url.path.startswith("/v1/runtime/"):
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._send(200, backend.runtime_call(url.path.removeprefix("/v1/runtime/"), q))
            elif method == "POST" and url.path == "/v1/shutdown":
                self._send(200, backend.shutdown())
            elif method == "POST" and url.path == "/v1/apply":
                b = self._body()
                self._send(
                    200,
                    backend.apply_yaml(
                        b.get("yaml", ""), b.get("file", "-"), b.get("namespace", "default")
                    ),
                )
            elif method == "POST" and url.path == "/v1/delete":
                b = self._body()
                self._send(
                    200,
                    backend.delete_yaml(
                        b.get("yaml", ""),
                        b.get("file", "-"),
                        b.get("namespace", "default"),
                        bool(b.get("ignoreNotFound", False)),
                    ),
                )
            else:
                self._send(404, {"error": f"no route {method} {url.path}"})
        except ApiError as exc:
            self._send(exc.status, exc.body)
        except (ValueError, KeyError) as exc:
            self._send(400, {"error": f"bad request: {exc}"})
        except Exception as exc:  # report, never kill the server thread silently
            self._send(500, {"error": f"internal error: {type(exc).__name__}: {exc}"})

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

        conn = _Conn("localhost", timeout=timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if payload else {}
            conn.request(method, route, body=payload, headers=headers)
            resp = conn.getresponse()
            data = json.loads(resp.read() or b"{}")
            return resp.status, data
        finally:
            conn.close()
