"""The mesh of the authorization e2e tests: manifests, pods and policy helpers.

Namespaces: ``authz`` (sidecars) holds ``web`` (HTTP on 8080 behind Service port 80, echoing
the request as JSON; an echo on TCP 9000; HTTP on 8081, a port no Service declares) and a
``client``; ``ext`` (sidecars) holds the ext_authz server (HTTP 8000, gRPC 9000, see
``e2e_support/ext_authz_server.py``); ``plain`` (no sidecars) holds a ``client`` whose IP reaches
the servers as it is; ``istio-system`` holds the ingress gateway, routing every host to ``web``.
The meshConfig declares the ext_authz providers ``ext-authz-http`` and ``ext-authz-grpc``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from runtime_e2e import BOOKINFO, assert_nothing_left

from e2e_support.localmesh import LocalMeshThread
from e2e_support.probes import Request, statuses
from sailmesh.runtime.local import RunningPod

T = TypeVar("T")
EXT_AUTHZ = Path(__file__).resolve().parents[1] / "e2e_support" / "ext_authz_server.py"

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


def manifests() -> str:
    web = json.dumps(["python3", "-c", WEB])
    ext = json.dumps([sys.executable, str(EXT_AUTHZ), "--http", "8000", "--grpc", "9000"])
    sleep = '[{name: client, command: [sleep, "3600"]}]'
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: authz, labels: {{istio-injection: enabled}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: ext, labels: {{istio-injection: enabled}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: plain, labels: {{istio-injection: disabled}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: authz}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: 8080}}, {{name: tcp-echo, port: 9000, targetPort: 9000}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: authz}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, command: {web}, ports: [{{containerPort: 8080}}]}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: client, namespace: authz}}
spec:
  selector: {{matchLabels: {{app: client}}}}
  template:
    metadata: {{labels: {{app: client}}}}
    spec: {{containers: {sleep}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: client, namespace: plain}}
spec:
  selector: {{matchLabels: {{app: client}}}}
  template:
    metadata: {{labels: {{app: client}}}}
    spec: {{containers: {sleep}}}
---
apiVersion: v1
kind: Service
metadata: {{name: ext-authz, namespace: ext}}
spec:
  selector: {{app: ext-authz}}
  ports: [{{name: http, port: 8000, targetPort: 8000}}, {{name: grpc, port: 9000, targetPort: 9000}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: ext-authz, namespace: ext}}
spec:
  selector: {{matchLabels: {{app: ext-authz}}}}
  template:
    metadata: {{labels: {{app: ext-authz}}}}
    spec:
      containers: [{{name: ext-authz, command: {ext}, ports: [{{containerPort: 8000}}]}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: web-gateway, namespace: istio-system}}
spec:
  selector: {{istio: ingressgateway}}
  servers: [{{port: {{number: 8080, name: http, protocol: HTTP}}, hosts: ["*"]}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: web, namespace: authz}}
spec:
  hosts: ["*"]
  gateways: [istio-system/web-gateway]
  http: [{{route: [{{destination: {{host: web.authz.svc.cluster.local, port: {{number: 80}}}}}}]}}]
---
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {{name: mesh, namespace: istio-system}}
spec:
  meshConfig:
    extensionProviders:
    - name: ext-authz-http
      envoyExtAuthzHttp:
        service: ext-authz.ext.svc.cluster.local
        port: 8000
        includeRequestHeadersInCheck: [x-ext-authz]
        headersToUpstreamOnAllow: [x-ext-authz-check-result]
        headersToDownstreamOnDeny: [x-ext-authz-check-result]
    - name: ext-authz-grpc
      envoyExtAuthzGrpc:
        service: ext/ext-authz.ext.svc.cluster.local
        port: 9000
"""


def start(home: Path) -> Iterator[LocalMeshThread]:
    """The mesh (netns mode) for a module's tests; stopped afterwards and checked to have left
    nothing behind."""
    folder = home / "manifests"
    folder.mkdir()
    (folder / "authz.yaml").write_text(manifests())
    mesh = LocalMeshThread(home)
    run_id = mesh.mesh.names.run_id
    try:
        mesh.start([str(BOOKINFO / "platform" / "istio-ingressgateway.yaml"), str(folder)])
        yield mesh
    finally:
        mesh.close()
        assert_nothing_left(run_id)


def pod(mesh: LocalMeshThread, namespace: str, deployment: str) -> RunningPod:
    assert mesh.mesh.runtime is not None
    found = mesh.mesh.runtime.find_pod(f"deploy/{deployment}", namespace)
    assert found is not None, f"{namespace}/{deployment}"
    return found


def gateway(mesh: LocalMeshThread) -> str:
    """The ingress gateway's HTTP server, ``<pod ip>:8080``: the runtime does not publish
    gateway pods as endpoints of their Service, so in-mesh clients call the pod itself."""
    return f"{pod(mesh, 'istio-system', 'istio-ingressgateway').ip}:8080"


class Policies:
    """Policies a test applies; :meth:`clear` deletes them and waits for the open mesh."""

    def __init__(self, mesh: LocalMeshThread) -> None:
        self.mesh = mesh
        self.applied: list[str] = []

    def apply(self, text: str) -> None:
        self.applied.append(text)
        outcomes = self.mesh.apply(text)
        assert outcomes, text

    def clear(self) -> None:
        for text in reversed(self.applied):
            self.mesh.delete(text)
        self.applied.clear()
        plain = pod(self.mesh, "plain", "client")
        everything = [Request("web.authz/"), Request(f"{gateway(self.mesh)}/")]
        expect(lambda: statuses(plain, *everything), [200, 200])


def expect(get: Callable[[], T], expected: T, timeout: float = 30.0) -> None:
    """Poll ``get()`` until it returns ``expected`` (configuration reaches Envoy
    asynchronously); on timeout the last value is compared, so the failure shows it."""
    deadline = time.monotonic() + timeout
    found = get()
    while found != expected and time.monotonic() < deadline:
        time.sleep(0.3)
        found = get()
    assert found == expected
