"""A small external authorization server for tests (HTTP and gRPC), run as a pod's process.

The decision is the same on both protocols, as in Istio's ext-authz sample: a request carrying
``x-ext-authz: allow`` is allowed, any other is denied. Both answers carry
``x-ext-authz-check-result: allowed|denied`` (to the upstream on allow, to the client on deny),
and the server counts the checks it made (``GET /stats`` on the HTTP port answers
``{"http": n, "grpc": m}``, itself never checked), so a test can tell that Envoy did not call it.

HTTP: every request to the HTTP port is a check (Envoy sends the original method and path,
after ``pathPrefix``). gRPC: ``envoy.service.auth.v3.Authorization/Check``; a check without HTTP
attributes (a TCP connection) is allowed when ``--allow-tcp`` is given.

Run: ``python ext_authz_server.py --http 8000 --grpc 9000``.
"""

from __future__ import annotations

import argparse
import json
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HEADER = "x-ext-authz"
RESULT = "x-ext-authz-check-result"
ALLOW = "allow"
CHECKS = {"http": 0, "grpc": 0}
_LOCK = threading.Lock()


def _count(kind: str) -> None:
    with _LOCK:
        CHECKS[kind] += 1


class HttpCheck(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        if self.path == "/stats":
            self._send(200, json.dumps(CHECKS).encode(), {})
            return
        _count("http")
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        allowed = self.headers.get(HEADER) == ALLOW
        result = "allowed" if allowed else "denied"
        body = b"" if allowed else f"denied by ext_authz for {self.path}".encode()
        self._send(200 if allowed else 403, body, {RESULT: result})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer

    def log_message(self, *args: Any) -> None:
        pass


def serve_grpc(port: int, allow_tcp: bool) -> Any:
    import grpc
    from envoy.config.core.v3 import base_pb2
    from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
    from envoy.type.v3 import http_status_pb2
    from google.rpc import code_pb2, status_pb2

    class Check(external_auth_pb2_grpc.AuthorizationServicer):  # type: ignore[misc]
        def Check(self, request: Any, context: Any) -> Any:
            _count("grpc")
            http = request.attributes.request.http
            # A TCP connection's check has no HTTP attributes.
            allowed = http.headers.get(HEADER) == ALLOW if http.method else allow_tcp
            result = "allowed" if allowed else "denied"
            header = base_pb2.HeaderValueOption(
                header=base_pb2.HeaderValue(key=RESULT, value=result)
            )
            if allowed:
                return external_auth_pb2.CheckResponse(
                    status=status_pb2.Status(code=code_pb2.OK),
                    ok_response=external_auth_pb2.OkHttpResponse(headers=[header]),
                )
            return external_auth_pb2.CheckResponse(
                status=status_pb2.Status(code=code_pb2.PERMISSION_DENIED),
                denied_response=external_auth_pb2.DeniedHttpResponse(
                    status=http_status_pb2.HttpStatus(code=http_status_pb2.Forbidden),
                    headers=[header],
                    body=f"denied by ext_authz for {http.path}",
                ),
            )

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    external_auth_pb2_grpc.add_AuthorizationServicer_to_server(Check(), server)
    server.add_insecure_port(f"0.0.0.0:{port}")
    server.start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--http", type=int, required=True)
    parser.add_argument("--grpc", type=int)
    parser.add_argument("--allow-tcp", action="store_true")
    args = parser.parse_args()
    grpc_server = serve_grpc(args.grpc, args.allow_tcp) if args.grpc else None
    try:
        ThreadingHTTPServer(("0.0.0.0", args.http), HttpCheck).serve_forever()
    finally:
        if grpc_server is not None:
            grpc_server.stop(0)


if __name__ == "__main__":
    main()
