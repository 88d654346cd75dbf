"""Kubernetes Service port names (Istio protocol selection by ``<protocol>[-<suffix>]``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.context import AnalysisContext
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem
from sailmesh.config.resource import Resource

PROTOCOLS = frozenset(
    {"grpc", "grpc-web", "http", "http_proxy", "http2", "https", "mongo", "mysql", "redis"}
    | {"tcp", "tls", "udp"}
)
WELL_KNOWN_TCP_PORTS = frozenset({22, 3306, 27017})
IGNORED_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
CONTROL_PLANE_LABELS = frozenset({"pilot", "istiod", "ingressgateway", "egressgateway"})


def port_protocol(name: str, number: int, protocol: str = "TCP") -> str | None:
    """The protocol Istio infers for a Service port without appProtocol, or None (unsupported)."""
    if protocol == "UDP":
        return "udp"
    lowered = name.lower()
    if lowered.startswith("grpc-web"):
        return "grpc-web"
    prefix = lowered.split("-", 1)[0]
    if prefix in PROTOCOLS:
        return prefix
    return "tcp" if number in WELL_KNOWN_TCP_PORTS else None


def _control_plane(svc: Resource) -> bool:
    return svc.labels.get("istio", "") in CONTROL_PLANE_LABELS


def _port_names(ctx: AnalysisContext) -> Iterator[Problem]:
    for svc in ctx.of_kind("Service"):
        if svc.namespace in IGNORED_NAMESPACES or _control_plane(svc):
            continue
        spec: Any = svc.spec
        for i, port in enumerate(spec.ports or []):
            if port.app_protocol:
                continue
            number = port.port or 0
            if port_protocol(port.name or "", number, port.protocol or "TCP") is None:
                target = port.target_port if port.target_port is not None else number
                yield msg.PORT_NAME_NOT_UNDER_NAMING_CONVENTION.at(
                    svc, port.name or '""', number, str(target), path=f"spec.ports[{i}]"
                )


PORT_NAME = Analyzer(
    "service.PortNameAnalyzer",
    "Checks the port names associated with each service",
    _port_names,
    ("IST0118",),
)

ANALYZERS = (PORT_NAME,)
