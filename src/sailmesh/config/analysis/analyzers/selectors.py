"""Workload selectors of Sidecar, Telemetry and RateLimitPolicy resources (Istio's per-namespace
selector checks; RateLimitPolicy is sailmesh's own kind, its overlaps are SM0002 infos).

A selector that matches no workload is IST0101 ("selector"); several resources selecting the
same workload, or several without a selector in one namespace, are conflicts. Selector checks
run only when workloads are among the inputs (otherwise nothing can be known about them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.analyzers._util import match_labels, name_list, selector_path
from sailmesh.config.analysis.context import AnalysisContext, Workload, selector_string
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem
from sailmesh.config.resource import Resource

SelectorOf = Callable[[Resource], dict[str, str] | None]

DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode"
_AMBIENT_POD = "selected workload is in ambient mode, the policy has no impact"
_AMBIENT_NAMESPACE = "namespace is in ambient mode, the policy has no impact"


def namespace_ambient(ctx: AnalysisContext, namespace: str) -> bool:
    ns = ctx.get("Namespace", "", namespace)
    return ns is not None and ns.labels.get(DATAPLANE_MODE_LABEL) == "ambient"


def workload_ambient(ctx: AnalysisContext, pod: Workload) -> bool:
    """A pod opted into ambient by its label, or in an ambient namespace without opting out."""
    mode = pod.labels.get(DATAPLANE_MODE_LABEL)
    return mode == "ambient" or (mode != "none" and namespace_ambient(ctx, pod.namespace))


def _sidecar_selector(r: Resource) -> dict[str, str] | None:
    return match_labels(r.spec.workload_selector)


def _telemetry_selector(r: Resource) -> dict[str, str] | None:
    return match_labels(r.spec.selector)


def _targeted(r: Resource) -> bool:
    spec: Any = r.spec
    return bool(getattr(spec, "target_ref", None) or getattr(spec, "target_refs", None))


def _selected(
    ctx: AnalysisContext,
    kind: str,
    selector_of: SelectorOf,
    field: str,
    conflict: msg.MessageType,
    ambient_aware: bool = False,
) -> Iterator[Problem]:
    if not ctx.workloads:
        return
    by_pod: dict[Workload, list[Resource]] = defaultdict(list)
    for r in ctx.of_kind(kind):
        labels = selector_of(r)
        if not labels:
            continue
        pods = ctx.workloads_matching(labels, r.namespace)
        if not pods:
            path = selector_path(r, field, labels)
            yield msg.REFERENCED_RESOURCE_NOT_FOUND.at(
                r, "selector", selector_string(labels), path=path
            )
        for pod in pods:
            by_pod[pod].append(r)
    reported: set[int] = set()
    for pod, group in by_pod.items():
        if ambient_aware and workload_ambient(ctx, pod):  # no sidecar there: no conflict either
            for r in group:
                if id(r) not in reported:
                    reported.add(id(r))
                    yield msg.INEFFECTIVE_POLICY.at(r, _AMBIENT_POD, path="metadata.name")
            continue
        if len(group) > 1:
            names = name_list(group)
            for r in group:
                yield conflict.at(r, names, pod.namespace, pod.name, path="metadata.name")


def _unselected(
    ctx: AnalysisContext,
    kind: str,
    selector_of: SelectorOf,
    conflict: msg.MessageType,
    ambient_aware: bool = False,
) -> Iterator[Problem]:
    by_ns: dict[str, list[Resource]] = defaultdict(list)
    for r in ctx.of_kind(kind):
        if not selector_of(r) and not _targeted(r):
            by_ns[r.namespace].append(r)
    for ns, group in by_ns.items():
        if ambient_aware and namespace_ambient(ctx, ns):
            for r in group:
                yield msg.INEFFECTIVE_POLICY.at(r, _AMBIENT_NAMESPACE, path="metadata.name")
            continue
        if len(group) > 1:
            for r in group:
                yield conflict.at(r, name_list(group), ns, path="metadata.name")


SIDECAR_SELECTOR = Analyzer(
    "sidecar.SelectorAnalyzer",
    "Validates that sidecars that define a workload selector match at least one pod, and that "
    "there aren't multiple sidecar resources that select overlapping pods",
    lambda ctx: _selected(
        ctx,
        "Sidecar",
        _sidecar_selector,
        "spec.workloadSelector.labels",
        msg.CONFLICTING_SIDECAR_WORKLOAD_SELECTORS,
        ambient_aware=True,
    ),
    ("IST0101", "IST0110", "IST0167"),
)

SIDECAR_DEFAULT_SELECTOR = Analyzer(
    "sidecar.DefaultSelectorAnalyzer",
    "Validates that there aren't multiple sidecar resources that have no selector",
    lambda ctx: _unselected(
        ctx, "Sidecar", _sidecar_selector, msg.MULTIPLE_SIDECARS_WITHOUT_SELECTORS, True
    ),
    ("IST0111", "IST0167"),
)

TELEMETRY_SELECTOR = Analyzer(
    "telemetry.SelectorAnalyzer",
    "Validates that telemetries that define a selector match at least one pod, and that there "
    "aren't multiple telemetry resources that select overlapping pods",
    lambda ctx: _selected(
        ctx,
        "Telemetry",
        _telemetry_selector,
        "spec.selector.matchLabels",
        msg.CONFLICTING_TELEMETRY_WORKLOAD_SELECTORS,
    ),
    ("IST0101", "IST0159"),
)

TELEMETRY_DEFAULT_SELECTOR = Analyzer(
    "telemetry.DefaultSelectorAnalyzer",
    "Validates that there aren't multiple telemetry resources that have no selector",
    lambda ctx: _unselected(
        ctx, "Telemetry", _telemetry_selector, msg.MULTIPLE_TELEMETRIES_WITHOUT_SELECTORS
    ),
    ("IST0160",),
)

RATE_LIMIT_SELECTOR = Analyzer(
    "ratelimitpolicy.SelectorAnalyzer",
    "Validates that RateLimitPolicies that define a selector match at least one pod, and says "
    "which pods several of them select",
    lambda ctx: _selected(
        ctx,
        "RateLimitPolicy",
        _telemetry_selector,
        "spec.selector.matchLabels",
        msg.STACKED_RATE_LIMITS,
    ),
    ("IST0101", "SM0002"),
)

ANALYZERS = (
    SIDECAR_DEFAULT_SELECTOR,
    SIDECAR_SELECTOR,
    TELEMETRY_DEFAULT_SELECTOR,
    TELEMETRY_SELECTOR,
    RATE_LIMIT_SELECTOR,
)
