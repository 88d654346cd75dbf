"""Gateway and Sidecar: the listeners of gateway proxies and the scope of sidecar proxies."""

from __future__ import annotations

from typing import Literal

from sailmesh.config.models.base import Model, StrMap
from sailmesh.config.models.networking_common import (
    ConnectionPoolSettings,
    Destination,
    Port,
    ServerTLSSettings,
    WorkloadSelector,
)


class Server(Model):
    """A listener of a gateway: ``port`` and ``hosts`` (``[namespace/]host``) are required."""

    port: Port | None = None
    bind: str | None = None
    hosts: list[str] = []
    tls: ServerTLSSettings | None = None
    default_endpoint: str | None = None
    name: str | None = None


class GatewaySpec(Model):
    """``spec`` of a Gateway: the servers, on the gateway pods selected by ``selector``."""

    servers: list[Server] = []
    selector: StrMap = {}


CaptureMode = Literal["DEFAULT", "IPTABLES", "NONE"]


class IstioIngressListener(Model):
    """An inbound listener of a sidecar (``port`` required)."""

    port: Port | None = None
    bind: str | None = None
    capture_mode: CaptureMode = "DEFAULT"
    default_endpoint: str | None = None
    tls: ServerTLSSettings | None = None
    connection_pool: ConnectionPoolSettings | None = None


class IstioEgressListener(Model):
    """An outbound listener of a sidecar: the ``hosts`` (``namespace/host``) it can reach."""

    port: Port | None = None
    bind: str | None = None
    capture_mode: CaptureMode = "DEFAULT"
    hosts: list[str] = []


class OutboundTrafficPolicy(Model):
    """What to do with traffic to unknown destinations (mesh default: ALLOW_ANY)."""

    mode: Literal["REGISTRY_ONLY", "ALLOW_ANY"] | None = None
    egress_proxy: Destination | None = None


class SidecarSpec(Model):
    """``spec`` of a Sidecar."""

    workload_selector: WorkloadSelector | None = None
    ingress: list[IstioIngressListener] = []
    egress: list[IstioEgressListener] = []
    inbound_connection_pool: ConnectionPoolSettings | None = None
    outbound_traffic_policy: OutboundTrafficPolicy | None = None


__all__ = [
    "CaptureMode",
    "GatewaySpec",
    "IstioEgressListener",
    "IstioIngressListener",
    "OutboundTrafficPolicy",
    "Server",
    "SidecarSpec",
]
