"""What the runtime is told of the control plane (ControlPlaneLink), without running pods."""

from __future__ import annotations

from config_support.manifests import manifests
from sailmesh.app.backend import MeshApi
from sailmesh.app.local import ControlPlaneLink
from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings
from sailmesh.registry.model import Workload, frozen_map

CONFIG = manifests("""
Gateway istio-system/web
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}
  - {port: {number: 80, name: http2, protocol: HTTP}, hosts: ["*"]}
---
Gateway istio-system/other
  selector: {istio: egressgateway}
  servers: [{port: {number: 443, name: tls, protocol: TLS}, hosts: ["*"], tls: {mode: PASSTHROUGH}}]
---
IstioOperator istio-system/mesh
  meshConfig:
    defaultConfig:
      proxyMetadata: {ISTIO_DELTA_XDS: "false"}
""")


def _link() -> ControlPlaneLink:
    cp = ControlPlane(ControlPlaneSettings())
    MeshApi(cp).apply_yaml(CONFIG, "mesh.yaml", "default")
    return ControlPlaneLink(cp)


def test_gateway_ports_are_those_of_the_gateways_selecting_the_pod() -> None:
    """``(server port, listen port)``: a server on a port of the pod's Service listens on its
    targetPort; other server ports (8080 here, or a pod no Service selects) on themselves."""
    link = _link()
    MeshApi(link.cp).apply_yaml(
        "apiVersion: v1\nkind: Service\n"
        "metadata: {name: istio-ingressgateway, namespace: istio-system}\n"
        "spec:\n  selector: {istio: ingressgateway}\n"
        "  ports: [{name: http2, port: 80, targetPort: 8080}]\n",
        "svc.yaml",
        "istio-system",
    )
    link.cp.registry_sync.sync(link.cp.store.list(kind="Service"))
    ingress = {"istio": "ingressgateway", "app": "x"}
    assert link.gateway_ports("istio-system", ingress) == [(80, 8080), (8080, 8080)]
    assert link.gateway_ports("elsewhere", ingress) == [(80, 80), (8080, 8080)]
    assert link.gateway_ports("istio-system", {"istio": "egressgateway"}) == [(443, 443)]
    assert link.gateway_ports("default", {"app": "reviews"}) == []


def test_proxy_defaults_come_from_the_one_mesh_config_reader() -> None:
    link = _link()
    assert link.mesh_proxy_config() == {"proxyMetadata": {"ISTIO_DELTA_XDS": "false"}}
    assert link.cp.mesh_config().root_namespace == "istio-system"


def test_published_workloads_reach_the_registry_and_leave_it() -> None:
    link = _link()
    workload = Workload(
        name="a-0", namespace="default", address="10.244.0.9", labels=frozen_map({"app": "a"})
    )
    link.publish(workload, "default", "a-0")
    assert [w.name for w in link.cp.registry.view().workloads] == ["a-0"]
    link.publish(None, "default", "a-0")
    assert link.cp.registry.view().workloads == ()
    assert link.vip_of("default", "a") == link.vip_of("default", "a")


def test_service_backends_are_kubernetes_vips_with_their_ready_endpoints() -> None:
    link = _link()
    from sailmesh.app.backend import MeshApi

    MeshApi(link.cp).apply_yaml(
        "apiVersion: v1\nkind: Service\nmetadata: {name: fast, namespace: legacy}\n"
        "spec:\n  clusterIP: 10.96.3.3\n  selector: {app: fast}\n"
        "  ports: [{name: http, port: 80, targetPort: 8080}]\n",
        "svc.yaml",
        "legacy",
    )
    link.cp.registry_sync.sync(link.cp.store.list(kind="Service"))
    (empty,) = link.service_backends()
    assert (empty.vip, empty.port, empty.endpoints, empty.name) == (
        "10.96.3.3",
        80,
        (),
        "legacy/fast:80",
    )
    link.publish(
        Workload(
            name="fast-0",
            namespace="legacy",
            address="10.244.0.7",
            labels=frozen_map({"app": "fast"}),
        ),
        "legacy",
        "fast-0",
    )
    (served,) = link.service_backends()
    assert served.endpoints == (("10.244.0.7", 8080),)
