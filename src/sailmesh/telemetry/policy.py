"""The Telemetry API for one proxy: which Telemetry objects apply, in Istio's precedence, and
what they make of metrics (pure).

In: the Telemetry objects of the mesh, the root namespace, and the proxy's namespace and
labels. Out: :func:`applicable` (mesh-wide, namespace-wide, workload: the order later ones
win in), :class:`MetricsPolicy` (per standard metric and reporter: disabled, labels REMOVEd,
labels UPSERTed with Envoy formats from :mod:`~sailmesh.telemetry.tags`), and the
:class:`~sailmesh.telemetry.raw.Emission` a listener reports with. Access logging is
:mod:`~sailmesh.telemetry.accesslog`'s.

Istio's rules: a mesh-wide object lives in the root namespace without a selector, a
namespace-wide one in the proxy's namespace without a selector, a workload one in the proxy's
namespace with a selector matching its labels, or with ``targetRef(s)`` naming the Kubernetes
Gateway API gateway the proxy serves (:mod:`sailmesh.snapshot.attachment`); the oldest of each
level counts. Metric
overrides of all three levels apply in that order: ``disabled`` and each tag's last operation
win. ``match.mode`` CLIENT is the source reporter, SERVER the destination one. Only the
``prometheus`` provider (the default) is served here; overrides under other providers do
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sailmesh.config.resource import Resource
from sailmesh.snapshot.attachment import target_refs, targets_gateway
from sailmesh.snapshot.providers import parse_duration
from sailmesh.telemetry import raw, standard
from sailmesh.telemetry.standard import Reporter, StandardMetric
from sailmesh.telemetry.tags import TagValue, tag_value

PROMETHEUS_PROVIDER = "prometheus"
_MODES: Mapping[str, tuple[Reporter, ...]] = {
    "CLIENT_AND_SERVER": ("source", "destination"),
    "CLIENT": ("source",),
    "SERVER": ("destination",),
}


def _selector(resource: Resource) -> dict[str, str] | None:
    spec: Any = resource.spec
    selector = getattr(spec, "selector", None)
    labels = getattr(selector, "match_labels", None) if selector is not None else None
    return dict(labels) if labels else None


def applicable(
    telemetries: Iterable[Resource], root_namespace: str, namespace: str, labels: Mapping[str, str]
) -> list[Resource]:
    """The Telemetry objects that apply to a proxy, least specific first (mesh, namespace,
    workload; at most one of each, the oldest)."""
    mesh: Resource | None = None
    scoped: Resource | None = None
    workload: Resource | None = None
    for t in telemetries:
        refs = target_refs(t.spec)
        if refs:  # targets replace the selector: a gateway's own Telemetry is workload-level
            if any(targets_gateway(r, t.namespace, namespace, labels) for r in refs):
                workload = workload or t
            continue
        selector = _selector(t)
        if selector is None and t.namespace == root_namespace:
            mesh = mesh or t
        if t.namespace != namespace:
            continue
        if selector is None:
            if namespace != root_namespace:
                scoped = scoped or t
        elif all(labels.get(k) == v for k, v in selector.items()):
            workload = workload or t
    return [t for t in (mesh, scoped, workload) if t is not None]


@dataclass(frozen=True)
class MetricRule:
    """What the Telemetry API does to one metric for one reporter."""

    disabled: bool = False
    upserts: tuple[tuple[str, TagValue], ...] = ()
    removes: frozenset[str] = frozenset()


_DEFAULT_RULE = MetricRule()


@dataclass(frozen=True)
class MetricsPolicy:
    """Rules by (metric name, reporter); metrics without one are reported as Istio does."""

    rules: Mapping[tuple[str, str], MetricRule] = field(default_factory=dict)
    #: ``metrics[*].reportingInterval`` (seconds) of the most specific Telemetry setting one:
    #: TCP bytes are then reported while connections are open (:mod:`.tcp_periodic`).
    reporting_interval_s: float | None = None

    def rule(self, metric: StandardMetric, reporter: str) -> MetricRule:
        return self.rules.get((metric.name, reporter), _DEFAULT_RULE)

    def emission(self, reporter: Reporter, service: str | None = None) -> raw.Emission:
        """What a listener reporting as ``reporter`` counts under this policy."""
        disabled = frozenset(m.name for m in standard.ALL if self.rule(m, reporter).disabled)
        upserts = {
            m.name: {label: value.format for label, value in rule.upserts}
            for m in standard.ALL
            if (rule := self.rule(m, reporter)).upserts
        }
        periodic = self.reporting_interval_s is not None
        return raw.Emission(reporter, service, disabled, upserts or None, periodic)


@dataclass
class _Builder:
    disabled: bool = False
    upserts: dict[str, TagValue] = field(default_factory=dict)
    removes: set[str] = field(default_factory=set)

    def freeze(self) -> MetricRule:
        return MetricRule(
            self.disabled, tuple(sorted(self.upserts.items())), frozenset(self.removes)
        )


def _serves_prometheus(metrics: Any) -> bool:
    names = [p.name for p in metrics.providers or []]
    return not names or PROMETHEUS_PROVIDER in names


def _matched(match: Any) -> tuple[list[StandardMetric], tuple[Reporter, ...]]:
    mode = _MODES.get(
        getattr(match, "mode", None) or "CLIENT_AND_SERVER", _MODES["CLIENT_AND_SERVER"]
    )
    name = getattr(match, "metric", None) if match is not None else None
    if getattr(match, "custom_metric", None):
        return [], mode
    if name in (None, "ALL_METRICS"):
        return list(standard.ALL), mode
    found = standard.BY_API_NAME.get(str(name))
    return ([found] if found else []), mode


def metrics_policy(telemetries: Iterable[Resource]) -> MetricsPolicy:
    """The metrics policy of ``telemetries`` (as :func:`applicable` orders them)."""
    builders: dict[tuple[str, str], _Builder] = {}
    interval: float | None = None
    for t in telemetries:
        spec: Any = t.spec
        for metrics in spec.metrics or []:
            if not _serves_prometheus(metrics):
                continue
            seconds = parse_duration(metrics.reporting_interval)
            if seconds is not None and seconds > 0:
                interval = seconds
            for override in metrics.overrides or []:
                matched, reporters = _matched(override.match)
                for metric in matched:
                    for reporter in reporters:
                        builder = builders.setdefault((metric.name, reporter), _Builder())
                        _apply(builder, override)
    return MetricsPolicy({key: b.freeze() for key, b in builders.items()}, interval)


def _apply(builder: _Builder, override: Any) -> None:
    if override.disabled is not None:
        builder.disabled = bool(override.disabled)
    for label, tag in (override.tag_overrides or {}).items():
        if tag.operation == "REMOVE":
            builder.removes.add(label)
            builder.upserts.pop(label, None)
            continue
        value = tag_value(tag.value or "")
        if value is not None:
            builder.upserts[label] = value
            builder.removes.discard(label)
