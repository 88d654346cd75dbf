"""Workload selectors of Sidecar and Telemetry resources (Istio's per-namespace selector checks).

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
    for pod, group in by_pod.items():
        if len(group) > 1:
            names = name_list(group)
            for r in group:
                yield conflict.at(r, names, pod.namespace, pod.name, path="metadata.name")


def _unselected(
    ctx: AnalysisContext, kind: str, selector_of: SelectorOf, conflict: msg.MessageType
) -> Iterator[Problem]:
    by_ns: dict[str, list[Resource]] = defaultdict(list)
    for r in ctx.of_kind(kind):
        if not selector_of(r) and not _targeted(r):
            by_ns[r.namespace].append(r)
    for ns, group in by_ns.items():
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
    ),
    ("IST0101", "IST0110"),
)

SIDECAR_DEFAULT_SELECTOR = Analyzer(
    "sidecar.DefaultSelectorAnalyzer",
    "Validates that there aren't multiple sidecar resources that have no selector",
    lambda ctx: _unselected(
        ctx, "Sidecar", _sidecar_selector, msg.MULTIPLE_SIDECARS_WITHOUT_SELECTORS
    ),
    ("IST0111",),
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

ANALYZERS = (
    SIDECAR_DEFAULT_SELECTOR,
    SIDECAR_SELECTOR,
    TELEMETRY_DEFAULT_SELECTOR,
    TELEMETRY_SELECTOR,
)
