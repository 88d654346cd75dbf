"""From Kubernetes-shaped manifests to the pods the local runtime runs.

In: Namespace, Deployment and Pod resources, and the mesh's default proxy config (handed in:
the runtime does not read mesh-wide Istio config itself). Out: :class:`PodPlan` values: one per replica,
with labels, service account, containers (command, args, env, ports, working directory), the
sidecar's proxy settings (xDS protocol, workload certificate lifetime), and whether it gets a
sidecar (Istio's injection rules) or is a gateway (the ``gateway`` injection template: a
standalone Envoy instead of app containers). A container's command line is its ``command`` and
``args``, or, for the sample images sailmesh stands in for (Istio's httpbin, fortio,
helloworld, tcp-echo, curl), the stand-in's (:mod:`sailmesh.samples.images`); a container with
neither has an empty ``argv`` and cannot start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from sailmesh.config.proxyconfig import (
    DEFAULT_SECRET_TTL,
    delta_xds,
    pod_proxy_config,
    proxy_metadata,
    secret_ttl,
)
from sailmesh.config.resource import Resource
from sailmesh.samples.images import container_argv

INJECT_LABEL = "sidecar.istio.io/inject"
NAMESPACE_INJECTION = "istio-injection"
TEMPLATES_ANNOTATION = "inject.istio.io/templates"
RestartPolicy = Literal["Always", "OnFailure", "Never"]


@dataclass(frozen=True)
class ContainerPlan:
    name: str
    argv: tuple[str, ...]  # empty: no command, and no stand-in for the image
    env: tuple[tuple[str, str], ...]
    working_dir: str | None
    ports: tuple[tuple[str, int], ...]  # (name, containerPort); name may be ""
    image: str | None = None


@dataclass(frozen=True)
class PodPlan:
    """One pod to run. ``key`` identifies it across reconciles."""

    name: str
    namespace: str
    owner: str  # "Deployment/<name>" or "Pod/<name>"
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    service_account: str
    containers: tuple[ContainerPlan, ...]
    inject: bool
    gateway: bool
    restart_policy: RestartPolicy
    template_hash: str
    #: The sidecar speaks delta xDS (see :mod:`sailmesh.config.proxyconfig`).
    delta_xds: bool = True
    #: Lifetime in seconds of the workload certificate its node agent asks for (``SECRET_TTL``).
    secret_ttl: float = DEFAULT_SECRET_TTL

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def named_ports(self) -> dict[str, int]:
        return {n: p for c in self.containers for n, p in c.ports if n}


def injection_enabled(
    namespace_labels: Mapping[str, str],
    pod_labels: Mapping[str, str],
    pod_annotations: Mapping[str, str],
) -> bool:
    """Istio's rules: the pod's ``sidecar.istio.io/inject`` label (or legacy annotation) wins;
    otherwise the namespace label ``istio-injection=enabled`` decides."""
    for source in (pod_labels, pod_annotations):
        value = source.get(INJECT_LABEL)
        if value is not None:
            return value.lower() == "true"
    return namespace_labels.get(NAMESPACE_INJECTION) == "enabled"


def plan_pods(
    resources: Iterable[Resource], mesh_proxy: Mapping[str, Any] | None = None
) -> list[PodPlan]:
    """Every pod the given manifests ask for; ``mesh_proxy`` is the mesh's ``defaultConfig``
    (:func:`sailmesh.config.proxyconfig.default_proxy_config`), which pods' annotations
    override."""
    items = list(resources)
    ns_labels = {r.name: dict(r.labels) for r in items if r.kind == "Namespace"}
    mesh_proxy = mesh_proxy or {}
    plans: list[PodPlan] = []
    for r in items:
        if r.kind == "Deployment":
            plans += _deployment_pods(r, ns_labels.get(r.namespace, {}))
        elif r.kind == "Pod":
            plans.append(
                _pod(
                    r,
                    r.spec,
                    r.name,
                    f"Pod/{r.name}",
                    dict(r.labels),
                    dict(r.annotations),
                    ns_labels.get(r.namespace, {}),
                )
            )
    return sorted((_with_proxy_config(p, mesh_proxy) for p in plans), key=lambda p: p.key)


def _with_proxy_config(plan: PodPlan, mesh_proxy: Mapping[str, Any]) -> PodPlan:
    where = f"pod {plan.namespace}/{plan.name}"
    own = pod_proxy_config(dict(plan.annotations), where)
    metadata = proxy_metadata(mesh_proxy, own)
    return replace(plan, delta_xds=delta_xds(metadata), secret_ttl=secret_ttl(metadata, where))


def _deployment_pods(r: Resource, ns_labels: dict[str, str]) -> list[PodPlan]:
    spec: Any = r.spec
    template = spec.template
    if template is None or template.spec is None:
        return []
    labels = dict(template.metadata.labels)
    annotations = dict(template.metadata.annotations)
    replicas = 1 if spec.replicas is None else spec.replicas
    digest = hashlib.sha256(template.model_dump_json().encode()).hexdigest()[:8]
    return [
        _pod(
            r,
            template.spec,
            f"{r.name}-{digest[:5]}-{i}",
            f"Deployment/{r.name}",
            labels,
            annotations,
            ns_labels,
            digest,
        )
        for i in range(replicas)
    ]


def _pod(
    r: Resource,
    pod_spec: Any,
    name: str,
    owner: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    ns_labels: dict[str, str],
    digest: str = "",
) -> PodPlan:
    gateway = annotations.get(TEMPLATES_ANNOTATION) == "gateway"
    containers = tuple(
        ContainerPlan(
            name=c.name or f"container-{i}",
            argv=container_argv(c.image, c.command or [], c.args or []) or (),
            env=tuple((e.name, e.value or "") for e in (c.env or []) if e.name),
            working_dir=c.working_dir,
            ports=tuple(
                (p.name or "", p.container_port) for p in (c.ports or []) if p.container_port
            ),
            image=c.image,
        )
        for i, c in enumerate(pod_spec.containers or [])
    )
    return PodPlan(
        name=name,
        namespace=r.namespace,
        owner=owner,
        labels=tuple(sorted(labels.items())),
        annotations=tuple(sorted(annotations.items())),
        service_account=pod_spec.service_account_name or pod_spec.service_account or "default",
        containers=containers,
        inject=gateway or injection_enabled(ns_labels, labels, annotations),
        gateway=gateway,
        restart_policy=pod_spec.restart_policy or "Always",
        template_hash=digest or hashlib.sha256(r.body.model_dump_json().encode()).hexdigest()[:8],
    )
