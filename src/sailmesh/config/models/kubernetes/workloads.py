"""Kubernetes workload shapes: PodSpec, Container, Deployment (``apps/v1``), Pod (``v1``).

The local runtime reads labels, service accounts, containers (command, args, env, ports,
working directory) and replicas; analyzers read ports and labels. Sub-objects the mesh does not
interpret (probes, resources, volumes, affinity, security contexts...) are kept as free-form
mappings, but the set of field names is Kubernetes' own, so a misspelt field is reported as
kubectl would report it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from sailmesh.config.models.base import Model
from sailmesh.config.models.meta import ObjectMeta

Protocol = Literal["TCP", "UDP", "SCTP"]
PullPolicy = Literal["Always", "IfNotPresent", "Never"]
AnyMap = dict[str, Any]


class ContainerPort(Model):
    name: str | None = None
    container_port: int | None = None
    protocol: Protocol = "TCP"
    host_port: int | None = None
    host_ip: str | None = Field(default=None, alias="hostIP")


class EnvVar(Model):
    """``env[]``: a literal ``value`` or a ``valueFrom`` reference (secret, configmap, field...)."""

    name: str | None = None
    value: str | None = None
    value_from: AnyMap | None = None


class Container(Model):
    name: str | None = None
    image: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    working_dir: str | None = None
    ports: list[ContainerPort] | None = None
    env_from: list[AnyMap] | None = None
    env: list[EnvVar] | None = None
    resources: AnyMap | None = None
    resize_policy: list[AnyMap] | None = None
    restart_policy: str | None = None
    restart_policy_rules: list[AnyMap] | None = None
    volume_mounts: list[AnyMap] | None = None
    volume_devices: list[AnyMap] | None = None
    liveness_probe: AnyMap | None = None
    readiness_probe: AnyMap | None = None
    startup_probe: AnyMap | None = None
    lifecycle: AnyMap | None = None
    termination_message_path: str | None = None
    termination_message_policy: Literal["File", "FallbackToLogsOnError"] | None = None
    image_pull_policy: PullPolicy | None = None
    security_context: AnyMap | None = None
    stdin: bool | None = None
    stdin_once: bool | None = None
    tty: bool | None = None


class LocalObjectReference(Model):
    name: str | None = None


class PodSpec(Model):
    """``spec`` of a Pod and ``spec.template.spec`` of a Deployment."""

    containers: list[Container] | None = None
    init_containers: list[Container] | None = None
    ephemeral_containers: list[AnyMap] | None = None
    service_account_name: str | None = None
    service_account: str | None = None
    automount_service_account_token: bool | None = None
    volumes: list[AnyMap] | None = None
    restart_policy: Literal["Always", "OnFailure", "Never"] | None = None
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None
    dns_policy: str | None = None
    dns_config: AnyMap | None = None
    node_selector: dict[str, str] | None = None
    node_name: str | None = None
    host_network: bool | None = None
    host_pid: bool | None = Field(default=None, alias="hostPID")
    host_ipc: bool | None = Field(default=None, alias="hostIPC")
    host_users: bool | None = None
    share_process_namespace: bool | None = None
    security_context: AnyMap | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None
    hostname: str | None = None
    hostname_override: str | None = None
    subdomain: str | None = None
    set_hostname_as_fqdn: bool | None = Field(default=None, alias="setHostnameAsFQDN")
    affinity: AnyMap | None = None
    scheduler_name: str | None = None
    tolerations: list[AnyMap] | None = None
    host_aliases: list[AnyMap] | None = None
    priority_class_name: str | None = None
    priority: int | None = None
    preemption_policy: str | None = None
    readiness_gates: list[AnyMap] | None = None
    runtime_class_name: str | None = None
    enable_service_links: bool | None = None
    overhead: AnyMap | None = None
    topology_spread_constraints: list[AnyMap] | None = None
    os: AnyMap | None = None
    scheduling_gates: list[AnyMap] | None = None
    resource_claims: list[AnyMap] | None = None
    resources: AnyMap | None = None


class LabelSelectorRequirement(Model):
    key: str | None = None
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] | None = None
    values: list[str] | None = None


class LabelSelector(Model):
    match_labels: dict[str, str] | None = None
    match_expressions: list[LabelSelectorRequirement] | None = None


class PodTemplateSpec(Model):
    metadata: ObjectMeta = ObjectMeta()
    spec: PodSpec = PodSpec()


class DeploymentStrategy(Model):
    type: Literal["Recreate", "RollingUpdate"] | None = None
    rolling_update: AnyMap | None = None


class DeploymentSpec(Model):
    replicas: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec | None = None
    strategy: DeploymentStrategy | None = None
    min_ready_seconds: int | None = None
    revision_history_limit: int | None = None
    paused: bool | None = None
    progress_deadline_seconds: int | None = None

    @property
    def effective_replicas(self) -> int:
        """Replicas as Kubernetes defaults them (1 when unset)."""
        return 1 if self.replicas is None else self.replicas


class DeploymentBody(Model):
    spec: DeploymentSpec = DeploymentSpec()
    status: AnyMap | None = None


class PodBody(Model):
    spec: PodSpec = PodSpec()
    status: AnyMap | None = None


__all__ = [
    "Container",
    "ContainerPort",
    "DeploymentBody",
    "DeploymentSpec",
    "DeploymentStrategy",
    "EnvVar",
    "LabelSelector",
    "LabelSelectorRequirement",
    "LocalObjectReference",
    "PodBody",
    "PodSpec",
    "PodTemplateSpec",
    "Protocol",
    "PullPolicy",
]
