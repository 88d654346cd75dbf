"""Deployments against their Services and the sidecar's reserved UID (Istio's deployment checks).

- IST0116: Services selecting one Deployment's pods use one port number with different
  protocols (TCP/UDP); IST0137: they map one targetPort to different ports;
- IST0144: an app container (or the pod) runs as UID 1337, the sidecar's, which the capture
  rules let bypass the proxy.

In: Deployments, Pods and Services among the inputs. Out: messages on the Deployment or Pod.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.context import AnalysisContext, selector_matches
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem
from sailmesh.config.resource import Resource

SIDECAR_UID = 1337
PROXY_CONTAINER = "istio-proxy"


def _services_of(ctx: AnalysisContext, deployment: Resource) -> list[Resource]:
    spec: Any = deployment.spec
    labels = dict(spec.template.metadata.labels or {}) if spec and spec.template else {}
    return [
        svc
        for svc in ctx.of_kind("Service")
        if svc.namespace == deployment.namespace
        and svc.spec.selector
        and selector_matches(svc.spec.selector, labels)
    ]


def _port_conflicts(ctx: AnalysisContext) -> Iterator[Problem]:
    for dep in ctx.of_kind("Deployment"):
        services = _services_of(ctx, dep)
        protocols: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        targets: dict[str, dict[int, str]] = defaultdict(dict)
        for svc in services:
            name = f"{svc.namespace}/{svc.name}"
            for port in svc.spec.ports or []:
                number = port.port or 0
                protocols[number][port.protocol or "TCP"].append(name)
                target = str(port.target_port) if port.target_port not in (None, 0, "") else ""
                targets[target or str(number)][number] = name
        for number, by_protocol in sorted(protocols.items()):
            if len(by_protocol) > 1:
                names = [n for _, group in sorted(by_protocol.items()) for n in group]
                yield msg.DEPLOYMENT_ASSOCIATED_TO_MULTIPLE_SERVICES.at(
                    dep, dep.name, number, _go_list(names), path="metadata.name"
                )
        for target, by_port in sorted(targets.items()):
            if len(by_port) > 1:
                yield msg.DEPLOYMENT_CONFLICTING_PORTS.at(
                    dep,
                    dep.name,
                    _go_list(list(by_port.values())),
                    target,
                    _go_list([str(p) for p in by_port]),
                    path="metadata.name",
                )


def _go_list(items: list[str]) -> str:
    """Go's ``%v`` of a slice: ``[a b]``."""
    return "[" + " ".join(items) + "]"


MULTI_SERVICE = Analyzer(
    "deployment.MultiServiceAnalyzer",
    "Checks association between services and pods",
    _port_conflicts,
    ("IST0116", "IST0137"),
)


def _run_as(context: Any) -> Any:
    return (context or {}).get("runAsUser")


def _uses_sidecar_uid(pod: Any) -> str | None:
    """The path (under the pod spec) of a ``runAsUser: 1337`` outside the sidecar, or None."""
    if pod is None:
        return None
    if _run_as(pod.security_context) == SIDECAR_UID:
        return "securityContext.runAsUser"
    for i, container in enumerate(pod.containers or []):
        if container.name != PROXY_CONTAINER and _run_as(container.security_context) == SIDECAR_UID:
            return f"containers[{i}].securityContext.runAsUser"
    return None


def _control_plane(r: Resource) -> bool:
    return "istio" in r.labels or r.labels.get("release") == "istio"


def _application_uid(ctx: AnalysisContext) -> Iterator[Problem]:
    for kind, prefix in (("Pod", "spec"), ("Deployment", "spec.template.spec")):
        for r in ctx.of_kind(kind):
            if _control_plane(r):
                continue
            spec: Any = r.spec
            pod = spec if kind == "Pod" else (spec.template.spec if spec.template else None)
            where = _uses_sidecar_uid(pod)
            if where is not None:
                yield msg.INVALID_APPLICATION_UID.at(r, path=f"{prefix}.{where}")


APPLICATION_UID = Analyzer(
    "applicationUID.Analyzer",
    "Checks invalid application UID",
    _application_uid,
    ("IST0144",),
)

ANALYZERS = (MULTI_SERVICE, APPLICATION_UID)
