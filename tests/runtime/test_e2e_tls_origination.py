"""TLS origination on the local mesh (netns mode), with real Envoy and a real HTTPS server.

Istio's tasks "Egress TLS origination" (at the sidecar) and "Egress gateways with TLS
origination" (at ``istio-egressgateway``, SIMPLE, then MUTUAL with a ``credentialName`` Secret in
the gateway's namespace): the app sends plain HTTP to ``origin.test``; the HTTPS server, in its
own sandbox without a sidecar, logs each TLS session it terminated (the peer's address, the SNI it
got, the client certificate's CN). Neither DestinationRule names ``sni`` or ``subjectAltNames``:
the request's host is sent as SNI and must be a DNS name of the server's certificate.

One mesh for the module: namespace ``mesh`` (sidecars: ``cli``), namespace ``plain`` (no
sidecars: ``origin``, the HTTPS server with its own test CA), the egress gateway.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from runtime_e2e import ROOT, assert_nothing_left, skip_unless_netns

from e2e_support.localmesh import LocalMeshThread
from e2e_support.mtls_mesh import (
    SyncedMesh,
    call,
    log_line,
    mesh_config,
    namespace,
    pod_of,
    stats,
)
from e2e_support.pki import Pki, write_pki
from e2e_support.proxy import wait_for
from sailmesh.cli.main import cli
from sailmesh.runtime.local import RunningPod

pytestmark = pytest.mark.e2e

skip_unless_netns()

ORIGIN = "origin.test"
ORIGIN_VIP = "240.0.0.30"
IMPOSTOR = "impostor.test"
IMPOSTOR_VIP = "240.0.0.31"
EGRESS = "istio-egressgateway.istio-system.svc.cluster.local"

#: HTTPS on 9443 (certificate argv[1], key argv[2]; client certificates signed by the CA argv[3]
#: are asked for, not required). Each request prints one line: the TLS session's peer address,
#: SNI and client certificate CN, and the request's Host and path; answers ``origin <cn>``.
ORIGIN_SERVER = """
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        cert = self.connection.getpeercert() or {}
        cn = dict(x[0] for x in cert.get('subject', ())).get('commonName', '-')
        sni = getattr(self.connection, 'sni', None) or '-'
        print(f'tls peer={self.client_address[0]} sni={sni} client={cn} '
              f'host={self.headers.get("host")} path={self.path}', flush=True)
        body = ('origin ' + cn).encode()
        self.send_response(200); self.send_header('Content-Length', str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
def remember(sock, name, _):
    sock.sni = name
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
context.load_verify_locations(sys.argv[3])
context.verify_mode = ssl.CERT_OPTIONAL
context.sni_callback = remember
server = http.server.ThreadingHTTPServer(('0.0.0.0', 9443), H)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


def _origin(pki: Pki) -> str:
    command = json.dumps(
        ["python3", "-c", ORIGIN_SERVER, str(pki.server_cert), str(pki.server_key), str(pki.ca)]
    )
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: origin, namespace: plain}}
spec:
  selector: {{matchLabels: {{app: origin}}}}
  template:
    metadata: {{labels: {{app: origin}}}}
    spec:
      containers: [{{name: origin, command: {command}, ports: [{{containerPort: 9443}}]}}]
"""


def _service_entry(address: str, host: str = ORIGIN, vip: str = ORIGIN_VIP) -> str:
    """Istio's task shape: port 80 (HTTP, what the app calls) and 443 (HTTPS, what is
    originated to), here both at the origin pod's address (443 -> the server's 9443)."""
    return f"""
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: {host.split(".")[0]}, namespace: mesh}}
spec:
  hosts: [{host}]
  addresses: [{vip}]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports:
  - {{number: 80, name: http-port, protocol: HTTP}}
  - {{number: 443, name: https, protocol: HTTPS, targetPort: 9443}}
  endpoints: [{{address: {address}}}]
"""


def _originate_at_sidecar(ca: str, host: str = ORIGIN) -> str:
    name = host.split(".")[0]
    return f"""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {name}-port-80-to-443, namespace: mesh}}
spec:
  hosts: [{host}]
  http:
  - match: [{{port: 80}}]
    route: [{{destination: {{host: {host}, port: {{number: 443}}}}}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: originate-tls-{name}, namespace: mesh}}
spec:
  host: {host}
  trafficPolicy:
    portLevelSettings:
    - port: {{number: 443}}
      tls: {{mode: SIMPLE, caCertificates: {ca}}}
"""


THROUGH_EGRESS = f"""
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: istio-egressgateway, namespace: mesh}}
spec:
  selector: {{istio: egressgateway}}
  servers:
  - port: {{number: 80, name: https-port-for-tls-origination, protocol: HTTPS}}
    hosts: [{ORIGIN}]
    tls: {{mode: ISTIO_MUTUAL}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: egressgateway-for-origin, namespace: mesh}}
spec:
  host: {EGRESS}
  subsets:
  - name: origin
    trafficPolicy:
      portLevelSettings:
      - port: {{number: 80}}
        tls: {{mode: ISTIO_MUTUAL, sni: {ORIGIN}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: direct-origin-through-egress-gateway, namespace: mesh}}
spec:
  hosts: [{ORIGIN}]
  gateways: [istio-egressgateway, mesh]
  http:
  - match: [{{gateways: [mesh], port: 80}}]
    route: [{{destination: {{host: {EGRESS}, subset: origin, port: {{number: 80}}}}}}]
  - match: [{{gateways: [istio-egressgateway], port: 80}}]
    route: [{{destination: {{host: {ORIGIN}, port: {{number: 443}}}}}}]
"""


def _originate_at_egress(tls: str) -> str:
    """The gateway's DestinationRule, in its own namespace (where its credentialName lives)."""
    return f"""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: originate-tls-for-origin, namespace: istio-system}}
spec:
  host: {ORIGIN}
  trafficPolicy:
    portLevelSettings:
    - port: {{number: 443}}
      tls: {tls}
"""


class World(SyncedMesh):
    def __init__(self, mesh: LocalMeshThread, pki: Pki) -> None:
        super().__init__(mesh)
        self.pki = pki

    def pods(self) -> tuple[RunningPod, RunningPod]:
        return pod_of(self.mesh, "mesh", "cli"), pod_of(self.mesh, "plain", "origin")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("sailmesh-home")
    manifests = home / "manifests"
    manifests.mkdir()
    (manifests / "mesh.yaml").write_text(namespace("mesh", "enabled"))
    (manifests / "plain.yaml").write_text(namespace("plain", "disabled"))
    registry_only = "    outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n"
    (manifests / "config.yaml").write_text(mesh_config().rstrip("\n") + "\n" + registry_only)
    egress = ROOT / "samples" / "egress" / "istio-egressgateway.yaml"
    m = LocalMeshThread(home)
    run_id = m.mesh.names.run_id
    try:
        m.start([str(manifests), str(egress)])
        pki = write_pki(m.mesh.names.workdir / "pki", ORIGIN)
        m.apply(_origin(pki))
        world = World(m, pki)
        wait_for(lambda: _has_origin(m), 30, "the origin pod")
        world.apply(_service_entry(world.pods()[1].ip))
        yield world
    finally:
        m.close()
        assert_nothing_left(run_id)


def _has_origin(mesh: LocalMeshThread) -> bool:
    assert mesh.mesh.runtime is not None
    return any(p.plan.owner == "Deployment/origin" for p in mesh.mesh.runtime.pods.values())


def _session(origin: RunningPod, path: str) -> str | None:
    """The origin server's line for the request to ``path`` (None before it came)."""
    text = origin.supervisor.log_path("origin").read_text(errors="replace")
    return next((line for line in text.splitlines() if line.endswith(f" path={path}")), None)


def ssl_stats(pod: RunningPod, cluster: str) -> dict[str, int]:
    """The pod's Envoy ``ssl.*`` counters of ``cluster`` (names without the prefix)."""
    prefix = f"cluster.{cluster}.ssl."
    found = stats(pod, "^" + prefix.replace(".", r"\.").replace("|", r"\|") + r"[a-z_]+$")
    return {name[len(prefix) :]: value for name, value in found.items()}


def _call_until_ok(client: RunningPod, path: str) -> tuple[int, str]:
    found = (0, "")

    def answered() -> bool:
        nonlocal found
        found = call(client, f"http://{ORIGIN}{path}", ORIGIN_VIP)
        return found[0] == 200

    wait_for(answered, 20, f"200 for {path}")
    return found


def test_the_sidecar_originates_tls_with_the_hosts_name_as_sni(world: World) -> None:
    client, origin = world.pods()
    rules = _originate_at_sidecar(str(world.pki.ca))
    world.apply(rules)
    try:
        assert _call_until_ok(client, "/sidecar") == (200, "origin -")
        line = _session(origin, "/sidecar")
        # one TLS session from the client's pod (its sidecar), SNI = the request's host
        assert line == f"tls peer={client.ip} sni={ORIGIN} client=- host={ORIGIN} path=/sidecar"
    finally:
        world.delete(rules)


def test_the_egress_gateway_originates_simple_then_mutual_tls(world: World) -> None:
    client, origin = world.pods()
    egress = pod_of(world.mesh, "istio-system", "istio-egressgateway")
    simple = _originate_at_egress(f"{{mode: SIMPLE, caCertificates: {world.pki.ca}}}")
    world.apply(THROUGH_EGRESS + "---\n" + simple)
    try:
        assert _call_until_ok(client, "/simple") == (200, "origin -")
        line = _session(origin, "/simple")
        assert line == f"tls peer={egress.ip} sni={ORIGIN} client=- host={ORIGIN} path=/simple"
        gateway_line = log_line(egress, "/simple")  # the gateway got it over the mesh's mTLS
        assert gateway_line is not None and "peer=spiffe://cluster.local/ns/mesh/sa/cli" in (
            gateway_line
        )
        # MUTUAL with a credentialName: client certificate and CA from the gateway's Secret
        secret = CliRunner().invoke(
            cli,
            [
                "create", "secret", "generic", "client-credential", "-n", "istio-system",
                f"--from-file=tls.crt={world.pki.client_cert}",
                f"--from-file=tls.key={world.pki.client_key}",
                f"--from-file=ca.crt={world.pki.ca}", "--dry-run",
            ],
        )  # fmt: skip
        assert secret.exit_code == 0, secret.output
        world.apply(secret.output)
        world.apply(_originate_at_egress("{mode: MUTUAL, credentialName: client-credential}"))

        def mutual() -> bool:
            return call(client, f"http://{ORIGIN}/mutual", ORIGIN_VIP) == (
                200,
                "origin client.test",
            )

        wait_for(mutual, 20, "the client certificate at the origin")
        line = _session(origin, "/mutual")
        assert line == (
            f"tls peer={egress.ip} sni={ORIGIN} client=client.test host={ORIGIN} path=/mutual"
        )
    finally:
        world.delete(THROUGH_EGRESS + "---\n" + simple)


def test_the_hosts_name_is_checked_against_the_certificate(world: World) -> None:
    """Without ``subjectAltNames`` the server must hold a certificate for the request's host:
    the origin's certificate (for origin.test, from the trusted CA) is refused when the
    same server is called as ``impostor.test`` (503, no request served)."""
    client, origin = world.pods()
    entry = _service_entry(origin.ip, IMPOSTOR, IMPOSTOR_VIP)
    rules = _originate_at_sidecar(str(world.pki.ca), IMPOSTOR)
    world.apply(entry + "---\n" + rules)
    try:
        found = call(client, f"http://{IMPOSTOR}/impostor", IMPOSTOR_VIP)
        assert found[0] == 503, found
        assert _session(origin, "/impostor") is None
        counters = ssl_stats(client, f"outbound|443||{IMPOSTOR}")
        assert counters.get("fail_verify_san", 0) >= 1, counters
    finally:
        world.delete(entry + "---\n" + rules)
