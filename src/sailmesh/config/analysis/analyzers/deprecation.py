"""Deprecated Istio and Kubernetes fields in use (IST0002), in Istio's wording.

In: every resource. Out: one message per deprecated field set, at its path:
``HTTPRoute.fault.delay.percent is deprecated; use HTTPRoute.fault.delay.percentage`` or
``OutboundTrafficPolicy.EgressProxy ignored``. Validation also warns about these fields while
loading; :func:`sailmesh.config.analysis.run.analyze` keeps this analyzer's message only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.context import AnalysisContext
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem, join_path
from sailmesh.config.resource import Resource
from sailmesh.config.unenforced import split_pattern

_ITEM = "[*]"


@dataclass(frozen=True)
class Deprecated:
    kind: str
    pattern: str
    text: str
    #: Only these values are deprecated (an enum value); None: any value set.
    value: Callable[[Any], bool] | None = None


def _replaced(old: str, new: str) -> str:
    return f"{old} is deprecated; use {new}"


def _ignored(field: str) -> str:
    return f"{field} ignored"


def _policy(
    pattern: str, text: str, value: Callable[[Any], bool] | None = None
) -> list[Deprecated]:
    """A DestinationRule traffic-policy field, at every level it can be set."""
    levels = ("spec.trafficPolicy", "spec.subsets[*].trafficPolicy")
    return [
        Deprecated("DestinationRule", f"{level}{port}.{pattern}", text, value)
        for level in levels
        for port in ("", ".portLevelSettings[*]")
    ]


DEPRECATED: tuple[Deprecated, ...] = (
    Deprecated(
        "VirtualService",
        "spec.http[*].fault.delay.percent",
        _replaced("HTTPRoute.fault.delay.percent", "HTTPRoute.fault.delay.percentage"),
    ),
    Deprecated(
        "VirtualService",
        "spec.http[*].mirrorPercent",
        _replaced("HTTPRoute.mirrorPercent", "HTTPRoute.mirrorPercentage"),
    ),
    Deprecated(
        "VirtualService",
        "spec.http[*].corsPolicy.allowOrigin",
        _replaced("CorsPolicy.allowOrigin", "CorsPolicy.allowOrigins"),
    ),
    *_policy(
        "loadBalancer.simple",
        _replaced("LoadBalancerSettings.simple LEAST_CONN", "LEAST_REQUEST"),
        lambda v: v == "LEAST_CONN",
    ),
    *_policy(
        "loadBalancer.consistentHash.minimumRingSize",
        _replaced("ConsistentHashLB.minimumRingSize", "ConsistentHashLB.ringHash.minimumRingSize"),
    ),
    *_policy(
        "outlierDetection.consecutiveErrors",
        _replaced("OutlierDetection.consecutiveErrors", "OutlierDetection.consecutive5xxErrors"),
    ),
    Deprecated("Gateway", "spec.servers[*].port.targetPort", _ignored("Server.port.targetPort")),
    Deprecated(
        "Sidecar",
        "spec.outboundTrafficPolicy.egressProxy",
        _ignored("OutboundTrafficPolicy.EgressProxy"),
    ),
    Deprecated(
        "Pod",
        "spec.serviceAccount",
        _replaced("PodSpec.serviceAccount", "PodSpec.serviceAccountName"),
    ),
    Deprecated(
        "Deployment",
        "spec.template.spec.serviceAccount",
        _replaced("PodSpec.serviceAccount", "PodSpec.serviceAccountName"),
    ),
)


def _walk(value: Any, segments: tuple[str, ...], path: str) -> Iterator[tuple[str, Any]]:
    if not segments:
        if value is not None:
            yield path, value
        return
    head, rest = segments[0], segments[1:]
    if head == _ITEM:
        for i, item in enumerate(value if isinstance(value, list) else []):
            yield from _walk(item, rest, join_path(path, i))
    elif isinstance(value, dict) and head in value:
        yield from _walk(value[head], rest, join_path(path, head))


def deprecated_uses(resource: Resource) -> Iterator[tuple[str, str]]:
    """``(path, text)`` of each deprecated field ``resource`` sets."""
    entries = [d for d in DEPRECATED if d.kind == resource.kind]
    if not entries:
        return
    document = resource.body.model_dump(by_alias=True, exclude_none=True, mode="json")
    for entry in entries:
        for path, value in _walk(document, split_pattern(entry.pattern), ""):
            if entry.value is None or entry.value(value):
                yield path, entry.text


def _deprecations(ctx: AnalysisContext) -> Iterator[Problem]:
    for resource in ctx.by_key.values():
        for path, text in deprecated_uses(resource):
            yield msg.DEPRECATED.at(resource, text, path=path)


DEPRECATION = Analyzer(
    "deprecation.DeprecationAnalyzer",
    "Checks for deprecated Istio types and fields",
    _deprecations,
    ("IST0002",),
)

ANALYZERS = (DEPRECATION,)
