"""The Sidecar resource on real traffic through real Envoy, one mesh for the module.

The ``hidden`` app (no Service) serves on ports no Service declares: 127.0.0.1:7171 (loopback only) and
0.0.0.0:7272. A Sidecar selecting it declares ingress listeners, and the client pod reaches
the app through the hidden pod's inbound capture (pod IP, port of the listener):

- 7070 -> ``defaultEndpoint: 127.0.0.1:7171``: unreachable before the Sidecar (nothing listens
  on the pod IP there), served after it (the issue's acceptance: an ingress listener serves an
  app on a port no Service declares); the Sidecar's ``inboundConnectionPool``
  (``http.idleTimeout: 1s``) closes the idle connection to the app (Envoy's
  ``upstream_cx_idle_timeout`` counter);
- 7080 -> ``defaultEndpoint: 0.0.0.0:7272`` (the pod IP) with a per-listener
  ``connectionPool`` (``maxRequestsPerConnection: 1``) overriding the Sidecar's: one upstream
  connection per request;
- 7090 ``captureMode: NONE``: a listener bound on the pod IP serves it;
- 7095 -> ``defaultEndpoint: unix://@sailmesh-app`` (an abstract Unix socket of the pod);
- 7443 with the listener's own TLS (``SIMPLE``, certificate files; PeerAuthentication DISABLE
  on that port, as Istio requires): the client verifies the certificate, the app gets HTTP.

The client's own Sidecar (``outboundTrafficPolicy: ALLOW_ANY`` with an ``egressProxy``, the
mesh service ``egress-proxy``) sends its calls to unknown destinations (the hidden pod's IP,
outside the registry) to the egress proxy instead of through ``PassthroughCluster``: both an
HTTP port its sidecar has a listener for (8080: the ``allow_any`` route) and one it does not
(7272: ``virtualOutbound``'s passthrough chain).

Per-port egress listeners (REGISTRY_ONLY, so that what a listener does not import fails): a
port listener on 8080 importing ``egress-proxy`` only (``third``, also on 8080, is refused
although the catch-all imports it: the port listener holds 8080), a ``captureMode: NONE``
listener bound on 127.0.0.1:7272 importing ``second`` (the app connects to it explicitly), and
the catch-all importing ``second`` and ``third`` (``second:7272`` by its VIP, captured), and
a listener bound on the abstract Unix socket ``@sailmesh-egress`` importing ``third``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from runtime_e2e import BOOKINFO, assert_nothing_left, skip_unless_netns

from e2e_support.echo import Answer, pod_call, pod_calls
from e2e_support.localmesh import LocalMeshThread
from e2e_support.pki import Pki, write_pki
from e2e_support.proxy import wait_for
from sailmesh.runtime import proxy as envoy_proxy
from sailmesh.runtime.local import RunningPod

pytestmark = pytest.mark.e2e

skip_unless_netns()

#: HTTP/1.1 (keep-alive) servers on 127.0.0.1:7171, 0.0.0.0:8080 and 7272 and the abstract
#: Unix socket ``@sailmesh-app`` (scoped to the pod's network namespace), answering with the
#: pod name and the port they serve on.
HIDDEN_APP = """
import http.server, json, os, socketserver, threading
class App(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        port = getattr(self.server, 'server_port', 'unix')
        body = json.dumps({'pod': os.environ['POD_NAME'], 'port': port, 'path': self.path}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
for server in (http.server.ThreadingHTTPServer(('127.0.0.1', 7171), App),
               http.server.ThreadingHTTPServer(('0.0.0.0', 8080), App),
               UnixServer('\\0sailmesh-app', App)):
    threading.Thread(target=server.serve_forever, daemon=True).start()
http.server.ThreadingHTTPServer(('0.0.0.0', 7272), App).serve_forever()
"""

WORKLOADS = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: hidden}}
spec:
  selector: {{matchLabels: {{app: hidden}}}}
  template:
    metadata: {{labels: {{app: hidden}}}}
    spec:
      containers:
      - name: app
        image: hidden
        command: ["python3", "-c", {json.dumps(HIDDEN_APP)}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: egress-proxy}}
spec:
  selector: {{matchLabels: {{app: egress-proxy}}}}
  template:
    metadata: {{labels: {{app: egress-proxy}}}}
    spec:
      containers:
      - name: app
        image: egress-proxy
        command: ["python3", "-c", {json.dumps(HIDDEN_APP)}]
---
apiVersion: v1
kind: Service
metadata: {{name: egress-proxy}}
spec:
  selector: {{app: egress-proxy}}
  ports: [{{name: http, port: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: second}}
spec:
  selector: {{app: egress-proxy}}
  ports: [{{name: http, port: 7272}}]
---
apiVersion: v1
kind: Service
metadata: {{name: third}}
spec:
  selector: {{app: egress-proxy}}
  ports: [{{name: http, port: 8080}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: client}}
spec:
  selector: {{matchLabels: {{app: client}}}}
  template:
    metadata: {{labels: {{app: client}}}}
    spec:
      containers: [{{name: client, image: client, command: ["sleep", "3600"]}}]
"""


def sidecar(pki: Pki) -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: hidden}}
spec:
  workloadSelector: {{labels: {{app: hidden}}}}
  inboundConnectionPool:
    http: {{idleTimeout: 1s}}
  ingress:
  - port: {{number: 7070, protocol: HTTP, name: http-loopback}}
    defaultEndpoint: 127.0.0.1:7171
  - port: {{number: 7080, protocol: HTTP, name: http-pod-ip}}
    defaultEndpoint: 0.0.0.0:7272
    connectionPool:
      http: {{maxRequestsPerConnection: 1}}
  - port: {{number: 7090, protocol: HTTP, name: http-bound}}
    captureMode: NONE
    defaultEndpoint: 127.0.0.1:7171
  - port: {{number: 7095, protocol: HTTP, name: http-unix}}
    defaultEndpoint: unix://@sailmesh-app
  - port: {{number: 7443, protocol: HTTPS, name: https}}
    defaultEndpoint: 127.0.0.1:7171
    tls: {{mode: SIMPLE, serverCertificate: {pki.server_cert}, privateKey: {pki.server_key}}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {{name: hidden-own-tls}}
spec:
  selector: {{matchLabels: {{app: hidden}}}}
  portLevelMtls:
    7443: {{mode: DISABLE}}
"""


TLS_NAME = "hidden.sidecar.test"


class Mesh:
    def __init__(self, mesh: LocalMeshThread, pki: Pki) -> None:
        self.mesh, self.pki = mesh, pki

    def pod(self, ref: str) -> RunningPod:
        assert self.mesh.mesh.runtime is not None
        found = self.mesh.mesh.runtime.find_pod(ref, "default")
        assert found is not None, ref
        return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    m = LocalMeshThread(tmp_path_factory.mktemp("sailmesh-home"))
    run_id = m.mesh.names.run_id
    try:
        m.start([str(BOOKINFO / "platform" / "namespace.yaml")])
        m.apply(WORKLOADS)
        yield Mesh(m, write_pki(m.mesh.names.workdir / "pki", TLS_NAME))
    finally:
        m.close()
        assert_nothing_left(run_id)


def cluster_stat(pod: RunningPod, cluster: str, stat: str) -> int:
    """A counter of ``cluster`` in ``pod``'s Envoy (0 when absent)."""
    status, body = envoy_proxy.admin_request(
        pod.netns_file, f"/stats?filter={re.escape(stat)}", pod.admin_port
    )
    assert status == 200, body[:200]
    found = re.search(re.escape(f"cluster.{cluster}.{stat}") + r": (\d+)", body)
    return int(found.group(1)) if found else 0


def served(answer: Answer, port: int | str) -> bool:
    return answer.status == 200 and answer.echo.get("port") == port


def test_ingress_listener_serves_an_app_on_a_port_no_service_declares(world: Mesh) -> None:
    client, hidden = world.pod("deploy/client"), world.pod("deploy/hidden")
    url = f"http://{hidden.ip}:7070/before"
    before = pod_call(client, url)
    assert before.status != 200, before  # the app listens on loopback only
    print(f"\nbefore the Sidecar: {before.status} {before.body[:80]}")
    world.mesh.apply(sidecar(world.pki))
    wait_for(lambda: served(pod_call(client, url), 7171), 30, "the ingress listener on 7070")
    answers = pod_calls(client, [(f"http://{hidden.ip}:7070/n{i}", {}) for i in range(20)])
    assert all(served(a, 7171) for a in answers), answers[:3]
    assert {a.echo["pod"] for a in answers} == {hidden.plan.name}
    assert cluster_stat(hidden, "inbound|7070||", "upstream_rq_total") >= 20
    opened = cluster_stat(hidden, "inbound|7070||", "upstream_cx_total")
    print(f"\n21 requests to 7070 used {opened} connection(s) to the app")
    assert opened < 20  # keep-alive to the app: the listener has no per-request limit
    # inboundConnectionPool http.idleTimeout: 1s closes the idle connection to the app
    wait_for(
        lambda: cluster_stat(hidden, "inbound|7070||", "upstream_cx_idle_timeout") >= 1,
        10,
        "the inbound idle timeout",
    )


def test_pod_ip_endpoint_and_per_listener_pool(world: Mesh) -> None:
    client, hidden = world.pod("deploy/client"), world.pod("deploy/hidden")
    world.mesh.apply(sidecar(world.pki))
    url = f"http://{hidden.ip}:7080/"
    wait_for(lambda: served(pod_call(client, url), 7272), 30, "the ingress listener on 7080")
    opened = cluster_stat(hidden, "inbound|7080||", "upstream_cx_total")
    answers = pod_calls(client, [(f"{url}n{i}", {}) for i in range(10)])
    assert all(served(a, 7272) for a in answers), answers[:3]
    # maxRequestsPerConnection: 1 (the listener's pool, not the Sidecar's): one each
    opened = cluster_stat(hidden, "inbound|7080||", "upstream_cx_total") - opened
    print(f"\n10 requests to 7080 opened {opened} connections to the app")
    assert opened >= 10


def test_capture_mode_none_listener_is_bound_on_the_pod_ip(world: Mesh) -> None:
    client, hidden = world.pod("deploy/client"), world.pod("deploy/hidden")
    world.mesh.apply(sidecar(world.pki))
    url = f"http://{hidden.ip}:7090/bound"
    wait_for(lambda: served(pod_call(client, url), 7171), 30, "the bound listener on 7090")
    status, body = envoy_proxy.admin_request(hidden.netns_file, "/listeners", hidden.admin_port)
    assert status == 200 and f"{hidden.ip}_7090::{hidden.ip}:7090" in body, body


#: Runs in the client pod: HTTPS GET to argv[1]:argv[2] verifying the server certificate for
#: argv[4] against the CA file argv[3]; prints the status line and the body.
TLS_CALL = """
import socket, ssl, sys
host, port, ca, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.create_default_context(cafile=ca)
with socket.create_connection((host, port), timeout=10) as raw:
    with context.wrap_socket(raw, server_hostname=name) as tls:
        tls.sendall(f'GET /tls HTTP/1.1\\r\\nHost: {name}\\r\\nConnection: close\\r\\n\\r\\n'.encode())
        data = b''
        while chunk := tls.recv(65536):
            data += chunk
print(data.decode(errors='replace'))
"""


def test_unix_socket_default_endpoint(world: Mesh) -> None:
    client, hidden = world.pod("deploy/client"), world.pod("deploy/hidden")
    world.mesh.apply(sidecar(world.pki))
    url = f"http://{hidden.ip}:7095/unix"
    wait_for(lambda: served(pod_call(client, url), "unix"), 30, "the ingress listener on 7095")
    assert pod_call(client, url).echo["pod"] == hidden.plan.name


def test_ingress_listener_terminates_its_own_tls(world: Mesh) -> None:
    client, hidden = world.pod("deploy/client"), world.pod("deploy/hidden")
    world.mesh.apply(sidecar(world.pki))
    argv = ["python3", "-c", TLS_CALL, hidden.ip, "7443", str(world.pki.ca), TLS_NAME]

    def call() -> str:
        done = client.sandbox.run(argv, env={"PATH": "/usr/bin:/bin"}, timeout=30)
        return done.stdout + done.stderr

    wait_for(lambda: call().startswith("HTTP/1.1 200"), 30, "TLS on the ingress listener")
    out = call()
    assert '"port": 7171' in out and '"path": "/tls"' in out, out


EGRESS_PROXY = """
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: client}
spec:
  workloadSelector: {labels: {app: client}}
  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy:
      host: egress-proxy.default.svc.cluster.local
      port: {number: 8080}
"""


def test_egress_proxy_takes_the_traffic_to_unknown_destinations(world: Mesh) -> None:
    client, hidden = world.pod("deploy/client"), world.pod("deploy/hidden")
    proxy = world.pod("deploy/egress-proxy")
    urls = [f"http://{hidden.ip}:8080/unknown", f"http://{hidden.ip}:7272/unknown"]
    before = pod_calls(client, [(url, {}) for url in urls])
    assert [a.echo["pod"] for a in before] == [hidden.plan.name] * 2, before  # passthrough
    world.mesh.apply(EGRESS_PROXY)
    try:

        def proxied() -> bool:
            return all(a.status == 200 and a.pod == proxy.plan.name for a in calls())

        def calls() -> list[Answer]:
            return pod_calls(client, [(url, {}) for url in urls])

        wait_for(proxied, 30, "unknown destinations to go to the egress proxy")
        answers = [a for _ in range(5) for a in calls()]
        assert {(a.pod, a.echo["port"]) for a in answers} == {(proxy.plan.name, 8080)}, answers
        # the proxy got the requests as the client sent them
        assert {a.echo["path"] for a in answers} == {"/unknown"}
    finally:
        world.mesh.delete(EGRESS_PROXY)

    def passthrough_again() -> bool:
        return all(a.status == 200 and a.pod == hidden.plan.name for a in calls())

    wait_for(passthrough_again, 30, "PassthroughCluster once the Sidecar is gone")


EGRESS_LISTENERS = """
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: client-egress}
spec:
  workloadSelector: {labels: {app: client}}
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
  egress:
  - port: {number: 7272, protocol: HTTP, name: http-local}
    bind: 127.0.0.1
    captureMode: NONE
    hosts: [./second.default.svc.cluster.local]
  - port: {number: 8080, protocol: HTTP, name: http}
    hosts: [./egress-proxy.default.svc.cluster.local]
  - port: {number: 8080, protocol: HTTP, name: http-unix}
    bind: unix://@sailmesh-egress
    captureMode: NONE
    hosts: [./third.default.svc.cluster.local]
  - hosts: [./second.default.svc.cluster.local, ./third.default.svc.cluster.local]
"""


def test_egress_listeners_per_port(world: Mesh) -> None:
    client, proxy = world.pod("deploy/client"), world.pod("deploy/egress-proxy")
    bound = ("http://127.0.0.1:7272/bound", {"Host": "second"})
    captured = [
        ("http://egress-proxy:8080/a", {}),
        ("http://third:8080/b", {}),
        ("http://second:7272/c", {}),
    ]
    before = pod_calls(client, [bound, *captured])
    assert before[0].status == 0, before[0]  # nothing listens on the client's 127.0.0.1:7272
    assert [a.status for a in before[1:]] == [200, 200, 200], before
    world.mesh.apply(EGRESS_LISTENERS)
    try:

        def applied() -> bool:
            return [a.status for a in pod_calls(client, [bound, *captured])] == [200, 200, 502, 200]

        wait_for(applied, 30, "the egress listeners")
        answers = pod_calls(client, [bound, *captured] * 3)
        over_unix = unix_call(client, "@sailmesh-egress", "third", "/unix")
        status, listeners = envoy_proxy.admin_request(
            client.netns_file, "/listeners", client.admin_port
        )
    finally:
        world.mesh.delete(EGRESS_LISTENERS)
    print(
        f"\negress listeners: {[a.status for a in answers[:4]]} (bound, 8080 own, 8080 not imported, catch-all)"
    )
    assert [a.status for a in answers] == [200, 200, 502, 200] * 3, answers
    served = [answers[i] for i in (0, 1, 3)]
    assert {(a.pod, a.echo["port"]) for a in served[:1]} == {(proxy.plan.name, 7272)}
    assert served[1].echo["port"] == 8080 and served[2].echo["port"] == 7272
    assert status == 200 and "127.0.0.1_7272::127.0.0.1:7272" in listeners, listeners
    # the bound Unix socket listener imports third (which the captured 8080 listener refuses)
    assert over_unix.startswith("HTTP/1.1 200") and '"port": 8080' in over_unix, over_unix


#: Runs in a pod: GET argv[3] with Host argv[2] over the abstract Unix socket argv[1] (``@x``).
UNIX_CALL = """
import socket, sys
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
    conn.settimeout(10)
    conn.connect('\\0' + sys.argv[1].lstrip('@'))
    conn.sendall(f'GET {sys.argv[3]} HTTP/1.1\\r\\nHost: {sys.argv[2]}\\r\\nConnection: close\\r\\n\\r\\n'.encode())
    data = b''
    while chunk := conn.recv(65536):
        data += chunk
print(data.decode(errors='replace'))
"""


def unix_call(pod: RunningPod, socket_name: str, host: str, path: str) -> str:
    argv = ["python3", "-c", UNIX_CALL, socket_name, host, path]
    done = pod.sandbox.run(argv, env={"PATH": "/usr/bin:/bin"}, timeout=30)
    return done.stdout + done.stderr
