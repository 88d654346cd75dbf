"""ServiceEntry, WorkloadEntry and WorkloadGroup: services and workloads added to the registry."""

from __future__ import annotations

from typing import Literal

from sailmesh.config.models.base import Model, StrMap
from sailmesh.config.models.networking_common import Port, WorkloadSelector


class WorkloadEntrySpec(Model):
    """A workload (VM, bare metal, or ServiceEntry endpoint): address, ports by name, labels."""

    address: str | None = None
    ports: dict[str, int] = {}
    labels: StrMap = {}
    network: str | None = None
    locality: str | None = None
    weight: int | None = None
    service_account: str | None = None


Location = Literal["MESH_EXTERNAL", "MESH_INTERNAL"]
Resolution = Literal["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"]


class ServiceEntrySpec(Model):
    """``spec`` of a ServiceEntry (defaults: location MESH_EXTERNAL, resolution NONE)."""

    hosts: list[str] = []
    addresses: list[str] = []
    ports: list[Port] = []
    location: Location = "MESH_EXTERNAL"
    resolution: Resolution = "NONE"
    endpoints: list[WorkloadEntrySpec] = []
    workload_selector: WorkloadSelector | None = None
    export_to: list[str] = []
    subject_alt_names: list[str] = []


class ObjectMetadata(Model):
    """Labels and annotations given to the WorkloadEntries of a WorkloadGroup."""

    labels: StrMap = {}
    annotations: StrMap = {}


class HTTPHeader(Model):
    """A header sent with an HTTP readiness probe."""

    name: str | None = None
    value: str | None = None


class HTTPHealthCheckConfig(Model):
    """HTTP GET probe (``port`` required; ``scheme`` HTTP or HTTPS)."""

    path: str | None = None
    port: int | None = None
    host: str | None = None
    scheme: str | None = None
    http_headers: list[HTTPHeader] = []


class TCPHealthCheckConfig(Model):
    """TCP connect probe."""

    host: str | None = None
    port: int | None = None


class ExecHealthCheckConfig(Model):
    """Command probe (exit status 0 means ready)."""

    command: list[str] = []


class GrpcHealthCheckConfig(Model):
    """gRPC health checking protocol probe."""

    port: int | None = None
    service: str | None = None


class ReadinessProbe(Model):
    """Readiness probe of WorkloadGroup members; exactly one of httpGet/tcpSocket/exec/grpc."""

    initial_delay_seconds: int | None = None
    timeout_seconds: int | None = None
    period_seconds: int | None = None
    success_threshold: int | None = None
    failure_threshold: int | None = None
    http_get: HTTPHealthCheckConfig | None = None
    tcp_socket: TCPHealthCheckConfig | None = None
    exec: ExecHealthCheckConfig | None = None
    grpc: GrpcHealthCheckConfig | None = None


class WorkloadGroupSpec(Model):
    """``spec`` of a WorkloadGroup: a template for the WorkloadEntries of auto-registered VMs."""

    metadata: ObjectMetadata | None = None
    template: WorkloadEntrySpec | None = None
    probe: ReadinessProbe | None = None


__all__ = [
    "ExecHealthCheckConfig",
    "GrpcHealthCheckConfig",
    "HTTPHeader",
    "HTTPHealthCheckConfig",
    "Location",
    "ObjectMetadata",
    "ReadinessProbe",
    "Resolution",
    "ServiceEntrySpec",
    "TCPHealthCheckConfig",
    "WorkloadEntrySpec",
    "WorkloadGroupSpec",
]
