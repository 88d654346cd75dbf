"""End to end on the local mesh (netns mode): mutual TLS for TCP, and DestinationRule ``tls``
(ISTIO_MUTUAL, DISABLE, SIMPLE and MUTUAL origination with CA, client certificate and subject
alt name checks) with real sidecars, real workload certificates and a real TLS server.

One mesh is shared by the module: namespaces ``mesh`` (sidecars) and ``plain`` (none), each with
a server ``srv`` and a client ``cli``, and ``ext`` in ``plain``: TLS servers on 9443 (any
client) and 8443 (client certificate required) for the external service ``ext.test``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from runtime_e2e import assert_nothing_left, skip_unless_netns

from e2e_support.localmesh import LocalMeshThread
from e2e_support.mtls_mesh import (
    TLS_SERVER,
    SyncedMesh,
    call,
    identity,
    log_line,
    mesh_config,
    namespace,
    pod_of,
    synced,
    tcp,
)
from e2e_support.pki import Pki, write_pki
from e2e_support.proxy import wait_for
from sailmesh.runtime.local import RunningPod

pytestmark = pytest.mark.e2e

skip_unless_netns()

EXT_VIP = "240.0.0.10"


def _tls_servers(pki: Pki) -> str:
    def container(name: str, port: int, *args: str) -> str:
        command = json.dumps(["python3", "-c", TLS_SERVER, str(port), *args])
        return f"{{name: {name}, command: {command}, ports: [{{containerPort: {port}}}]}}"

    files = (str(pki.server_cert), str(pki.server_key))
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: ext, namespace: plain}}
spec:
  selector: {{matchLabels: {{app: ext}}}}
  template:
    metadata: {{labels: {{app: ext}}}}
    spec:
      containers:
      - {container("simple", 9443, *files)}
      - {container("mutual", 8443, *files, str(pki.ca))}
"""


def _service_entry(address: str) -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: ext, namespace: mesh}}
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


class World(SyncedMesh):
    def __init__(self, mesh: LocalMeshThread, pki: Pki) -> None:
        super().__init__(mesh)
        self.pki = pki


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("sailmesh-home")
    manifests = home / "manifests"
    manifests.mkdir()
    (manifests / "mesh.yaml").write_text(namespace("mesh", "enabled"))
    (manifests / "plain.yaml").write_text(namespace("plain", "disabled"))
    (manifests / "config.yaml").write_text(mesh_config())
    m = LocalMeshThread(home)
    run_id = m.mesh.names.run_id
    try:
        m.start([str(manifests)])
        # the run's work dir (0755, removed with the run) holds files the pods' users can read
        pki = write_pki(m.mesh.names.workdir / "pki", "ext.test")
        m.apply(_tls_servers(pki))
        m.apply(_service_entry(pod_of(m, "plain", "ext").ip))
        synced(m)
        yield World(m, pki)
    finally:
        m.close()
        assert_nothing_left(run_id)


def test_tcp_goes_over_mutual_tls_and_strict_refuses_plaintext_tcp(world: World) -> None:
    client, plain = pod_of(world.mesh, "mesh", "cli"), pod_of(world.mesh, "plain", "cli")
    server = pod_of(world.mesh, "mesh", "srv")
    assert tcp(client, "srv.mesh", 5000) == "tcp-ok"
    wait_for(lambda: "chain=0.0.0.0_5001_tcp_mtls" in _log(server), 5, "the TCP mTLS log line")
    assert f"peer={identity('mesh', 'cli')}" in _log(server)
    assert tcp(plain, server.ip, 5001) == "tcp-ok"  # PERMISSIVE: plaintext TCP too
    strict = _peer_authentication("STRICT")
    world.apply(strict)
    try:
        assert tcp(plain, server.ip, 5001) == ""  # no chain for plaintext: closed
        assert tcp(client, "srv.mesh", 5000) == "tcp-ok"
    finally:
        world.delete(strict)


def _log(pod: RunningPod) -> str:
    return pod.supervisor.log_path("istio-proxy").read_text(errors="replace")


def _peer_authentication(mode: str, selector: bool = False) -> str:
    select = "\n  selector: {matchLabels: {app: srv}}" if selector else ""
    return (
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
        f"metadata: {{name: srv, namespace: mesh}}\nspec:\n  mtls: {{mode: {mode}}}{select}\n"
    )


def _rule(host: str, tls: str, namespace_: str = "mesh") -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: rule, namespace: {namespace_}}}
spec:
  host: {host}
  trafficPolicy:
    tls: {tls}
"""


def test_istio_mutual_is_mutual_tls_even_to_a_pod_without_sidecar(world: World) -> None:
    client = pod_of(world.mesh, "mesh", "cli")
    assert call(client, "http://srv.plain/") == (200, "-")  # auto mTLS: plaintext there
    rule = _rule("srv.plain.svc.cluster.local", "{mode: ISTIO_MUTUAL}")
    world.apply(rule)
    try:
        assert call(client, "http://srv.plain/")[0] == 503  # TLS to a plaintext server
    finally:
        world.delete(rule)


def test_workload_disable_needs_a_destination_rule_disable_for_mesh_clients(
    world: World,
) -> None:
    """Clients only see namespace-wide policies: a workload's DISABLE breaks their auto mTLS
    (Istio's behaviour) until a DestinationRule tells them to send plaintext."""
    client, server = pod_of(world.mesh, "mesh", "cli"), pod_of(world.mesh, "mesh", "srv")
    disable = _peer_authentication("DISABLE", selector=True)
    rule = _rule("srv.mesh.svc.cluster.local", "{mode: DISABLE}")
    world.apply(disable)
    try:
        assert call(client, "http://srv.mesh/broken")[0] == 503
        world.apply(rule)
        assert call(client, "http://srv.mesh/fixed") == (200, "-")
        wait_for(lambda: log_line(server, "/fixed") is not None, 5, "the server's log")
        assert "peer=- tls=-" in (log_line(server, "/fixed") or "")
    finally:
        world.delete(disable + "---\n" + rule)


def test_tls_origination_to_an_external_service(world: World) -> None:
    client, pki = pod_of(world.mesh, "mesh", "cli"), world.pki
    simple = _rule("ext.test", f"{{mode: SIMPLE, caCertificates: {pki.ca}}}")
    world.apply(simple)
    try:
        assert call(client, "http://ext.test/", EXT_VIP) == (200, "tls-ok -")
        # no client certificate: the server that requires one refuses the handshake
        assert call(client, "http://ext.test:81/", EXT_VIP)[0] == 503
        mutual = (
            f"{{mode: MUTUAL, caCertificates: {pki.ca}, clientCertificate: {pki.client_cert}, "
            f"privateKey: {pki.client_key}, subjectAltNames: [ext.test], sni: ext.test}}"
        )
        world.apply(_rule("ext.test", mutual))
        assert call(client, "http://ext.test:81/", EXT_VIP) == (200, "tls-ok client.test")
        world.apply(_rule("ext.test", mutual.replace("[ext.test]", "[other.test]")))
        assert call(client, "http://ext.test:81/", EXT_VIP)[0] == 503  # the SAN is checked
        world.apply(_rule("ext.test", "{mode: SIMPLE}"))  # the system's roots: not this CA
        assert call(client, "http://ext.test/", EXT_VIP)[0] == 503
        world.apply(_rule("ext.test", "{mode: SIMPLE, insecureSkipVerify: true}"))
        assert call(client, "http://ext.test/", EXT_VIP) == (200, "tls-ok -")
    finally:
        world.delete(simple)
