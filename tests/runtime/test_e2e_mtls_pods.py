"""End to end: mutual TLS as translated by sailmesh, on real Envoy sidecars in pod namespaces
with capture, fed by a real control plane, with certificates from node agents over SDS.

One run is shared by the module: ``server`` (sidecar; HTTP on service port 80 -> 8080 echoing
``x-forwarded-client-cert``, TCP on 5000 -> 5001), ``client`` (sidecar), ``plain`` (no sidecar)
and ``legacy`` (no sidecar; plaintext HTTP, and TLS servers for origination from a
DestinationRule). Each test applies its policies and removes them.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import skip_unless_netns

from e2e_support.controlplane import ControlPlaneThread
from e2e_support.mtls_pods import ECHO_APP, TLS_APP, Pod, PodMesh
from e2e_support.pki import Pki, write_pki
from e2e_support.proxy import wait_for
from sailmesh.ca.authority import Authority, self_signed_root
from sailmesh.clock import SYSTEM_CLOCK
from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.hosts import ServiceName

pytestmark = pytest.mark.e2e

skip_unless_netns()

SERVICES = """
apiVersion: v1
kind: Service
metadata: {name: server, namespace: default}
spec:
  selector: {app: server}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: tcp, port: 5000, targetPort: 5001}]
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: default}
spec:
  selector: {app: legacy}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata: {name: mesh, namespace: istio-system}
spec:
  meshConfig:
    accessLogFormat: "peer=%DOWNSTREAM_PEER_URI_SAN% tls=%DOWNSTREAM_TLS_VERSION% sni=%REQUESTED_SERVER_NAME% code=%RESPONSE_CODE%"
"""
EXT_VIP = "240.0.0.10"
CURL = ["curl", "-sS", "-m", "5", "--noproxy", "*"]
STRICT_NS = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: STRICT}}
"""


class World:
    def __init__(self, mesh: PodMesh, pki: Pki) -> None:
        self.mesh, self.pki = mesh, pki
        self.server, self.client, self.plain, self.legacy = mesh.pods

    @property
    def cp(self) -> ControlPlaneThread:
        return self.mesh.cp

    def apply(self, text: str) -> None:
        self.cp.apply(text)
        self.synced()

    def delete(self, text: str) -> None:
        self.cp.delete(text)
        self.synced()

    def synced(self) -> None:
        assert self.cp.cp is not None
        assert self.cp.call(self.cp.cp.wait_synced(timeout=15), timeout=20)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    names = netns.RunNames(netns.new_run_id())
    workdir = Path(tempfile.mkdtemp(prefix="sm-mtls-"))
    names.workdir.mkdir(parents=True, exist_ok=True)
    names.workdir.chmod(0o755)
    xds = names.workdir / "xds.sock"
    cp = ControlPlaneThread(workdir / "state", ads_unix_path=xds)
    authority = Authority(self_signed_root("cluster.local", SYSTEM_CLOCK.wall()), SYSTEM_CLOCK)
    mesh = PodMesh(names, cp, authority)
    try:
        cp.start()
        xds.chmod(0o666)  # Envoy (uid 1337) connects; the run's work dir is this test's own
        cp.apply(SERVICES)
        assert cp.cp is not None
        vips = [
            ServiceName(n, "default", cp.cp.vips.allocate("default", n))
            for n in ("server", "legacy")
        ]
        pki = write_pki(names.workdir / "pki", "ext.test")
        echo = [ECHO_APP, "8080", "5001"]
        mesh.add("server", sidecar=True, services=vips, labels={"app": "server"}, app=echo)
        mesh.add("client", sidecar=True, services=vips, labels={"app": "client"})
        mesh.add("plain", sidecar=False, services=vips, labels={"app": "plain"})
        legacy = mesh.add(
            "legacy", sidecar=False, services=vips, labels={"app": "legacy"}, app=echo
        )
        cert = [str(pki.server_cert), str(pki.server_key)]
        legacy.sandbox.spawn([sys.executable, "-c", TLS_APP, "9443", *cert])
        legacy.sandbox.spawn([sys.executable, "-c", TLS_APP, "8443", *cert, str(pki.ca)])
        cp.apply(_external(legacy.ip))
        found = World(mesh, pki)
        found.synced()
        yield found
    finally:
        try:
            mesh.close()
            cp.stop()
            cp.close()
        finally:
            netns.cleanup(names.run_id)
            subprocess.run(["rm", "-rf", str(workdir)], check=False)


def _external(address: str) -> str:
    """``ext.test``: an external service whose TLS endpoints are the legacy pod's servers."""
    return f"""
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: ext, namespace: default}}
spec:
  hosts: [ext.test]
  addresses: [{EXT_VIP}]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports:
  - {{number: 80, name: http, protocol: HTTP, targetPort: 9443}}
  - {{number: 81, name: http-mutual, protocol: HTTP, targetPort: 8443}}
  endpoints: [{{address: {address}}}]
"""


def curl(pod: Pod, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return pod.sandbox.run([*CURL, *extra, url])


def get(pod: Pod, url: str, *extra: str) -> str:
    done = curl(pod, url, *extra)
    assert done.returncode == 0, (url, done.returncode, done.stderr)
    return done.stdout


def tcp(pod: Pod, host: str, port: int) -> str:
    """What a TCP connection to host:port from ``pod`` reads ("" when refused or reset)."""
    script = (
        "import socket,sys\n"
        "s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=3)\n"
        "s.sendall(b'ping')\n"
        "print(s.recv(64).decode())\n"
    )
    done = pod.sandbox.run([sys.executable, "-c", script, host, str(port)])
    return done.stdout.strip() if done.returncode == 0 else ""


def test_auto_mtls_between_sidecars_and_xfcc(world: World) -> None:
    """Default (no policy: PERMISSIVE): the client sidecar speaks Istio mutual TLS to the
    server sidecar, which hands the app the client's identity."""
    before = world.server.stat("listener.0.0.0.0_15006.ssl.handshake")
    xfcc = get(world.client, "http://server/")
    assert f"By={world.server.identity}" in xfcc
    assert "Hash=" in xfcc and "Subject=" in xfcc
    assert f"URI={world.client.identity}" in xfcc
    assert world.server.stat("listener.0.0.0.0_15006.ssl.handshake") > before
    # the client cluster negotiated TLS with Istio's ALPN
    sni = "outbound|80||server.default.svc.cluster.local"
    assert world.client.stat(f"cluster.{sni}.ssl.handshake") >= 1
    assert tcp(world.client, "server", 5000) == "tcp-ok"  # TCP over mutual TLS too
    wait_for(lambda: any("peer=spiffe://" in line for line in world.server.log_lines()), 5, "log")
    line = next(x for x in world.server.log_lines() if f"peer={world.client.identity}" in x)
    assert "tls=TLSv1.3" in line and "sni=outbound_.80_._.server.default.svc.cluster.local" in line


def test_permissive_accepts_plaintext_without_identity(world: World) -> None:
    assert get(world.plain, f"http://{world.server.ip}:8080/") == "-"  # no XFCC: plaintext
    wait_for(lambda: any(x.startswith("peer=- tls=-") for x in world.server.log_lines()), 5)


def test_strict_refuses_plaintext_and_keeps_mesh_traffic(world: World) -> None:
    world.apply(STRICT_NS)
    try:
        refused = curl(world.plain, f"http://{world.server.ip}:8080/")
        assert refused.returncode in (52, 56), refused  # empty reply / reset: no chain
        assert tcp(world.plain, world.server.ip, 5001) == ""
        assert f"URI={world.client.identity}" in get(world.client, "http://server/")
        assert tcp(world.client, "server", 5000) == "tcp-ok"
    finally:
        world.delete(STRICT_NS)
    assert get(world.plain, f"http://{world.server.ip}:8080/") == "-"


def test_port_level_and_workload_disable(world: World) -> None:
    """A workload policy STRICT with its HTTP port DISABLE: plaintext is refused on the TCP
    port and accepted on the HTTP port; clients must then be told (DestinationRule DISABLE),
    since they only see namespace-wide policies (as in Istio)."""
    policy = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: server, namespace: default}
spec:
  selector: {matchLabels: {app: server}}
  mtls: {mode: STRICT}
  portLevelMtls: {8080: {mode: DISABLE}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: server, namespace: default}
spec:
  host: server
  trafficPolicy:
    portLevelSettings:
    - port: {number: 80}
      tls: {mode: DISABLE}
"""
    world.apply(policy)
    try:
        assert get(world.plain, f"http://{world.server.ip}:8080/") == "-"
        assert tcp(world.plain, world.server.ip, 5001) == ""
        assert get(world.client, "http://server/") == "-"  # plaintext by the rule
        assert tcp(world.client, "server", 5000) == "tcp-ok"  # still mutual TLS
    finally:
        world.delete(policy)


def test_auto_mtls_sends_plaintext_to_pods_without_sidecar(world: World) -> None:
    assert get(world.client, "http://legacy/") == "-"
    mutual = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: legacy, namespace: default}
spec:
  host: legacy
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
"""
    world.apply(mutual)
    try:  # ISTIO_MUTUAL forces TLS, which a pod without sidecar cannot speak
        failed = curl(world.client, "http://legacy/", "-o", "/dev/null", "-w", "%{http_code}")
        assert failed.stdout == "503", failed
    finally:
        world.delete(mutual)


def test_namespace_disable_turns_auto_mtls_off(world: World) -> None:
    disable = STRICT_NS.replace("STRICT", "DISABLE")
    before = world.server.stat("listener.0.0.0.0_15006.ssl.handshake")
    world.apply(disable)
    try:
        assert get(world.client, "http://server/") == "-"  # plaintext both ways
        assert world.server.stat("listener.0.0.0.0_15006.ssl.handshake") == before
    finally:
        world.delete(disable)


def _rule(mode_and_files: str) -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: ext, namespace: default}}
spec:
  host: ext.test
  trafficPolicy:
    tls: {mode_and_files}
"""


def test_tls_origination_simple_and_mutual(world: World) -> None:
    pki = world.pki
    resolve = ["--resolve", f"ext.test:80:{EXT_VIP}", "--resolve", f"ext.test:81:{EXT_VIP}"]
    simple = f"{{mode: SIMPLE, caCertificates: {pki.ca}}}"
    world.apply(_rule(simple))
    try:
        assert get(world.client, "http://ext.test/", *resolve) == "tls-ok -"
        # SIMPLE sends no client certificate: the server that requires one refuses
        code = curl(
            world.client, "http://ext.test:81/", *resolve, "-o", "/dev/null", "-w", "%{http_code}"
        )
        assert code.stdout == "503"
        mutual = (
            f"{{mode: MUTUAL, caCertificates: {pki.ca}, clientCertificate: {pki.client_cert}, "
            f"privateKey: {pki.client_key}, subjectAltNames: [ext.test]}}"
        )
        world.apply(_rule(mutual))
        assert get(world.client, "http://ext.test:81/", *resolve) == "tls-ok client.test"
        wrong = mutual.replace("[ext.test]", "[other.test]")
        world.apply(_rule(wrong))
        code = curl(
            world.client, "http://ext.test:81/", *resolve, "-o", "/dev/null", "-w", "%{http_code}"
        )
        assert code.stdout == "503"  # the server's certificate does not name other.test
        insecure = "{mode: SIMPLE, insecureSkipVerify: true}"
        world.apply(_rule(insecure))
        assert get(world.client, "http://ext.test/", *resolve) == "tls-ok -"
    finally:
        world.delete(_rule(simple))
