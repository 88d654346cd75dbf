"""A small mesh for mutual TLS translation tests: bookinfo with sidecars on some workloads
(``security.istio.io/tlsMode: istio``), an ``api`` workload with HTTP, TCP and sniffed ports,
external services, and proxies with a workload identity over SDS."""

from __future__ import annotations

from typing import Any

import xds_fixtures as fx
from google.protobuf import json_format

from config_support.manifests import manifests
from sailmesh.config.load import load_text
from sailmesh.config.resource import Resource
from sailmesh.registry.convert import service_entry_inline_workloads, service_entry_services
from sailmesh.registry.model import (
    TLS_MODE_ISTIO,
    TLS_MODE_LABEL,
    Service,
    ServicePort,
    Workload,
    frozen_map,
)
from sailmesh.registry.registry import compute_view
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.options import TranslateOptions

SDS = TranslateOptions(sds=True)
#: Workloads with a sidecar (the others have none: plaintext to them under auto mTLS).
MESHED = {"details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "productpage-v1"}

API = Service(
    "api.default.svc.cluster.local",
    "default",
    (
        ServicePort("http", 80, "HTTP", 8080),
        ServicePort("grpc", 90, "GRPC", 9090),
        ServicePort("db", 5432, "TCP"),
        ServicePort("web", 9000, "AUTO"),
    ),
    vip="10.96.0.40",
    name="api",
    selector=frozen_map({"app": "api"}),
)
API_POD = Workload(
    "api-1",
    "default",
    "10.244.1.1",
    labels=frozen_map({"app": "api", TLS_MODE_LABEL: TLS_MODE_ISTIO}),
    service_account="api",
)

EXTERNAL = manifests("""
ServiceEntry external
  hosts: [api.example.com]
  ports: [{number: 443, name: https, protocol: HTTPS}, {number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
ServiceEntry vm
  hosts: [vm.internal]
  location: MESH_INTERNAL
  subjectAltNames: ["spiffe://cluster.local/ns/vms/sa/legacy"]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
  - {address: 192.0.2.7, serviceAccount: vm-sa, labels: {security.istio.io/tlsMode: istio}}
  - {address: 192.0.2.8}
""")


def workloads() -> list[Workload]:
    out = []
    for w in fx.bookinfo_workloads():
        if w.name in MESHED:
            labels = frozen_map({**w.labels, TLS_MODE_LABEL: TLS_MODE_ISTIO})
            w = Workload(w.name, w.namespace, w.address, labels, w.service_account)
        out.append(w)
    return out


def load(text: str) -> list[Resource]:
    result = load_text(text, "test.yaml")
    assert result.ok, result.problems
    return result.resources


def snapshot(text: str = "", mesh: MeshConfig | None = None) -> MeshSnapshot:
    """The world with the objects of ``text`` (manifests syntax) and the external services."""
    resources = load(manifests(text)) if text else []
    entries = load(EXTERNAL)
    services = [*fx.bookinfo_services(), API]
    services += [s for e in entries for s in service_entry_services(e)]
    pods = [*workloads(), API_POD]
    pods += [w for e in entries for w in service_entry_inline_workloads(e)]
    return MeshSnapshot.build([*resources, *entries], compute_view(services, pods), mesh)


def api_proxy(**labels: str) -> Proxy:
    return fx.productpage_proxy(
        ip=API_POD.address,
        pod_name="api-1",
        labels=frozen_map({**API_POD.labels, **labels}),
        service_account="api",
    )


def as_dict(message: Any) -> dict[str, Any]:
    found: dict[str, Any] = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return found
