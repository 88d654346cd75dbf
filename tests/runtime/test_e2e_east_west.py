"""Gateway ``tls.mode: AUTO_PASSTHROUGH`` on the local mesh (netns mode): Istio's cross-network
(east-west) gateway, with real Envoy and the mesh's real workload certificates.

A client sidecar reaches a service the way a sidecar of another network does in Istio's
multi-network meshes: its cluster's endpoint is the east-west gateway's port 15443, its Istio
mutual TLS carries the SNI ``outbound_.80_._.srv.mesh.svc.cluster.local``. The gateway routes on
that SNI without terminating the TLS, so the server's sidecar terminates it and sees the
client's own identity.

One mesh for the module: namespace ``mesh`` (sidecars: ``srv`` HTTP echo answering with the
XFCC it got, ``cli`` a client) and ``istio-eastwestgateway`` in ``istio-system`` (Istio's
``samples/multicluster/expose-services.yaml`` Gateway selects it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from runtime_e2e import assert_nothing_left, skip_unless_netns

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
from e2e_support.proxy import wait_for

pytestmark = pytest.mark.e2e

skip_unless_netns()

SNI = "outbound_.80_._.srv.mesh.svc.cluster.local"
REMOTE = "srv.remote"
REMOTE_VIP = "240.0.0.40"

EAST_WEST_GATEWAY = """
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: istio-eastwestgateway-service-account, namespace: istio-system}
---
apiVersion: v1
kind: Service
metadata:
  name: istio-eastwestgateway
  namespace: istio-system
  labels: {istio: eastwestgateway}
spec:
  selector: {istio: eastwestgateway}
  ports: [{name: tls, port: 15443, targetPort: 15443}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-eastwestgateway, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: eastwestgateway}}
  template:
    metadata:
      annotations: {inject.istio.io/templates: gateway}
      labels: {istio: eastwestgateway, sidecar.istio.io/inject: "true"}
    spec:
      serviceAccountName: istio-eastwestgateway-service-account
      containers: [{name: istio-proxy, image: auto, ports: [{containerPort: 15443}]}]
---
# Istio's samples/multicluster/expose-services.yaml
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: cross-network-gateway, namespace: istio-system}
spec:
  selector: {istio: eastwestgateway}
  servers:
  - port: {number: 15443, name: tls, protocol: TLS}
    tls: {mode: AUTO_PASSTHROUGH}
    hosts: ["*.local"]
"""


def _remote(gateway_ip: str, sni: str = SNI) -> str:
    """What a sidecar of another network gets for ``srv``: the gateway's 15443 as endpoint,
    Istio mutual TLS with the service's SNI and identity (here spelled out as config)."""
    return f"""
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: srv-remote, namespace: mesh}}
spec:
  hosts: [{REMOTE}]
  addresses: [{REMOTE_VIP}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{{number: 80, name: http, protocol: HTTP, targetPort: 15443}}]
  endpoints: [{{address: {gateway_ip}}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: srv-remote, namespace: mesh}}
spec:
  host: {REMOTE}
  trafficPolicy:
    tls:
      mode: ISTIO_MUTUAL
      sni: {sni}
      subjectAltNames: [{identity("mesh", "srv")}]
"""


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    home = tmp_path_factory.mktemp("sailmesh-home")
    manifests = home / "manifests"
    manifests.mkdir()
    (manifests / "mesh.yaml").write_text(namespace("mesh", "enabled"))
    (manifests / "config.yaml").write_text(mesh_config())
    (manifests / "eastwest.yaml").write_text(EAST_WEST_GATEWAY)
    m = LocalMeshThread(home)
    run_id = m.mesh.names.run_id
    try:
        m.start([str(manifests)])
        synced(m)
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id)


def test_the_sni_routes_the_clients_mutual_tls_to_the_service(mesh: LocalMeshThread) -> None:
    client, server = pod_of(mesh, "mesh", "cli"), pod_of(mesh, "mesh", "srv")
    gateway = pod_of(mesh, "istio-system", "istio-eastwestgateway")
    mesh.apply(_remote(gateway.ip))
    synced(mesh)
    found = (0, "")

    def answered() -> bool:
        nonlocal found
        found = call(client, f"http://{REMOTE}/east-west", REMOTE_VIP)
        return found[0] == 200

    wait_for(answered, 20, "an answer through the east-west gateway")
    # the server's sidecar terminated the client's own mutual TLS: the XFCC names the client,
    # not the gateway (which only forwarded the encrypted stream)
    assert f"URI={identity('mesh', 'cli')}" in found[1], found
    line = log_line(server, "/east-west")
    assert line is not None and f"peer={identity('mesh', 'cli')}" in line, line
    counters = stats(
        gateway, r"^cluster\.outbound_\.80_\._\.srv\.mesh\.svc\.cluster\.local\.upstream_cx_total$"
    )
    assert counters[f"cluster.{SNI}.upstream_cx_total"] >= 1, counters


def test_an_sni_naming_no_service_is_refused(mesh: LocalMeshThread) -> None:
    client = pod_of(mesh, "mesh", "cli")
    gateway = pod_of(mesh, "istio-system", "istio-eastwestgateway")
    unknown = "outbound_.80_._.nothing.mesh.svc.cluster.local"
    mesh.apply(_remote(gateway.ip, unknown))
    synced(mesh)
    try:
        wait_for(
            lambda: call(client, f"http://{REMOTE}/unknown", REMOTE_VIP)[0] == 503,
            20,
            "the gateway to refuse an unknown SNI",
        )
        listener = stats(gateway, r"^listener\.0\.0\.0\.0_15443\.no_filter_chain_match$")
        assert listener["listener.0.0.0.0_15443.no_filter_chain_match"] >= 1, listener
    finally:
        mesh.apply(_remote(gateway.ip))
        synced(mesh)
