"""Pod and Deployment validation: what the Kubernetes API server checks in pod specs
(containers, ports, env, volumes, service accounts) and in Deployments (selector vs template
labels, replicas, strategy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.kubernetes.workloads import (
    Container,
    DeploymentBody,
    DeploymentSpec,
    LabelSelector,
    PodBody,
    PodSpec,
    PodTemplateSpec,
)
from sailmesh.config.resource import Resource
from sailmesh.config.validation.kubernetes.names import (
    DNS1123_SUBDOMAIN,
    check_labels,
    check_meta,
    dns_label_problem,
    env_name_problem,
    iana_svc_name_problem,
    label_key_problem,
)


def validate_pod(resource: Resource, report: Report) -> None:
    body = cast(PodBody, resource.body)
    check_meta(report, resource)
    check_pod_spec(report, "spec", body.spec)


def validate_deployment(resource: Resource, report: Report) -> None:
    body = cast(DeploymentBody, resource.body)
    spec = body.spec
    check_meta(report, resource)
    _check_counts(report, spec)
    _check_strategy(report, spec)
    _check_selector(report, spec)
    if spec.template is None:
        report.error(
            "spec.template",
            "required field is missing: the pod template (metadata.labels and spec.containers)",
        )
        return
    _check_template(report, spec, spec.template)


def _check_counts(report: Report, spec: DeploymentSpec) -> None:
    """Replica and timing counts: never negative; the progress deadline after minReady."""
    for field, value in (
        ("replicas", spec.replicas),
        ("minReadySeconds", spec.min_ready_seconds),
        ("revisionHistoryLimit", spec.revision_history_limit),
    ):
        if value is not None and value < 0:
            report.error(f"spec.{field}", f"must be greater than or equal to 0 (got {value})")
    deadline = spec.progress_deadline_seconds
    if deadline is not None and deadline <= (spec.min_ready_seconds or 0):
        report.error("spec.progressDeadlineSeconds", "must be greater than minReadySeconds")


def _check_strategy(report: Report, spec: DeploymentSpec) -> None:
    strategy = spec.strategy
    if strategy is not None and strategy.type == "Recreate" and strategy.rolling_update is not None:
        report.error(
            "spec.strategy.rollingUpdate",
            "may not be set when strategy type is 'Recreate'; remove it or use type: RollingUpdate",
        )


def _check_selector(report: Report, spec: DeploymentSpec) -> None:
    if spec.selector is None:
        report.error(
            "spec.selector",
            "required field is missing: apps/v1 Deployments need "
            "spec.selector.matchLabels, matching spec.template.metadata.labels (e.g. "
            "app: my-app)",
        )
    else:
        check_label_selector(report, "spec.selector", spec.selector)


def _check_template(report: Report, spec: DeploymentSpec, template: PodTemplateSpec) -> None:
    """The pod template: labels matching the selector, restart policy, the pod spec."""
    labels = template.metadata.labels
    check_labels(report, "spec.template.metadata.labels", labels)
    if spec.selector is not None and not selector_matches(spec.selector, labels):
        report.error(
            "spec.template.metadata.labels",
            "`selector` does not match template "
            f"`labels`: add {_wanted(spec.selector, labels)} to the template labels "
            "(or fix spec.selector)",
        )
    pod = template.spec
    if pod.restart_policy not in (None, "Always"):
        report.error(
            "spec.template.spec.restartPolicy",
            f"unsupported value {pod.restart_policy!r}: Deployments only support 'Always'",
        )
    check_pod_spec(report, "spec.template.spec", pod)


def check_label_selector(report: Report, path: str, selector: LabelSelector) -> None:
    if not selector.match_labels and not selector.match_expressions:
        report.error(
            path, "empty selector is invalid for a Deployment: set matchLabels, e.g. app: my-app"
        )
    check_labels(report, join_path(path, "matchLabels"), selector.match_labels)
    for i, req in enumerate(selector.match_expressions or ()):
        at = f"{path}.matchExpressions[{i}]"
        if not req.key:
            report.error(join_path(at, "key"), "required field is missing")
        elif problem := label_key_problem(req.key):
            report.error(join_path(at, "key"), problem)
        if req.operator is None:
            report.error(
                join_path(at, "operator"),
                "required field is missing: In, NotIn, Exists or DoesNotExist",
            )
        elif req.operator in ("In", "NotIn") and not req.values:
            report.error(
                join_path(at, "values"), f"operator {req.operator} needs at least one value"
            )
        elif req.operator in ("Exists", "DoesNotExist") and req.values:
            report.error(
                join_path(at, "values"), f"operator {req.operator} takes no values; remove them"
            )


def selector_matches(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects ``labels``."""
    if any(labels.get(k) != v for k, v in (selector.match_labels or {}).items()):
        return False
    for req in selector.match_expressions or ():
        key, values = req.key or "", req.values or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(req.operator or "", True)
        if not ok:
            return False
    return True


def _wanted(selector: LabelSelector, labels: Mapping[str, str]) -> str:
    missing = [f"{k}: {v}" for k, v in (selector.match_labels or {}).items() if labels.get(k) != v]
    return ", ".join(missing) if missing else "labels satisfying spec.selector.matchExpressions"


def check_pod_spec(report: Report, path: str, spec: PodSpec) -> None:
    if not spec.containers:
        report.error(
            join_path(path, "containers"),
            "required field is missing: at least one container (name, image, command, ports...)",
        )
    names: set[str] = set()
    volumes = _check_volumes(report, path, spec)
    for field, containers in (
        ("initContainers", spec.init_containers),
        ("containers", spec.containers),
    ):
        for i, container in enumerate(containers or ()):
            at = f"{path}.{field}[{i}]"
            _check_container(report, at, container, volumes, field == "initContainers")
            if container.name in names:
                report.error(
                    join_path(at, "name"),
                    f"duplicate container name "
                    f"{container.name!r}; names must be unique within the pod",
                )
            elif container.name:
                names.add(container.name)
    _check_service_account(report, path, spec)


def _check_service_account(report: Report, path: str, spec: PodSpec) -> None:
    if spec.service_account is not None:
        report.warn(
            join_path(path, "serviceAccount"),
            "`serviceAccount` is deprecated; use `serviceAccountName`",
        )
        if spec.service_account_name and spec.service_account_name != spec.service_account:
            report.warn(
                join_path(path, "serviceAccount"),
                f"differs from serviceAccountName {spec.service_account_name!r}, which wins",
            )
    for field, name in (
        ("serviceAccountName", spec.service_account_name),
        ("serviceAccount", spec.service_account),
    ):
        if name and (len(name) > 253 or not DNS1123_SUBDOMAIN.match(name)):
            report.error(
                join_path(path, field),
                f"invalid service account name {name!r}: must "
                "be a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.')",
            )


def _check_volumes(report: Report, path: str, spec: PodSpec) -> set[str]:
    names: set[str] = set()
    for i, volume in enumerate(spec.volumes or ()):
        name = volume.get("name")
        at = f"{path}.volumes[{i}].name"
        if not isinstance(name, str) or not name:
            report.error(at, "required field is missing: the volume name used by volumeMounts")
        elif name in names:
            report.error(at, f"duplicate volume name {name!r}")
        else:
            if problem := dns_label_problem(name, "volume name"):
                report.error(at, problem)
            names.add(name)
    return names


def _check_container(
    report: Report, path: str, container: Container, volumes: set[str], init: bool
) -> None:
    if not container.name:
        report.error(
            join_path(path, "name"), "required field is missing: a container name such as 'app'"
        )
    elif problem := dns_label_problem(container.name, "container name"):
        report.error(join_path(path, "name"), problem)
    if not container.image:
        report.warn(
            join_path(path, "image"),
            "Kubernetes requires `image`; sailmesh runs "
            "`command`/`args` locally and ignores the image, but kubectl would reject "
            "this manifest",
        )
    if container.restart_policy is not None and (not init or container.restart_policy != "Always"):
        report.error(
            join_path(path, "restartPolicy"),
            "only init containers may set "
            "restartPolicy, and only to 'Always' (a sidecar container)",
        )
    port_names: set[str] = set()
    for i, port in enumerate(container.ports or ()):
        at = f"{path}.ports[{i}]"
        if port.container_port is None:
            report.error(join_path(at, "containerPort"), "required field is missing")
        elif not 1 <= port.container_port <= 65535:
            report.error(
                join_path(at, "containerPort"),
                f"invalid port {port.container_port}: must be between 1 and 65535",
            )
        if port.host_port is not None and not 1 <= port.host_port <= 65535:
            report.error(join_path(at, "hostPort"), "must be between 1 and 65535")
        if port.name:
            if problem := iana_svc_name_problem(port.name):
                report.error(join_path(at, "name"), problem)
            elif port.name in port_names:
                report.error(join_path(at, "name"), f"duplicate port name {port.name!r}")
            port_names.add(port.name)
    _check_env(report, path, container)
    for i, mount in enumerate(container.volume_mounts or ()):
        name = mount.get("name")
        if not isinstance(name, str) or not name:
            report.error(f"{path}.volumeMounts[{i}].name", "required field is missing")
        elif name not in volumes:
            report.error(
                f"{path}.volumeMounts[{i}].name",
                f"volume {name!r} is not defined; add it to the pod's `volumes`",
            )
        if not mount.get("mountPath"):
            report.error(f"{path}.volumeMounts[{i}].mountPath", "required field is missing")


def _check_env(report: Report, path: str, container: Container) -> None:
    seen: set[str] = set()
    for i, var in enumerate(container.env or ()):
        at = f"{path}.env[{i}]"
        if problem := env_name_problem(var.name or ""):
            report.error(join_path(at, "name"), problem)
        elif var.name in seen:
            report.warn(
                join_path(at, "name"),
                f"environment variable {var.name!r} is defined twice; the later definition wins",
            )
        seen.add(var.name or "")
        if var.value and var.value_from is not None:
            report.error(
                join_path(at, "valueFrom"),
                "may not be specified when `value` is not empty; keep one of them",
            )


__all__ = [
    "check_label_selector",
    "check_pod_spec",
    "selector_matches",
    "validate_deployment",
    "validate_pod",
]
