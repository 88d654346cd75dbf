"""Tracing as Istio configures it: the mesh config's settings and the Telemetry API's
``tracing`` (pure).

In: the Telemetry objects that apply to a proxy (least specific first, see
:func:`sailmesh.telemetry.policy.applicable`), the mesh's tracing settings
(:class:`~sailmesh.snapshot.mesh.MeshConfig`: ``enableTracing``,
``defaultConfig.tracing.sampling``, ``opentelemetry``/``zipkin`` ``extensionProviders``,
``defaultProviders.tracing``) and the reporter (``source``: client side, Telemetry mode CLIENT;
``destination``: SERVER). Out: :class:`TracingSpec`, what a listener's HTTP connection manager
traces (or None: no tracing), which :mod:`sailmesh.xds.tracing` turns into Envoy's tracer.

Istio's rules: Telemetry ``tracing`` entries matching the reporter's mode merge from the least
to the most specific object: each of ``providers``, ``randomSamplingPercentage``,
``disableSpanReporting``, ``useRequestIdForTraceSampling``, ``enableIstioTags`` (default true) and
``disableContextPropagation`` (default false) is taken from the last entry that sets it, ``customTags`` merge by name (the more specific wins). Unset, the provider is the
first of ``defaultProviders.tracing`` and the sampling ``defaultConfig.tracing.sampling``
(Istio's 1 %). Without any Telemetry tracing entry, ``enableTracing`` (default true) decides.
The built-in provider (:data:`BUILTIN_PROVIDER`, also what applies when no provider is named
anywhere) is the control plane's own OTLP collector: it stands where Istio's legacy default
(a Zipkin at ``zipkin.istio-system:9411``) would. ``disableSpanReporting`` keeps the tracer's
sampling and context propagation but reports nothing (Envoy's tracing without a provider);
``disableContextPropagation`` is the converse: spans are still reported, but the proxy adds no
trace context headers (``traceparent``, ``x-b3-*``) to the requests it forwards.
Only the first provider of an entry is used (as Istio).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sailmesh.config.resource import Resource
from sailmesh.snapshot.mesh import MeshConfig, TracingProvider
from sailmesh.telemetry.standard import Reporter

#: The control plane's OTLP collector, as a provider name Telemetry objects may use.
BUILTIN_PROVIDER = "sailmesh"
_MODE_REPORTERS: Mapping[str, tuple[str, ...]] = {
    "CLIENT_AND_SERVER": ("source", "destination"),
    "CLIENT": ("source",),
    "SERVER": ("destination",),
}

TagKind = Literal["literal", "header", "environment", "formatter"]


@dataclass(frozen=True)
class TraceTag:
    """A span tag: a ``literal`` value, a request ``header``, an ``environment`` variable of
    the proxy (``source`` names the header or variable; ``default`` when it is missing) or an
    Envoy ``formatter`` string (``%REQ(...)%``, ...)."""

    name: str
    kind: TagKind
    source: str
    default: str = ""


@dataclass(frozen=True)
class TracingSpec:
    """What a listener traces. ``provider`` None with ``report`` true: the built-in collector;
    ``report`` false: decide and propagate, report no span; ``istio_tags``: add Istio's own
    span tags (``istio.canonical_service``, ...); ``propagate`` false: inject no trace context
    into forwarded requests."""

    sampling: float
    provider: TracingProvider | None = None
    report: bool = True
    tags: tuple[TraceTag, ...] = ()
    use_request_id: bool = True
    istio_tags: bool = True
    propagate: bool = True


def _tag(name: str, tag: Any) -> TraceTag | None:
    if tag.literal is not None and tag.literal.value:
        return TraceTag(name, "literal", tag.literal.value)
    if tag.header is not None and tag.header.name:
        return TraceTag(name, "header", tag.header.name, tag.header.default_value or "")
    if tag.environment is not None and tag.environment.name:
        env = tag.environment
        return TraceTag(name, "environment", env.name, env.default_value or "")
    if tag.formatter is not None and tag.formatter.value:
        return TraceTag(name, "formatter", tag.formatter.value)
    return None


def _entries(telemetries: Iterable[Resource], reporter: Reporter) -> list[Any]:
    out = []
    for t in telemetries:
        spec: Any = t.spec
        for entry in spec.tracing or []:
            mode = entry.match.mode if entry.match is not None else "CLIENT_AND_SERVER"
            if reporter in _MODE_REPORTERS.get(mode, ()):
                out.append(entry)
    return out


def _provider(name: str | None, mesh: MeshConfig) -> tuple[bool, TracingProvider | None]:
    """(known, provider): the built-in collector is (True, None)."""
    if name is None or name == BUILTIN_PROVIDER:
        return True, None
    found = next((p for p in mesh.tracing_providers if p.name == name), None)
    return found is not None, found


def tracing_spec(
    telemetries: Iterable[Resource], mesh: MeshConfig, reporter: Reporter
) -> TracingSpec | None:
    """How a listener reporting as ``reporter`` traces (see the module doc); None: not at all
    (tracing disabled, or the named provider is not an ``opentelemetry``/``zipkin`` one)."""
    entries = _entries(telemetries, reporter)
    default_name = next(iter(mesh.default_tracing_providers), None)
    if not entries:
        if not mesh.enable_tracing:
            return None
        known, provider = _provider(default_name, mesh)
        return TracingSpec(mesh.default_sampling, provider) if known else None
    name, sampling, disabled, by_request_id = default_name, mesh.default_sampling, False, True
    istio_tags, propagate = True, True
    tags: dict[str, TraceTag] = {}
    for entry in entries:
        if entry.providers:
            name = entry.providers[0].name
        if entry.random_sampling_percentage is not None:
            sampling = float(entry.random_sampling_percentage)
        if entry.disable_span_reporting is not None:
            disabled = bool(entry.disable_span_reporting)
        if entry.use_request_id_for_trace_sampling is not None:
            by_request_id = bool(entry.use_request_id_for_trace_sampling)
        if entry.enable_istio_tags is not None:
            istio_tags = bool(entry.enable_istio_tags)
        if entry.disable_context_propagation is not None:
            propagate = not entry.disable_context_propagation
        for tag_name, tag in (entry.custom_tags or {}).items():
            found = _tag(tag_name, tag)
            if found is not None:
                tags[tag_name] = found
    known, provider = _provider(name, mesh)
    if not known:
        return None
    ordered = tuple(tags[k] for k in sorted(tags))
    return TracingSpec(
        sampling, provider, not disabled, ordered, by_request_id, istio_tags, propagate
    )
