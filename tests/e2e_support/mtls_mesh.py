"""Helpers of the mutual TLS end-to-end tests on the local mesh: an echo app (HTTP answering
with the ``x-forwarded-client-cert`` it got, TCP answering ``tcp-ok``), a TLS server app,
manifests of a namespace with a server and a client, and calls, logs and Envoy stats of pods."""

from __future__ import annotations

import json
from urllib.parse import quote

from e2e_support.localmesh import LocalMeshThread
from sailmesh.runtime.local import RunningPod
from sailmesh.runtime.proxy import admin_request

#: HTTP on 8080 and 9090 answering with the XFCC header it got (``-`` without one); TCP on 5001
#: answering ``tcp-ok`` to the client's first bytes (client first, as the TLS inspector needs).
ECHO = """
import http.server, socketserver, threading
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (self.headers.get('x-forwarded-client-cert') or '-').encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
class T(socketserver.BaseRequestHandler):
    def handle(self):
        if self.request.recv(64):
            self.request.sendall(b'tcp-ok')
socketserver.ThreadingTCPServer.allow_reuse_address = True
threading.Thread(target=socketserver.ThreadingTCPServer(('0.0.0.0', 5001), T).serve_forever).start()
for port in (8080, 9090):
    server = http.server.ThreadingHTTPServer(('0.0.0.0', port), H)
    threading.Thread(target=server.serve_forever).start()
"""

#: HTTPS on argv[1] with certificate argv[2] and key argv[3]; with argv[4] (a CA file) a client
#: certificate signed by it is required. Answers ``tls-ok <client certificate CN or ->``.
TLS_SERVER = """
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        cert = self.connection.getpeercert() or {}
        subject = dict(x[0] for x in cert.get('subject', ()))
        body = ('tls-ok ' + subject.get('commonName', '-')).encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
if len(sys.argv) > 4:
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(sys.argv[4])
server = http.server.ThreadingHTTPServer(('0.0.0.0', int(sys.argv[1])), H)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""

#: Access log format of the tests' meshes: the request path, the peer's SPIFFE id and TLS
#: version (``-`` on plaintext), the filter chain that served it (``_mtls`` terminates mutual
#: TLS) and the response code.
LOG_FORMAT = (
    "path=%REQ(:PATH)% peer=%DOWNSTREAM_PEER_URI_SAN% tls=%DOWNSTREAM_TLS_VERSION% "
    "chain=%FILTER_CHAIN_NAME% code=%RESPONSE_CODE%"
)


def mesh_config(extra: str = "") -> str:
    return f"""
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {{name: mesh, namespace: istio-system}}
spec:
  meshConfig:
    accessLogFormat: "{LOG_FORMAT}"
{extra}"""


def namespace(name: str, injection: str) -> str:
    """Namespace ``name`` with a server ``srv`` (Service ports 80 -> 8080, 90 -> 9090 HTTP and
    5000 -> 5001 TCP; service account ``srv``) and a client ``cli`` (service account ``cli``)."""
    echo = json.dumps(["python3", "-c", ECHO])
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {name}, labels: {{istio-injection: {injection}}}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: srv, namespace: {name}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: cli, namespace: {name}}}
---
apiVersion: v1
kind: Service
metadata: {{name: srv, namespace: {name}}}
spec:
  selector: {{app: srv}}
  ports:
  - {{name: http, port: 80, targetPort: 8080}}
  - {{name: http-alt, port: 90, targetPort: 9090}}
  - {{name: tcp, port: 5000, targetPort: 5001}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: srv, namespace: {name}}}
spec:
  selector: {{matchLabels: {{app: srv}}}}
  template:
    metadata: {{labels: {{app: srv}}}}
    spec:
      serviceAccountName: srv
      containers:
      - name: srv
        command: {echo}
        ports: [{{containerPort: 8080}}, {{containerPort: 9090}}, {{containerPort: 5001}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: cli, namespace: {name}}}
spec:
  selector: {{matchLabels: {{app: cli}}}}
  template:
    metadata: {{labels: {{app: cli}}}}
    spec:
      serviceAccountName: cli
      containers: [{{name: cli, command: [sleep, "3600"]}}]
"""


def identity(namespace_: str, account: str) -> str:
    return f"spiffe://cluster.local/ns/{namespace_}/sa/{account}"


def pod_of(mesh: LocalMeshThread, namespace_: str, deployment: str) -> RunningPod:
    assert mesh.mesh.runtime is not None
    found = [
        p
        for p in mesh.mesh.runtime.pods.values()
        if p.plan.namespace == namespace_ and p.plan.owner == f"Deployment/{deployment}"
    ]
    assert found, f"no pod of {namespace_}/{deployment}"
    return found[0]


def synced(mesh: LocalMeshThread) -> None:
    """Wait until every proxy acknowledged the current configuration."""
    assert mesh.mesh.cp is not None
    assert mesh.call(mesh.mesh.cp.wait_synced(timeout=15), timeout=20)


class SyncedMesh:
    """A running mesh whose ``apply``/``delete`` return once every proxy acknowledged the
    change (the e2e worlds of the mTLS, origination and mesh-config modules build on it)."""

    def __init__(self, mesh: LocalMeshThread) -> None:
        self.mesh = mesh

    def apply(self, text: str) -> None:
        self.mesh.apply(text)
        synced(self.mesh)

    def delete(self, text: str) -> None:
        self.mesh.delete(text)
        synced(self.mesh)


def call(client: RunningPod, url: str, resolve: str | None = None) -> tuple[int, str]:
    """``GET url`` from inside the client's pod: (status, body), (0, error) without a response.
    ``resolve``: the address to connect to instead of the URL's host (Host stays)."""
    code = (
        "import json, sys, urllib.request, urllib.error\n"
        "url, host, address = sys.argv[1], sys.argv[2], sys.argv[3]\n"
        "name = host.split(':')[0]\n"
        "request = urllib.request.Request(url.replace(name, address, 1) if address else url)\n"
        "request.add_header('Host', host)\n"
        "try:\n"
        "    r = urllib.request.urlopen(request, timeout=5)\n"
        "    print(json.dumps([r.status, r.read().decode()]))\n"
        "except urllib.error.HTTPError as exc:\n"
        "    print(json.dumps([exc.code, exc.read().decode()]))\n"
        "except Exception as exc:\n"
        "    print(json.dumps([0, type(exc).__name__ + ' ' + str(exc)]))\n"
    )
    host = url.split("/")[2]
    argv = ["python3", "-c", code, url, host, resolve or ""]
    result = client.sandbox.run(argv, env={"PATH": "/usr/bin:/bin"})
    status, body = json.loads(result.stdout or json.dumps([0, result.stderr]))
    return int(status), str(body)


def tcp(client: RunningPod, host: str, port: int) -> str:
    """What a TCP connection from ``client`` to host:port answers ("" on none). The client
    speaks first with more than a TLS record header's worth of bytes: the server sidecar's TLS
    inspector holds a connection until it can tell TLS from plaintext (a 4-byte first write was
    held, measured; Istio's sidecars behave the same)."""
    code = (
        "import socket, sys\n"
        "try:\n"
        "    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)\n"
        "    s.sendall(b'hello, server'); print(s.recv(64).decode())\n"
        "except OSError:\n"
        "    pass\n"
    )
    argv = ["python3", "-c", code, host, str(port)]
    return client.sandbox.run(argv, env={"PATH": "/usr/bin:/bin"}).stdout.strip()


def log_line(pod: RunningPod, path: str) -> str | None:
    """The line of the pod's sidecar access log for the request to ``path``: each record on a
    line of its own (the mesh's format has no trailing newline; like Istio, sailmesh adds it)."""
    text = pod.supervisor.log_path("istio-proxy").read_text(errors="replace")
    return next((line for line in text.splitlines() if line.startswith(f"path={path} ")), None)


def stats(pod: RunningPod, pattern: str) -> dict[str, int]:
    """The pod's Envoy counters and gauges matching the regex ``pattern``."""
    path = f"/stats?format=json&filter={quote(pattern)}"
    status, body = admin_request(pod.sandbox.netns_file, path)
    assert status == 200, body
    return {s["name"]: int(s.get("value", 0)) for s in json.loads(body).get("stats", [])}
