"""Kubernetes core kinds the local runtime and analyzers read (``v1``): Namespace, ServiceAccount,
Service, Secret, ConfigMap; Pod and Deployment shapes live in ``workloads``.

Bodies hold everything except apiVersion/kind/metadata, in Kubernetes' own field names
(``clusterIP``, ``stringData``...). Unknown fields are rejected as kubectl rejects them;
``status`` is accepted and ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from sailmesh.config.models.base import Model
from sailmesh.config.models.kubernetes.workloads import (
    DeploymentBody,
    DeploymentSpec,
    LabelSelector,
    LocalObjectReference,
    PodBody,
    PodSpec,
    Protocol,
)

AnyMap = dict[str, Any]
ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]


class NamespaceSpec(Model):
    finalizers: list[str] | None = None


class NamespaceBody(Model):
    spec: NamespaceSpec = NamespaceSpec()
    status: AnyMap | None = None


class ServiceAccountBody(Model):
    secrets: list[AnyMap] | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None
    automount_service_account_token: bool | None = None


class ServicePort(Model):
    """``spec.ports[]``: ``targetPort`` is a number or the name of a container port."""

    name: str | None = None
    port: int | None = None
    target_port: int | str | None = None
    protocol: Protocol = "TCP"
    app_protocol: str | None = None
    node_port: int | None = None


class ServiceSpec(Model):
    selector: dict[str, str] | None = None
    ports: list[ServicePort] | None = None
    type: ServiceType = "ClusterIP"
    cluster_ip: str | None = Field(default=None, alias="clusterIP")
    cluster_ips: list[str] | None = Field(default=None, alias="clusterIPs")
    external_ips: list[str] | None = Field(default=None, alias="externalIPs")
    external_name: str | None = None
    external_traffic_policy: Literal["Cluster", "Local"] | None = None
    internal_traffic_policy: Literal["Cluster", "Local"] | None = None
    session_affinity: Literal["ClientIP", "None"] | None = None
    session_affinity_config: AnyMap | None = None
    load_balancer_ip: str | None = Field(default=None, alias="loadBalancerIP")
    load_balancer_source_ranges: list[str] | None = None
    load_balancer_class: str | None = None
    allocate_load_balancer_node_ports: bool | None = None
    health_check_node_port: int | None = None
    ip_families: list[Literal["IPv4", "IPv6"]] | None = None
    ip_family_policy: Literal["SingleStack", "PreferDualStack", "RequireDualStack"] | None = None
    publish_not_ready_addresses: bool | None = None
    traffic_distribution: str | None = None

    @property
    def headless(self) -> bool:
        return self.cluster_ip == "None"


class ServiceBody(Model):
    spec: ServiceSpec = ServiceSpec()
    status: AnyMap | None = None


class SecretBody(Model):
    """``data`` values are base64; ``stringData`` values are plain text and win over ``data``."""

    type: str = "Opaque"
    data: dict[str, str] | None = None
    string_data: dict[str, str] | None = None
    immutable: bool | None = None


class ConfigMapBody(Model):
    data: dict[str, str] | None = None
    binary_data: dict[str, str] | None = None
    immutable: bool | None = None


__all__ = [
    "ConfigMapBody",
    "DeploymentBody",
    "DeploymentSpec",
    "LabelSelector",
    "NamespaceBody",
    "NamespaceSpec",
    "PodBody",
    "PodSpec",
    "SecretBody",
    "ServiceAccountBody",
    "ServiceBody",
    "ServicePort",
    "ServiceSpec",
    "ServiceType",
]
