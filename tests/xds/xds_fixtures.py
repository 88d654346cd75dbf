"""Snapshots for xds tests: bookinfo services and workloads, plus Istio config as YAML text."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from sailmesh.config.load import load_paths, load_text
from sailmesh.config.resource import Resource
from sailmesh.registry.convert import kubernetes_service
from sailmesh.registry.model import Service, ServicePort, Workload, frozen_map
from sailmesh.registry.registry import compute_view
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "bookinfo"
NETWORKING = SAMPLES / "networking"

VIPS = {
    "details": "10.96.0.11",
    "ratings": "10.96.0.12",
    "reviews": "10.96.0.13",
    "productpage": "10.96.0.14",
}
WORKLOADS = [
    ("details-v1", "details", "v1", "10.244.0.11"),
    ("ratings-v1", "ratings", "v1", "10.244.0.12"),
    ("reviews-v1", "reviews", "v1", "10.244.0.21"),
    ("reviews-v2", "reviews", "v2", "10.244.0.22"),
    ("reviews-v3", "reviews", "v3", "10.244.0.23"),
    ("productpage-v1", "productpage", "v1", "10.244.0.14"),
]


def bookinfo_services() -> list[Service]:
    result = load_paths([str(SAMPLES / "platform" / "bookinfo.yaml")])
    return [
        kubernetes_service(r, VIPS.get(r.name)) for r in result.resources if r.kind == "Service"
    ]


def bookinfo_workloads() -> list[Workload]:
    return [
        Workload(
            name=name,
            namespace="default",
            address=ip,
            labels=frozen_map({"app": app, "version": version}),
            service_account=f"bookinfo-{app}",
        )
        for name, app, version, ip in WORKLOADS
    ]


def config(*texts: str, files: tuple[str, ...] = ()) -> list[Resource]:
    """Resources from YAML texts and bookinfo networking sample files (must load cleanly)."""
    out: list[Resource] = []
    for name in files:
        loaded = load_paths([str(NETWORKING / name)])
        assert loaded.ok, loaded.problems
        out += loaded.resources
    for text in texts:
        loaded = load_text(text)
        assert loaded.ok, loaded.problems
        out += loaded.resources
    return out


def snapshot(
    resources: list[Resource],
    extra_services: list[Service] | None = None,
    extra_workloads: list[Workload] | None = None,
    mesh: MeshConfig | None = None,
) -> MeshSnapshot:
    view = compute_view(
        [*bookinfo_services(), *(extra_services or [])],
        [*bookinfo_workloads(), *(extra_workloads or [])],
    )
    return MeshSnapshot.build(resources, view, mesh)


def productpage_proxy(**changes: object) -> Proxy:
    values: dict[str, object] = {
        "type": "sidecar",
        "ip": "10.244.0.14",
        "pod_name": "productpage-v1",
        "namespace": "default",
        "labels": frozen_map({"app": "productpage", "version": "v1"}),
        "service_account": "bookinfo-productpage",
    }
    values.update(changes)
    return Proxy(**values)  # type: ignore[arg-type]


def service(
    name: str,
    port: int,
    protocol: str = "HTTP",
    vip: str | None = None,
    namespace: str = "default",
    selector: bool = True,
) -> Service:
    """Kubernetes-style service ``name`` with one port named after its protocol, selecting
    ``app: <name>`` (unless ``selector`` is false)."""
    return Service(
        hostname=f"{name}.{namespace}.svc.cluster.local",
        namespace=namespace,
        ports=(ServicePort(protocol.lower(), port, protocol),),  # type: ignore[arg-type]
        vip=vip,
        name=name,
        selector=frozen_map({"app": name}) if selector else None,
    )


def tcp_service(name: str, port: int, vip: str | None = None) -> Service:
    return service(name, port, "TCP", vip)


API_VERSIONS = {
    "VirtualService": "networking.istio.io/v1",
    "DestinationRule": "networking.istio.io/v1",
    "Gateway": "networking.istio.io/v1",
    "Sidecar": "networking.istio.io/v1",
    "ServiceEntry": "networking.istio.io/v1",
}


def resource(kind: str, spec: str, name: str = "r", namespace: str = "default") -> Resource:
    """One object of ``kind`` from the YAML of its ``spec`` (must load cleanly)."""
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    (found,) = config(
        f"apiVersion: {API_VERSIONS[kind]}\nkind: {kind}\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{body}\n"
    )
    return found


def http_routes(http: str, namespace: str = "default") -> list[Any]:
    """The ``http`` routes of a VirtualService for host ``r`` from the YAML of its list."""
    return list(
        resource("VirtualService", f"hosts: [r]\nhttp:\n{http}", namespace=namespace).spec.http
    )


def as_dict(message: Any) -> dict[str, Any]:
    """A protobuf message as JSON-shaped data (camelCase names), for whole-message asserts."""
    return dict(json_format.MessageToDict(message))
