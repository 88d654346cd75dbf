"""Helpers of the authorization end-to-end tests: an echo server for pods, manifests of
servers and clients, policies applied and removed per test, and waiting for Envoy to converge.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TypeVar

from e2e_support.localmesh import LocalMeshThread
from sailmesh.runtime.local import RunningPod

T = TypeVar("T")

#: ``web``: answers any method with ``{"method", "path", "headers"}``; echoes TCP lines on 9000.
WEB = (
    "import http.server, json, socketserver, threading\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def answer(self):\n"
    "        n = int(self.headers.get('content-length') or 0)\n"
    "        if n: self.rfile.read(n)\n"
    "        body = json.dumps({'method': self.command, 'path': self.path,\n"
    "            'headers': {k.lower(): v for k, v in self.headers.items()}}).encode()\n"
    "        self.send_response(200); self.send_header('content-length', str(len(body)))\n"
    "        self.end_headers(); self.wfile.write(body)\n"
    "    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = answer\n"
    "    def log_message(self, *a): pass\n"
    "class Echo(socketserver.StreamRequestHandler):\n"
    "    def handle(self):\n"
    "        for line in self.rfile: self.wfile.write(b'echo ' + line)\n"
    "socketserver.ThreadingTCPServer.allow_reuse_address = True\n"
    "tcp = socketserver.ThreadingTCPServer(('0.0.0.0', 9000), Echo)\n"
    "threading.Thread(target=tcp.serve_forever, daemon=True).start()\n"
    "extra = http.server.ThreadingHTTPServer(('0.0.0.0', 8081), H)\n"
    "threading.Thread(target=extra.serve_forever, daemon=True).start()\n"
    "http.server.ThreadingHTTPServer(('0.0.0.0', 8080), H).serve_forever()\n"
)


def server(name: str, namespace: str, service_account: str = "default") -> str:
    """A Deployment ``name`` running :data:`WEB` (label ``app: <name>``) and its Service
    (HTTP port 80 -> 8080, ``tcp-echo`` 9000)."""
    command = json.dumps(["python3", "-c", WEB])
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: 8080}}, {{name: tcp-echo, port: 9000, targetPort: 9000}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      serviceAccountName: {service_account}
      containers: [{{name: {name}, command: {command}, ports: [{{containerPort: 8080}}]}}]
"""


def client(name: str, namespace: str, service_account: str = "default") -> str:
    """A Deployment ``name`` that sleeps (tests run their requests in its pod)."""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      serviceAccountName: {service_account}
      containers: [{{name: {name}, command: [sleep, "3600"]}}]
"""


def namespace(name: str, injection: str = "enabled") -> str:
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {name}, labels: {{istio-injection: {injection}}}}}
"""


def pod(mesh: LocalMeshThread, namespace: str, deployment: str) -> RunningPod:
    assert mesh.mesh.runtime is not None
    found = mesh.mesh.runtime.find_pod(f"deploy/{deployment}", namespace)
    assert found is not None, f"{namespace}/{deployment}"
    return found


def expect(get: Callable[[], T], expected: T, timeout: float = 30.0) -> None:
    """Poll ``get()`` until it returns ``expected`` (configuration reaches Envoy
    asynchronously); on timeout the last value is compared, so the failure shows it."""
    deadline = time.monotonic() + timeout
    found = get()
    while found != expected and time.monotonic() < deadline:
        time.sleep(0.3)
        found = get()
    assert found == expected


class Policies:
    """Policies a test applies; :meth:`clear` deletes them and waits until ``opened()``
    (the mesh answers as without policies)."""

    def __init__(self, mesh: LocalMeshThread, opened: Callable[[], bool]) -> None:
        self.mesh = mesh
        self.opened = opened
        self.applied: list[str] = []

    def apply(self, text: str) -> None:
        self.applied.append(text)
        outcomes = self.mesh.apply(text)
        assert outcomes, text

    def clear(self) -> None:
        for text in reversed(self.applied):
            self.mesh.delete(text)
        self.applied.clear()
        expect(self.opened, True)
