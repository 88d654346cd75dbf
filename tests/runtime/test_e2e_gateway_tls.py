"""The mesh edge on the local mesh (netns mode), with real Envoy gateways and real certificates.

Istio's secure-ingress task through the ingress gateway's 127.0.0.1 forwarder with
``curl --resolve`` (SIMPLE with a credentialName Secret made by ``sailctl create secret``, then
MUTUAL with a client certificate, then the Secret rotated under bounded load with no failed
request and no dropped connection), ``httpsRedirect`` (301), TLS PASSTHROUGH to an HTTPS server
in the mesh, a TCP server routed to a TCP echo, and Istio's egress-gateway task under
REGISTRY_ONLY: an external host (a pod in a namespace without injection, no Service) is
unreachable directly and reachable through ``istio-egressgateway``.

One mesh for the module: namespace ``mesh`` (sidecars: ``srv`` HTTP echo on 80 and TCP on 5000,
``secure`` an HTTPS server, ``cli`` a client), namespace ``plain`` (no sidecars: ``ext``, the
external server), the ingress and egress gateways.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import CliRunner
from runtime_e2e import ROOT, assert_nothing_left, skip_unless_netns

from e2e_support.localmesh import LocalMeshThread
from e2e_support.mtls_mesh import (
    ECHO,
    TLS_SERVER,
    call,
    log_line,
    mesh_config,
    namespace,
    pod_of,
    synced,
)
from e2e_support.pki import Pki, write_pki
from sailmesh.cli.main import cli

T = TypeVar("T")

pytestmark = pytest.mark.e2e

skip_unless_netns()

HOST = "httpbin.example.com"
SECURE = "secure.example.com"
EXT_VIP = "240.0.0.20"
INGRESS_ID = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"


def _workloads(pki: Pki) -> str:
    tls_server = json.dumps(
        ["python3", "-c", TLS_SERVER, "8443", str(pki.secure_cert), str(pki.secure_key)]
    )
    echo = json.dumps(["python3", "-c", ECHO])
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: secure, namespace: mesh}}
spec:
  selector: {{app: secure}}
  ports: [{{name: tls, port: 8443, targetPort: 8443}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: secure, namespace: mesh}}
spec:
  selector: {{matchLabels: {{app: secure}}}}
  template:
    metadata: {{labels: {{app: secure}}}}
    spec:
      containers: [{{name: secure, command: {tls_server}, ports: [{{containerPort: 8443}}]}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: ext, namespace: plain}}
spec:
  selector: {{matchLabels: {{app: ext}}}}
  template:
    metadata: {{labels: {{app: ext}}}}
    spec:
      containers: [{{name: ext, command: {echo}, ports: [{{containerPort: 8080}}]}}]
"""


def _gateway(mode: str) -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: edge, namespace: istio-system}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
  - port: {{number: 80, name: http, protocol: HTTP}}
    hosts: [{HOST}]
    tls: {{httpsRedirect: true}}
  - port: {{number: 443, name: https, protocol: HTTPS}}
    hosts: [{HOST}]
    tls: {{mode: {mode}, credentialName: httpbin-credential}}
  - port: {{number: 9443, name: tls-passthrough, protocol: TLS}}
    hosts: [{SECURE}]
    tls: {{mode: PASSTHROUGH}}
  - port: {{number: 31400, name: tcp, protocol: TCP}}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: edge, namespace: mesh}}
spec:
  hosts: [{HOST}]
  gateways: [istio-system/edge]
  http: [{{route: [{{destination: {{host: srv.mesh.svc.cluster.local, port: {{number: 80}}}}}}]}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: secure, namespace: mesh}}
spec:
  hosts: [{SECURE}]
  gateways: [istio-system/edge]
  tls:
  - match: [{{port: 9443, sniHosts: [{SECURE}]}}]
    route: [{{destination: {{host: secure.mesh.svc.cluster.local, port: {{number: 8443}}}}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: tcp-echo, namespace: mesh}}
spec:
  hosts: ["*"]
  gateways: [istio-system/edge]
  tcp: [{{match: [{{port: 31400}}], route: [{{destination: {{host: srv.mesh.svc.cluster.local, port: {{number: 5000}}}}}}]}}]
"""


def until(fn: Callable[[], T], ok: Callable[[T], bool], timeout: float = 20.0) -> T:
    """``fn()`` once ``ok`` holds for it (its last value after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        found = fn()
        if ok(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@dataclass
class Edge:
    mesh: LocalMeshThread
    pki: Pki
    work: Path
    notes: dict[str, str] = field(default_factory=dict)

    def secret(self, *args: str) -> None:
        """``sailctl create secret ...`` (dry run) applied to the mesh."""
        result = CliRunner().invoke(
            cli, ["create", "secret", *args, "-n", "istio-system", "--dry-run"]
        )
        assert result.exit_code == 0, result.output
        self.mesh.apply(result.output)
        synced(self.mesh)

    def curl(
        self, port: int, *extra: str, host: str = HOST, scheme: str = "https"
    ) -> tuple[int, str]:
        local = self.mesh.gateway_port(port)
        argv = [
            "curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "5",
            "--resolve", f"{host}:{local}:127.0.0.1", "--cacert", str(self.pki.ca),
            *extra, f"{scheme}://{host}:{local}/",
        ]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        body, _, code = done.stdout.rpartition("\n")
        return int(code or 0), body + done.stderr


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    home = tmp_path_factory.mktemp("sailmesh-home")
    manifests = home / "manifests"
    manifests.mkdir()
    (manifests / "mesh.yaml").write_text(namespace("mesh", "enabled"))
    (manifests / "plain.yaml").write_text(namespace("plain", "disabled"))
    registry_only = "    outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n"
    (manifests / "config.yaml").write_text(mesh_config().rstrip("\n") + "\n" + registry_only)
    ingress = ROOT / "samples" / "bookinfo" / "platform" / "istio-ingressgateway.yaml"
    egress = ROOT / "samples" / "egress" / "istio-egressgateway.yaml"
    m = LocalMeshThread(home)
    run_id = m.mesh.names.run_id
    try:
        m.start([str(manifests), str(ingress), str(egress)])
        pki = write_pki(m.mesh.names.workdir / "pki", HOST, secure=SECURE)
        m.apply(_workloads(pki))
        edge = Edge(m, pki, home)
        edge.secret(
            "tls",
            "httpbin-credential",
            "--cert",
            str(pki.server_cert),
            "--key",
            str(pki.server_key),
        )
        m.apply(_gateway("SIMPLE"))
        synced(m)
        yield edge
    finally:
        m.close()
        assert_nothing_left(run_id)


def test_simple_tls_with_a_credential_name(edge: Edge) -> None:
    code, body = until(lambda: edge.curl(443), lambda r: r[0] == 200, timeout=20)
    # the echo answers with the XFCC it got: the gateway's own mTLS identity towards srv
    assert code == 200 and f"URI={INGRESS_ID}" in body, body
    # the gateway presents the Secret's certificate (curl verified it against the test CA)
    code, body = edge.curl(443, "-v")
    assert "subject: CN=httpbin.example.com" in body


def test_https_redirect_answers_301(edge: Edge) -> None:
    local = edge.mesh.gateway_port(80)
    conn = http.client.HTTPConnection("127.0.0.1", local, timeout=5)
    conn.request("GET", "/status", headers={"Host": HOST})
    response = conn.getresponse()
    conn.close()
    assert response.status == 301
    assert response.getheader("location") == f"https://{HOST}/status"


def test_mutual_tls_needs_a_client_certificate(edge: Edge) -> None:
    pki = edge.pki
    edge.secret(
        "generic", "httpbin-credential",
        f"--from-file=tls.crt={pki.server_cert}", f"--from-file=tls.key={pki.server_key}",
        f"--from-file=ca.crt={pki.ca}",
    )  # fmt: skip
    edge.mesh.apply(_gateway("MUTUAL"))
    synced(edge.mesh)
    refused = until(lambda: edge.curl(443), lambda r: r[0] != 200, timeout=20)
    assert refused[0] == 0  # the handshake fails without a client certificate
    client = ("--cert", str(pki.client_cert), "--key", str(pki.client_key))
    code, body = edge.curl(443, *client)
    assert code == 200 and f"URI={INGRESS_ID}" in body, body
    edge.mesh.apply(_gateway("SIMPLE"))
    synced(edge.mesh)


def test_secret_rotation_under_load_fails_no_request(edge: Edge) -> None:
    """A new certificate (same CA, new key) is served without a restart: a kept-alive
    connection and fresh connections see no failure; fresh handshakes get the new one."""
    until(lambda: edge.curl(443), lambda r: r[0] == 200, timeout=20)
    local = edge.mesh.gateway_port(443)
    context = ssl.create_default_context(cafile=str(edge.pki.ca))
    serials: list[int] = []
    failures: list[str] = []
    done = threading.Event()

    def served_serial() -> int:
        raw = socket.create_connection(("127.0.0.1", local), timeout=5)
        with context.wrap_socket(raw, server_hostname=HOST) as tls:
            der = tls.getpeercert(binary_form=True)
        from cryptography import x509

        return x509.load_der_x509_certificate(der or b"").serial_number

    def kept_alive() -> None:
        # one connection for the whole run, its TLS (SNI httpbin.example.com) set up by hand
        conn = http.client.HTTPConnection(HOST, local, timeout=5)
        conn.sock = context.wrap_socket(
            socket.create_connection(("127.0.0.1", local), timeout=5), server_hostname=HOST
        )
        count = 0
        while not done.is_set() and count < 400:
            try:
                conn.request("GET", "/", headers={"Host": HOST})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(f"kept-alive: {response.status}")
            except OSError as exc:
                failures.append(f"kept-alive: {exc!r}")
                return
            count += 1
            time.sleep(0.01)
        conn.close()

    before = served_serial()
    worker = threading.Thread(target=kept_alive)
    worker.start()
    rotated = write_pki(edge.work / "rotated", HOST, ca_from=edge.pki)
    edge.secret(
        "tls",
        "httpbin-credential",
        "--cert",
        str(rotated.server_cert),
        "--key",
        str(rotated.server_key),
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # fresh connections during and after the rotation
        try:
            serials.append(served_serial())
        except OSError as exc:
            failures.append(f"fresh: {exc!r}")
        if serials and serials[-1] != before:
            break
    for _ in range(20):
        serials.append(served_serial())
    done.set()
    worker.join(timeout=10)
    assert failures == []
    assert serials[-1] != before and set(serials[-20:]) == {serials[-1]}


def test_passthrough_reaches_the_https_server_in_the_mesh(edge: Edge) -> None:
    code, body = until(lambda: edge.curl(9443, host=SECURE), lambda r: r[0] == 200, timeout=20)
    assert (code, body) == (200, "tls-ok -")  # the mesh's server terminated the client's TLS


def test_tcp_server_routes_to_the_echo(edge: Edge) -> None:
    local = edge.mesh.gateway_port(31400)

    def echo() -> str:
        try:
            with socket.create_connection(("127.0.0.1", local), timeout=5) as conn:
                conn.sendall(b"hello, server")
                return conn.recv(64).decode()
        except OSError as exc:
            return repr(exc)

    assert until(echo, lambda r: r == "tcp-ok", timeout=20) == "tcp-ok"


EGRESS = f"""
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: ext, namespace: mesh}}
spec:
  hosts: [ext.test]
  addresses: [{EXT_VIP}]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{{number: 80, name: http, protocol: HTTP, targetPort: 8080}}]
  endpoints: [{{address: EXT_IP}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: egress, namespace: mesh}}
spec:
  selector: {{istio: egressgateway}}
  servers: [{{port: {{number: 80, name: http, protocol: HTTP}}, hosts: [ext.test]}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: ext-through-egress, namespace: mesh}}
spec:
  hosts: [ext.test]
  gateways: [egress, mesh]
  http:
  - match: [{{gateways: [mesh], port: 80}}]
    route: [{{destination: {{host: istio-egressgateway.istio-system.svc.cluster.local, port: {{number: 80}}}}}}]
  - match: [{{gateways: [egress], port: 80}}]
    route: [{{destination: {{host: ext.test, port: {{number: 80}}}}}}]
"""


def test_egress_gateway_under_registry_only(edge: Edge) -> None:
    client = pod_of(edge.mesh, "mesh", "cli")
    ext = pod_of(edge.mesh, "plain", "ext")
    direct = f"http://{ext.ip}:8080/direct"
    assert call(client, direct)[0] != 200  # REGISTRY_ONLY: an unknown host is a black hole
    edge.mesh.apply(EGRESS.replace("EXT_IP", ext.ip))
    synced(edge.mesh)
    found = until(
        lambda: call(client, "http://ext.test/through-egress", EXT_VIP),
        lambda r: r[0] == 200,
        timeout=20,
    )
    assert found == (200, "-")
    egress = pod_of(edge.mesh, "istio-system", "istio-egressgateway")
    line = log_line(egress, "/through-egress")
    assert line is not None and "code=200" in line  # the egress gateway carried it
    assert call(client, direct)[0] != 200  # still no way around the gateway
