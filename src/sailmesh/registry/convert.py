"""Turning config objects (Kubernetes Service, ServiceEntry, WorkloadEntry) into registry values.

A Service's or ServiceEntry's exportTo (the ``networking.istio.io/exportTo`` annotation of a
Kubernetes Service) stays empty when not set: the snapshot then applies the mesh's
``defaultServiceExportTo``."""

from __future__ import annotations

import ipaddress
from typing import Any

from sailmesh.config.resource import Resource
from sailmesh.registry.locality import locality_from_labels
from sailmesh.registry.model import (
    Endpoint,
    FrozenMap,
    Resolution,
    Service,
    ServicePort,
    Workload,
    frozen_map,
)
from sailmesh.registry.protocol import infer_protocol, parse_protocol

DOMAIN = "cluster.local"
#: Istio's annotation giving a Kubernetes Service its exportTo (comma-separated namespaces).
EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo"


def service_fqdn(name: str, namespace: str, domain: str = DOMAIN) -> str:
    return f"{name}.{namespace}.svc.{domain}"


def kubernetes_service(resource: Resource, vip: str | None) -> Service:
    spec: Any = resource.body.spec  # type: ignore[attr-defined]
    ports = tuple(
        ServicePort(
            name=p.name or "",
            port=p.port,
            protocol=infer_protocol(p.name, p.app_protocol, p.protocol),
            target_port=p.target_port,
        )
        for p in (spec.ports or [])
    )
    selector = frozen_map(spec.selector) if spec.selector else None
    annotation = resource.annotations.get(EXPORT_TO_ANNOTATION, "")
    return Service(
        hostname=service_fqdn(resource.name, resource.namespace),
        namespace=resource.namespace,
        ports=ports,
        vip=vip,
        name=resource.name,
        labels=frozen_map(resource.labels),
        selector=selector,
        origin="kubernetes",
        export_to=tuple(e.strip() for e in annotation.split(",") if e.strip()),
    )


def _single_ip(addresses: list[str] | None) -> str | None:
    for a in addresses or []:
        try:
            net = ipaddress.ip_network(a, strict=False)
        except ValueError:
            continue
        if net.num_addresses == 1:
            return str(net.network_address)
    return None


def _ranges(addresses: list[str] | None, vip: str | None) -> tuple[str, ...]:
    """The addresses besides the virtual IP, as normalized ranges (host bits cleared; a single
    address becomes a /32 or /128): Istio gives each address of a ServiceEntry its own
    listener, so traffic to any of them reaches the service."""
    out: list[str] = []
    for a in addresses or []:
        try:
            net = ipaddress.ip_network(a, strict=False)
        except ValueError:
            continue
        if net.num_addresses == 1 and str(net.network_address) == vip:
            continue
        if str(net) not in out:
            out.append(str(net))
    return tuple(out)


def service_entry_services(resource: Resource) -> list[Service]:
    spec: Any = resource.spec
    ports = tuple(
        ServicePort(
            name=p.name or f"port-{p.number}",
            port=p.number,
            protocol=parse_protocol(p.protocol) or "TCP",
            target_port=p.target_port,
        )
        for p in (spec.ports or [])
    )
    resolution: Resolution = spec.resolution or "NONE"
    selector = frozen_map(spec.workload_selector.labels) if spec.workload_selector else None
    vip = _single_ip(spec.addresses)
    return [
        Service(
            hostname=host,
            namespace=resource.namespace,
            ports=ports,
            vip=vip,
            cidrs=_ranges(spec.addresses, vip),
            name=resource.name,
            labels=frozen_map(resource.labels),
            selector=selector,
            resolution=resolution,
            mesh_external=(spec.location or "MESH_EXTERNAL") == "MESH_EXTERNAL",
            export_to=tuple(spec.export_to or ()),
            origin=f"serviceentry/{resource.namespace}/{resource.name}",
            subject_alt_names=tuple(spec.subject_alt_names or ()),
        )
        for host in (spec.hosts or [])
    ]


def workload_entry(resource: Resource) -> Workload:
    spec: Any = resource.spec
    return _entry_workload(spec, resource.name, resource.namespace, "workloadentry")


def _entry_workload(
    spec: Any, name: str, namespace: str, origin: str, service_entry: str = ""
) -> Workload:
    return Workload(
        name=name,
        namespace=namespace,
        address=spec.address or "",
        labels=frozen_map(spec.labels),
        service_account=spec.service_account or "",
        ports=FrozenMap(spec.ports or {}),
        locality=locality_from_labels(spec.labels or {}, spec.locality or ""),
        weight=spec.weight or 1,
        network=spec.network or "",
        origin=origin,
        service_entry=service_entry,
    )


def service_entry_inline_workloads(resource: Resource) -> list[Workload]:
    spec: Any = resource.spec
    return [
        _entry_workload(
            ep,
            f"{resource.name}-{i}",
            resource.namespace,
            "serviceentry",
            f"serviceentry/{resource.namespace}/{resource.name}",
        )
        for i, ep in enumerate(spec.endpoints or [])
    ]


def endpoint_for(service: Service, port: ServicePort, workload: Workload) -> Endpoint | None:
    """The endpoint ``workload`` provides for ``port`` of ``service`` (None if it cannot serve it)."""
    target: int
    if workload.origin in ("workloadentry", "serviceentry") and port.name in workload.ports:
        target = workload.ports[port.name]
    elif isinstance(port.target_port, int) and port.target_port:
        target = port.target_port
    elif isinstance(port.target_port, str) and port.target_port:
        named = workload.ports.get(port.target_port)
        if named is None:
            return None
        target = int(named)
    else:
        target = port.port
    target = workload.port_map.get(target, target)
    return Endpoint(
        hostname=service.hostname,
        service_port=port,
        address=workload.address,
        port=target,
        labels=workload.labels,
        service_account=workload.identity,
        locality=workload.locality,
        weight=workload.weight,
        healthy=workload.healthy,
        workload=workload.name,
        namespace=workload.namespace,
    )
