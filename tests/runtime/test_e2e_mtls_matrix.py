"""The reachability matrix of mutual TLS, like Istio's own, on the local mesh (netns mode).

Clients with and without a sidecar call servers with and without one, under each
PeerAuthentication scope and mode (none = PERMISSIVE, mesh/namespace/workload STRICT, namespace
and workload DISABLE, port level). Every cell states its outcome: ``mtls`` (200 over Istio
mutual TLS: the app sees ``x-forwarded-client-cert`` with the client's SPIFFE id and the server
sidecar logs the peer), ``plain`` (200 in plaintext: no client certificate, the log shows
``peer=-``), ``refused`` (the server sidecar closes the connection: STRICT) or ``failed`` (the
client sidecar answers 503: mutual TLS sent to a port that only takes plaintext).

One mesh is shared by the module: namespaces ``mesh`` (injection enabled) and ``plain``
(disabled), each with a server ``srv`` (HTTP on service ports 80 and 90) and a client ``cli``,
and the ingress gateway routing ``/gw`` to the mesh server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from runtime_e2e import ROOT, assert_nothing_left, skip_unless_netns

from e2e_support.localmesh import LocalMeshThread
from e2e_support.mtls_mesh import (
    call,
    identity,
    log_line,
    mesh_config,
    namespace,
    pod_of,
    stats,
    synced,
)
from e2e_support.proxy import get as host_get
from e2e_support.proxy import wait_for
from sailmesh.runtime.local import RunningPod

pytestmark = pytest.mark.e2e

skip_unless_netns()

GATEWAY = """
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: mesh}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: gw, namespace: mesh}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - match: [{uri: {prefix: /gw}}]
    route: [{destination: {host: srv.mesh.svc.cluster.local, port: {number: 80}}}]
"""


def policy(name: str, namespace_: str, mode: str, selector: bool = False, ports: str = "") -> str:
    lines = [f"  mtls: {{mode: {mode}}}"]
    if selector:
        lines.append("  selector: {matchLabels: {app: srv}}")
    if ports:
        lines.append(f"  portLevelMtls: {ports}")
    body = "\n".join(lines)
    return (
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
        f"metadata: {{name: {name}, namespace: {namespace_}}}\nspec:\n{body}\n"
    )


SCENARIOS: dict[str, str] = {
    "none": "",
    "mesh-strict": policy("default", "istio-system", "STRICT"),
    "namespace-strict": policy("default", "mesh", "STRICT"),
    "workload-strict": policy("srv", "mesh", "STRICT", selector=True),
    "namespace-disable": policy("default", "mesh", "DISABLE"),
    "workload-disable": policy("srv", "mesh", "DISABLE", selector=True),
    "port-level": policy("srv", "mesh", "STRICT", True, "{9090: {mode: PERMISSIVE}}"),
    # a mesh-wide STRICT loosened for one namespace
    "namespace-permissive": policy("default", "istio-system", "STRICT")
    + "---\n"
    + policy("default", "mesh", "PERMISSIVE"),
}


def expected(scenario: str, client: str, server: str, port: int) -> str:
    """The outcome of one cell (see the module docstring)."""
    if server == "plain":
        return "plain"  # no sidecar: no policy applies, auto mTLS sends plaintext
    meshed_client = client == "mesh"
    if scenario in ("none", "namespace-permissive"):
        return "mtls" if meshed_client else "plain"
    if scenario == "namespace-disable":
        return "plain"  # clients see the namespace-wide DISABLE: auto mTLS is off
    if scenario == "workload-disable":
        return "failed" if meshed_client else "plain"  # clients cannot see workload policies
    if scenario == "port-level" and port == 90:
        return "mtls" if meshed_client else "plain"
    return "mtls" if meshed_client else "refused"  # STRICT


@dataclass(frozen=True)
class Cell:
    scenario: str
    client: str
    server: str
    port: int

    @property
    def id(self) -> str:
        return f"{self.scenario}:{self.client}->{self.server}:{self.port}"

    @property
    def path(self) -> str:
        return "/" + self.id.replace(":", "-").replace(">", "")


CELLS = [
    Cell(s, c, srv, port)
    for s in SCENARIOS
    for c in ("mesh", "plain")
    for srv in ("mesh", "plain")
    for port in ((80, 90) if s == "port-level" else (80,))
]


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    home = tmp_path_factory.mktemp("sailmesh-home")
    manifests = home / "manifests"
    manifests.mkdir()
    (manifests / "mesh.yaml").write_text(namespace("mesh", "enabled"))
    (manifests / "plain.yaml").write_text(namespace("plain", "disabled"))
    (manifests / "config.yaml").write_text(mesh_config(GATEWAY))
    gateway = ROOT / "samples" / "bookinfo" / "platform" / "istio-ingressgateway.yaml"
    m = LocalMeshThread(home)
    run_id = m.mesh.names.run_id
    try:
        m.start([str(manifests), str(gateway)])
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id)


def handshakes(pod: RunningPod) -> int:
    """TLS handshakes the pod's sidecar completed on its inbound listener."""
    return stats(pod, r"^listener\.0\.0\.0\.0_15006\.ssl\.handshake$").get(
        "listener.0.0.0.0_15006.ssl.handshake", 0
    )


@pytest.fixture(scope="module")
def scenario_state() -> dict[str, str]:
    return {"applied": ""}


def _switch(mesh: LocalMeshThread, state: dict[str, str], scenario: str) -> None:
    """Make ``scenario``'s policies the applied ones (cells run grouped by scenario)."""
    if state.get("scenario") == scenario:
        return
    if state["applied"]:
        mesh.delete(state["applied"])
    text = SCENARIOS[scenario]
    if text:
        mesh.apply(text)
    state["applied"], state["scenario"] = text, scenario
    synced(mesh)


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
def test_reachability(mesh: LocalMeshThread, scenario_state: dict[str, str], cell: Cell) -> None:
    _switch(mesh, scenario_state, cell.scenario)
    client = pod_of(mesh, cell.client, "cli")
    server = pod_of(mesh, cell.server, "srv")
    sidecar = server.plan.inject
    before = handshakes(server) if sidecar else 0
    status, body = call(client, f"http://srv.{cell.server}:{cell.port}{cell.path}")
    outcome = expected(cell.scenario, cell.client, cell.server, cell.port)
    print(f"{cell.id:42} {outcome:8} {status} {body[:60]!r}")  # the matrix, with -s
    if outcome == "mtls":
        assert status == 200, body
        assert f"URI={identity(cell.client, 'cli')}" in body  # the app sees the client
        assert f"By={identity(cell.server, 'srv')}" in body
        assert handshakes(server) >= 1  # (a pooled connection may carry it: no new handshake)
        wait_for(lambda: log_line(server, cell.path) is not None, 5, "the server sidecar's log")
        line = log_line(server, cell.path)
        assert line is not None and f"peer={identity(cell.client, 'cli')} tls=TLSv1." in line
        assert "_mtls" in line  # the filter chain that terminated mutual TLS
    elif outcome == "plain":
        assert (status, body) == (200, "-")
        if sidecar:
            wait_for(lambda: log_line(server, cell.path) is not None, 5, "the sidecar's log")
            line = log_line(server, cell.path)
            assert line is not None and "peer=- tls=-" in line
            # no new handshake (the counter can also restart from 0: Envoy drops a replaced
            # listener's stats once the policy change's new listener takes over)
            assert handshakes(server) <= before
    elif outcome == "refused":
        assert status == 0, (status, body)  # connection closed by the server sidecar
        assert log_line(server, cell.path) is None
    else:  # failed: the client sidecar could not connect
        assert status == 503, (status, body)
        assert log_line(server, cell.path) is None


def test_gateway_originates_mutual_tls_to_a_strict_server(
    mesh: LocalMeshThread, scenario_state: dict[str, str]
) -> None:
    _switch(mesh, scenario_state, "mesh-strict")
    status, body = host_get(mesh.gateway_port(8080), "/gw")
    assert status == 200, body
    gateway = identity("istio-system", "istio-ingressgateway-service-account")
    assert f"URI={gateway}" in body


def test_envoy_tls_stats_show_mesh_traffic_is_tls(
    mesh: LocalMeshThread, scenario_state: dict[str, str]
) -> None:
    """Both sidecars count TLS 1.3 handshakes with the mesh's certificates, none failed; the
    client's cluster to the server negotiated TLS (its SAN check passed)."""
    _switch(mesh, scenario_state, "none")
    client, server = pod_of(mesh, "mesh", "cli"), pod_of(mesh, "mesh", "srv")
    assert call(client, "http://srv.mesh/stats")[0] == 200
    inbound = stats(server, r"^listener\.0\.0\.0\.0_15006\.ssl\.")
    assert inbound["listener.0.0.0.0_15006.ssl.handshake"] >= 1
    assert inbound["listener.0.0.0.0_15006.ssl.versions.TLSv1.3"] >= 1
    assert inbound["listener.0.0.0.0_15006.ssl.connection_error"] == 0
    cluster = "cluster.outbound|80||srv.mesh.svc.cluster.local.ssl."
    outbound = stats(client, "^" + cluster.replace(".", r"\.").replace("|", r"\|"))
    assert outbound[cluster + "handshake"] >= 1
    assert outbound[cluster + "fail_verify_san"] == 0
    assert outbound[cluster + "certificate.default.expiration_unix_time_seconds"] > 0
