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
#: System namespaces whose Services are not the user's to rename (Istio's list).
IGNORED_NAMESPACES = frozenset(
    {"kube-system", "kube-public", "kube-node-lease", "local-path-storage"}
)
GATEWAY_MANAGED_LABEL = "gateway.istio.io/managed"
#: Controllers whose generated Services are skipped (they are not written by users).
GATEWAY_CONTROLLERS = frozenset(
    {"istio.io-gateway-controller", "istio.io-mesh-controller", "istio.io-eastwest-controller"}
)


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


def _exempt(svc: Resource) -> bool:
    """Istio's exceptions: system namespaces, the control plane (any ``istio`` label or
    ``release: istio``) and Services generated for Kubernetes Gateways."""
    if svc.namespace in IGNORED_NAMESPACES or "istio" in svc.labels:
        return True
    return (
        svc.labels.get("release") == "istio"
        or svc.labels.get(GATEWAY_MANAGED_LABEL) in GATEWAY_CONTROLLERS
    )


def _port_names(ctx: AnalysisContext) -> Iterator[Problem]:
    for svc in ctx.of_kind("Service"):
        if _exempt(svc):
            continue
        spec: Any = svc.spec
        external = spec.type == "ExternalName"
        for i, port in enumerate(spec.ports or []):
            number = port.port or 0
            name = port.name or ""
            unsupported = not port.app_protocol and (
                port_protocol(name, number, port.protocol or "TCP") is None
            )
            if not unsupported and not (external and name == "tcp"):
                continue
            if external:  # Istio's IST0150 replaces IST0118 for ExternalName Services
                yield msg.EXTERNAL_NAME_SERVICE_TYPE_INVALID_PORT_NAME.at(
                    svc, path=f"spec.ports[{i}]"
                )
                continue
            target = port.target_port if port.target_port is not None else number
            yield msg.PORT_NAME_NOT_UNDER_NAMING_CONVENTION.at(
                svc, name or '""', number, str(target), path=f"spec.ports[{i}]"
            )


PORT_NAME = Analyzer(
    "service.PortNameAnalyzer",
    "Checks the port names associated with each service",
    _port_names,
    ("IST0118", "IST0150"),
)

ANALYZERS = (PORT_NAME,)
