"""Gateway server ports and the gateway Service's targetPort on the local mesh (netns mode),
with real Envoy: a server on port 80 of ``istio-ingressgateway`` (Service 80 -> 8080, Istio's
install) listens on 8080 in the gateway pod, as Istio's gateways do, so the Service works for
clients inside the mesh (VIP port 80 -> pod port 8080) and the 127.0.0.1 forwarder of port 80
reaches it; a server port the Service does not declare listens on itself.

One mesh for the module: namespace ``mesh`` (sidecars: ``srv`` HTTP echo), ``plain`` (no
sidecars: ``cli`` a client) and the ingress gateway from ``samples/bookinfo/platform/istio-ingressgateway.yaml``.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
from runtime_e2e import ROOT, assert_nothing_left, skip_unless_netns

from e2e_support.localmesh import LocalMeshThread
from e2e_support.mtls_mesh import call, mesh_config, namespace, pod_of, stats, synced
from e2e_support.proxy import wait_for
from sailmesh.runtime.local import RunningPod
from sailmesh.runtime.proxy import admin_request

pytestmark = pytest.mark.e2e

skip_unless_netns()

HOST = "web.example.com"
GATEWAY = f"""
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: web, namespace: istio-system}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
  - port: {{number: 80, name: http, protocol: HTTP}}
    hosts: [{HOST}]
  - port: {{number: 9090, name: http-other, protocol: HTTP}}
    hosts: [{HOST}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: web, namespace: mesh}}
spec:
  hosts: [{HOST}]
  gateways: [istio-system/web]
  http:
  - match: [{{port: 80}}]
    route: [{{destination: {{host: srv.mesh.svc.cluster.local, port: {{number: 80}}}}}}]
    headers: {{response: {{set: {{x-server-port: "80"}}}}}}
  - match: [{{port: 9090}}]
    route: [{{destination: {{host: srv.mesh.svc.cluster.local, port: {{number: 80}}}}}}]
    headers: {{response: {{set: {{x-server-port: "9090"}}}}}}
"""


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    home = tmp_path_factory.mktemp("sailmesh-home")
    manifests = home / "manifests"
    manifests.mkdir()
    (manifests / "mesh.yaml").write_text(namespace("mesh", "enabled"))
    (manifests / "plain.yaml").write_text(namespace("plain", "disabled"))
    (manifests / "config.yaml").write_text(mesh_config())
    ingress = ROOT / "samples" / "bookinfo" / "platform" / "istio-ingressgateway.yaml"
    m = LocalMeshThread(home)
    run_id = m.mesh.names.run_id
    try:
        m.start([str(manifests), str(ingress)])
        m.apply(GATEWAY)
        synced(m)
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id)


def _gateway(mesh: LocalMeshThread) -> RunningPod:
    return pod_of(mesh, "istio-system", "istio-ingressgateway")


def _from_host(port: int) -> tuple[int, str]:
    """GET / with Host web.example.com on 127.0.0.1:``port``: (status, x-server-port)."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/", headers={"Host": HOST})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response.status, response.getheader("x-server-port") or ""
    except OSError as exc:
        return 0, repr(exc)


def test_the_gateway_listens_on_the_services_target_port(mesh: LocalMeshThread) -> None:
    status, body = admin_request(_gateway(mesh).sandbox.netns_file, "/listeners")
    assert status == 200
    listeners = {line.split("::")[0]: line.split("::")[1] for line in body.split()}
    assert listeners.get("0.0.0.0_8080") == "0.0.0.0:8080", listeners  # server port 80
    assert listeners.get("0.0.0.0_9090") == "0.0.0.0:9090", listeners  # not a Service port
    assert "0.0.0.0_80" not in listeners


def test_the_forwarder_of_port_80_reaches_the_8080_listener(mesh: LocalMeshThread) -> None:
    wait_for(lambda: _from_host(mesh.gateway_port(80)) == (200, "80"), 20, "port 80")
    assert _from_host(mesh.gateway_port(9090)) == (200, "9090")
    counters = stats(_gateway(mesh), r"^listener\.0\.0\.0\.0_8080\.downstream_cx_total$")
    assert counters["listener.0.0.0.0_8080.downstream_cx_total"] >= 1


def test_clients_reach_the_gateway_through_its_service(mesh: LocalMeshThread) -> None:
    """The Service's VIP port 80 leads to pod port 8080, where the gateway now listens (a
    client without a sidecar: the runtime's kube-proxy role maps the VIP to the endpoints)."""
    client = pod_of(mesh, "plain", "cli")
    url = f"http://{HOST}/through-the-service"
    vip = mesh.mesh.cp.vips.allocate("istio-system", "istio-ingressgateway") if mesh.mesh.cp else ""
    assert vip
    found = (0, "")

    def answered() -> bool:
        nonlocal found
        found = call(client, url, vip)
        return found[0] == 200

    wait_for(answered, 20, "the gateway through its Service")
    assert found[0] == 200, found
