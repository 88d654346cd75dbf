"""Workload identity in the local mesh, end to end (netns mode, real Envoys, real certificates).

Every sidecar and gateway pod gets a node agent before its Envoy: the Envoy holds ``default``
(the SPIFFE id of its pod's namespace and service account) and ``ROOTCA``, as its config dump
and ``sailctl proxy-config secret`` show; a pod without a sidecar gets no agent and no tlsMode
label. A short ``SECRET_TTL`` renews on its own; ``sailctl ca rotate-root`` trusts both roots
during the overlap and then only the new one; a process of another uid or network namespace is
refused by a pod's SDS socket; the CA's key files are 0600 in a 0700 directory and no key shows
in sailctl's output or the logs; a restarted mesh reuses the persisted root; a pod's agent
outlives a restart of its Envoy.

One mesh per module, started twice on the same home: first with one pod (to record the root
its Envoy trusted), then with every manifest (the mesh the tests share).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from runtime_e2e import sailctl, skip_unless_netns

from e2e_support.identity import leaf, pod_of, probe, rows, uri_sans
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.registry.model import TLS_MODE_ISTIO, TLS_MODE_LABEL

pytestmark = pytest.mark.e2e

skip_unless_netns()

TTL = 6.0

MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: mesh, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: fast, namespace: mesh}
---
apiVersion: v1
kind: Service
metadata: {name: fast, namespace: mesh}
spec:
  selector: {app: fast}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: fast, namespace: mesh}
spec:
  selector: {matchLabels: {app: fast}}
  template:
    metadata: {labels: {app: fast}}
    spec:
      serviceAccountName: fast
      containers:
      - name: fast
        command: [python3, -m, http.server, "8080"]
        ports: [{containerPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: mesh}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata:
      labels: {app: client}
      annotations:
        proxy.istio.io/config: '{proxyMetadata: {SECRET_TTL: 6s}}'
    spec:
      containers: [{name: client, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy, labels: {istio-injection: disabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain, namespace: legacy}
spec:
  selector: {matchLabels: {app: plain}}
  template:
    metadata: {labels: {app: plain}}
    spec:
      containers: [{name: plain, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ingress, namespace: istio-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingress, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  template:
    metadata:
      annotations: {inject.istio.io/templates: gateway}
      labels: {istio: ingressgateway, sidecar.istio.io/inject: "true"}
    spec:
      serviceAccountName: ingress
      containers: [{name: istio-proxy, image: auto, ports: [{containerPort: 8080}]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: fast, namespace: mesh}
spec:
  hosts: ["*"]
  gateways: [istio-system/ingress]
  http: [{route: [{destination: {host: fast.mesh.svc.cluster.local, port: {number: 80}}}]}]
"""

#: The first run: one sidecar pod, to see which root its Envoy trusted.
FIRST_RUN = MANIFESTS.split("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: legacy")[0]


class LogRecords(logging.Handler):
    """Every record the mesh logs (sailmesh's loggers, down to DEBUG), formatted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class Mesh:
    thread: LocalMeshThread
    home: Path
    logs: LogRecords
    #: Serial of the root the first run's Envoy trusted, then the second run's (at its start).
    first_run_root: str
    second_run_root: str
    #: ``$SAILMESH_HOME/ca`` after the first run, then at the second run's start.
    first_run_ca_files: dict[str, bytes]
    second_run_ca_files: dict[str, bytes]


def _start(home: Path, text: str) -> LocalMeshThread:
    manifests = home / "manifests"
    manifests.mkdir(exist_ok=True)
    (manifests / "mesh.yaml").write_text(text)
    mesh = LocalMeshThread(home)
    try:
        mesh.start([str(manifests)])
    except BaseException:
        mesh.close()
        raise
    return mesh


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    home = tmp_path_factory.mktemp("sailmesh-home")
    logs = LogRecords()
    logger = logging.getLogger("sailmesh")
    level = logger.level
    logger.addHandler(logs)
    logger.setLevel(logging.DEBUG)
    try:
        first = _start(home, FIRST_RUN)
        try:
            (root,) = rows(first, "mesh", "client", "ROOTCA")
        finally:
            first.close()
        files = _ca_files(home)
        second = _start(home, MANIFESTS)
        try:
            (again,) = rows(second, "mesh", "client", "ROOTCA")
            yield Mesh(second, home, logs, root[4], again[4], files, _ca_files(home))
        finally:
            second.close()
    finally:
        logger.removeHandler(logs)
        logger.setLevel(level)


def _ca_files(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (home / "ca").iterdir()}


PODS = [
    ("mesh", "fast", "spiffe://cluster.local/ns/mesh/sa/fast"),
    ("mesh", "client", "spiffe://cluster.local/ns/mesh/sa/default"),
    ("istio-system", "ingress", "spiffe://cluster.local/ns/istio-system/sa/ingress"),
]


@pytest.mark.parametrize(("namespace", "deployment", "spiffe"), PODS)
def test_every_sidecar_and_gateway_holds_its_identity(
    mesh: Mesh, namespace: str, deployment: str, spiffe: str
) -> None:
    (default,) = rows(mesh.thread, namespace, deployment, "default")
    (rootca,) = rows(mesh.thread, namespace, deployment, "ROOTCA")
    assert default[1:4] == ("Cert Chain", "ACTIVE", "true")
    assert rootca[1:4] == ("CA", "ACTIVE", "true")
    assert uri_sans(leaf(mesh.thread, namespace, deployment)) == [spiffe]
    shown = sailctl(mesh.home, "proxy-config", "secret", f"deploy/{deployment}", "-n", namespace)
    lines = shown.splitlines()
    assert lines[0].split() == [
        *("RESOURCE", "NAME", "TYPE", "STATUS", "VALID", "CERT", "SERIAL", "NUMBER"),
        *("NOT", "AFTER", "NOT", "BEFORE"),
    ]
    assert any(line.split()[:4] == ["default", "Cert", "Chain", "ACTIVE"] for line in lines)
    assert any(line.split()[:3] == ["ROOTCA", "CA", "ACTIVE"] for line in lines)


def test_proxy_status_shows_each_agents_sds_state(mesh: Mesh) -> None:
    def sds_column() -> dict[str, str]:
        lines = sailctl(mesh.home, "proxy-status").splitlines()
        assert lines[0].split()[-3:] == ["SDS", "XDS", "VERSION"]
        return {line.split()[0]: line.split()[-3] for line in lines[1:]}

    wait_for(lambda: set(sds_column().values()) == {"SYNCED"}, 10, "SDS SYNCED everywhere")
    assert len(sds_column()) == len(PODS)  # the sidecars and the gateway, nobody else


def test_sidecar_pods_are_published_with_istios_tls_mode_and_the_others_not(
    mesh: Mesh,
) -> None:
    assert mesh.thread.mesh.cp is not None
    view = mesh.thread.mesh.cp.registry.view()
    published = {(w.namespace, w.name): w for w in view.workloads}
    fast = published[("mesh", pod_of(mesh.thread, "mesh", "fast").plan.name)]
    assert fast.labels.get(TLS_MODE_LABEL) == TLS_MODE_ISTIO
    plain = published[("legacy", pod_of(mesh.thread, "legacy", "plain").plan.name)]
    assert TLS_MODE_LABEL not in plain.labels
    gateway = pod_of(mesh.thread, "istio-system", "ingress")
    # a gateway is an endpoint of its Service (as in Kubernetes) but not labelled for auto
    # mTLS (Istio's gateway template does not set the label)
    assert TLS_MODE_LABEL not in published[("istio-system", gateway.plan.name)].labels


def test_a_pod_without_a_sidecar_has_no_agent(mesh: Mesh) -> None:
    pod = pod_of(mesh.thread, "legacy", "plain")
    identities = mesh.thread.mesh.host.identities
    assert identities is not None
    assert pod.sds_socket is None and identities.agent(pod.plan.key) is None
    assert not (pod.sandbox.workdir / "sds").exists()
    with_sidecar = pod_of(mesh.thread, "mesh", "fast")
    assert identities.agent(with_sidecar.plan.key) is not None


def test_the_gateway_routes_to_the_meshed_service(mesh: Mesh) -> None:
    import urllib.request

    port = mesh.thread.gateway_port(8080)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
        assert answer.status == 200


def test_a_short_ttl_renews_on_its_own(mesh: Mesh) -> None:
    first = leaf(mesh.thread, "mesh", "client")
    lifetime = (first.not_valid_after_utc - first.not_valid_before_utc).total_seconds()
    assert lifetime == pytest.approx(TTL + TTL / 10, abs=1)  # SECRET_TTL, plus its backdate
    wait_for(
        lambda: leaf(mesh.thread, "mesh", "client").serial_number != first.serial_number,
        TTL,
        "a renewed certificate in the client's Envoy",
    )
    fast = leaf(mesh.thread, "mesh", "fast")  # the default TTL: 24 h
    assert (fast.not_valid_after_utc - fast.not_valid_before_utc).total_seconds() > 23 * 3600


def test_only_the_pods_own_envoy_may_use_its_sds_socket(mesh: Mesh) -> None:
    client = pod_of(mesh.thread, "mesh", "client")
    other = pod_of(mesh.thread, "mesh", "fast")
    socket_path = client.sds_socket
    assert socket_path is not None
    identities = mesh.thread.mesh.host.identities
    assert identities is not None
    agent = identities.agent(client.plan.key)
    assert agent is not None
    refused = agent.refused

    # The pod's Envoy's uid in the pod's namespace: admitted (the gRPC server answers).
    assert probe(client, socket_path, as_proxy=True).startswith("ANSWERED")
    # Another pod's Envoy (uid 1337 too, another network namespace): refused unread.
    assert probe(other, socket_path, as_proxy=True).startswith("CLOSED")
    assert agent.refused == refused + 1
    # The pod's own app (uid nobody): cannot even connect (socket and directory modes).
    assert probe(client, socket_path, as_proxy=False).startswith("CONNECT-REFUSED")
    # Root on the host, outside the pod: the file modes do not stop it, the peer check does.
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(3)
        sock.connect(str(socket_path))
        try:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            assert sock.recv(4096) == b""
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed unread
    assert agent.refused == refused + 2
    assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o660
    assert stat.S_IMODE(os.stat(socket_path.parent).st_mode) == 0o750
    assert any("refused a connection" in line for line in mesh.logs.lines)


def test_the_agent_outlives_an_envoy_restart(mesh: Mesh) -> None:
    pod = pod_of(mesh.thread, "mesh", "fast")
    identities = mesh.thread.mesh.host.identities
    assert identities is not None
    agent = identities.agent(pod.plan.key)
    before = leaf(mesh.thread, "mesh", "fast").serial_number
    pid = pod.supervisor.status().container("istio-proxy").pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    def restarted() -> bool:
        proxy = pod.supervisor.status().container("istio-proxy")
        return proxy.ready and proxy.pid not in (None, pid)

    wait_for(restarted, 15, "the supervisor to restart Envoy")
    assert identities.agent(pod.plan.key) is agent  # the same agent, the same certificate
    assert leaf(mesh.thread, "mesh", "fast").serial_number == before
    assert [r[1:4] for r in rows(mesh.thread, "mesh", "fast", "default")] == [
        ("Cert Chain", "ACTIVE", "true")
    ]


def test_root_rotation_trusts_both_roots_during_the_overlap(mesh: Mesh) -> None:
    (old,) = rows(mesh.thread, "mesh", "fast", "ROOTCA")
    overlap = 4.0
    said = sailctl(mesh.home, "ca", "rotate-root", "--overlap", f"{overlap:g}s")
    assert "re-issued 3 workload certificates" in said, said
    for namespace, deployment, _ in PODS:
        roots = rows(mesh.thread, namespace, deployment, "ROOTCA")
        serials = {r[4] for r in roots}
        assert len(roots) == 2 and old[4] in serials, roots
        (new_serial,) = serials - {old[4]}
        issuer = leaf(mesh.thread, namespace, deployment).issuer
        assert issuer.rfc4514_string() != "CN=Root CA,O=cluster.local"  # the new root's
    status = json.loads(sailctl(mesh.home, "ca", "status", "-o", "json"))
    assert {r["serial"] for r in status["trustRoots"]} == {old[4], new_serial}
    assert status["signingChain"][0]["serial"] == new_serial
    persisted = x509.load_pem_x509_certificate((mesh.home / "ca" / "root-cert.pem").read_bytes())
    assert format(persisted.serial_number, "x") == new_serial
    wait_for(
        lambda: all(
            len(rows(mesh.thread, ns, deployment, "ROOTCA")) == 1 for ns, deployment, _ in PODS
        ),
        overlap + 5,
        "the old root dropped from every ROOTCA",
    )
    for namespace, deployment, _ in PODS:
        (root,) = rows(mesh.thread, namespace, deployment, "ROOTCA")
        assert root[4] == new_serial


def test_a_restarted_mesh_reuses_the_persisted_root(mesh: Mesh) -> None:
    """The fixture started the mesh twice on one home, reading the root each run's Envoy
    trusted and the CA files after each start."""
    assert set(mesh.first_run_ca_files) == {
        "ca-key.pem",
        "ca-cert.pem",
        "root-cert.pem",
        "cert-chain.pem",
    }
    assert mesh.second_run_ca_files == mesh.first_run_ca_files
    first_root = x509.load_pem_x509_certificate(mesh.first_run_ca_files["root-cert.pem"])
    assert format(first_root.serial_number, "x") == mesh.first_run_root == mesh.second_run_root


def test_ca_files_are_private_and_no_key_is_ever_shown(mesh: Mesh) -> None:
    ca_dir = mesh.home / "ca"
    assert stat.S_IMODE(ca_dir.stat().st_mode) == 0o700
    for path in ca_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    key_lines = [
        line
        for line in (ca_dir / "ca-key.pem").read_text().splitlines()
        + mesh.first_run_ca_files["ca-key.pem"].decode().splitlines()
        if line and not line.startswith("-----")
    ]
    shown = [
        sailctl(mesh.home, "status"),
        sailctl(mesh.home, "ca", "status"),
        sailctl(mesh.home, "ca", "status", "-o", "json"),
        sailctl(mesh.home, "get", "deploy", "-o", "yaml"),
    ]
    for namespace, deployment, _ in PODS:
        for output in ("short", "json", "yaml"):
            shown.append(
                sailctl(
                    mesh.home,
                    "proxy-config",
                    "secret",
                    f"deploy/{deployment}",
                    "-n",
                    namespace,
                    "-o",
                    output,
                )
            )
    logs = [*mesh.logs.lines]
    for pod in mesh.thread.mesh.runtime.pods.values():  # type: ignore[union-attr]
        logs += [p.read_text(errors="replace") for p in (pod.sandbox.workdir / "logs").iterdir()]
    text = "\n".join(shown + logs)
    assert "PRIVATE KEY" not in text
    assert not [line for line in key_lines if line in text]
    redacted = base64.b64encode(b"[redacted]").decode()
    assert redacted in "\n".join(shown)  # Envoy's own word for the workload key


#: A steady bounded load from the client's app to ``fast`` through both sidecars (auto mTLS):
#: one request every 20 ms for ``seconds``; prints ``ok failed first-error``.
_LOAD = """
import sys, time, urllib.request
seconds = float(sys.argv[1])
ok = failed = 0
first = ""
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        with urllib.request.urlopen("http://fast.mesh/", timeout=5) as answer:
            answer.read()
            ok += answer.status == 200
            failed += answer.status != 200
    except Exception as exc:
        failed += 1
        first = first or repr(exc)
    time.sleep(0.02)
print(ok, failed, first or "-")
"""


def test_rotations_under_steady_load_fail_no_request(mesh: Mesh) -> None:
    """The client's 6 s certificate renews twice and the root rotates (with a 3 s overlap)
    while its app calls ``fast`` over mutual TLS without a pause: not one request fails."""
    import threading

    client = pod_of(mesh.thread, "mesh", "client")
    first_leaf = leaf(mesh.thread, "mesh", "client")
    (old_root,) = rows(mesh.thread, "mesh", "fast", "ROOTCA")
    seconds = 2.5 * TTL
    result: dict[str, str] = {}

    def load() -> None:
        done = client.sandbox.run(
            ["python3", "-c", _LOAD, f"{seconds:g}"],
            env={"PATH": "/usr/bin:/bin"},
            timeout=seconds + 20,
        )
        result["out"], result["err"] = done.stdout.strip(), done.stderr.strip()

    loader = threading.Thread(target=load)
    loader.start()
    try:
        wait_for(lambda: leaf(mesh.thread, "mesh", "client").serial_number
                 != first_leaf.serial_number, TTL + 2, "a renewal under load")  # fmt: skip
        said = sailctl(mesh.home, "ca", "rotate-root", "--overlap", "3s")
        assert "re-issued" in said, said
    finally:
        loader.join(seconds + 30)
    ok, failed, first_error = result["out"].split(" ", 2)
    assert int(failed) == 0, (result, first_error)
    assert int(ok) > 200, result  # the load really ran through the rotations
    (new_root,) = rows(mesh.thread, "mesh", "fast", "ROOTCA")  # the overlap has ended
    assert new_root[4] != old_root[4]
    assert leaf(mesh.thread, "mesh", "client").serial_number != first_leaf.serial_number
