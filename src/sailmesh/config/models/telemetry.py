"""telemetry.istio.io models: Telemetry (``v1`` and ``v1alpha1`` share one schema).

A Telemetry object tunes metrics, tracing and access logging per mesh (root namespace),
namespace or workload. Fields are optional as in proto3; semantic checks live in
``sailmesh.config.validation.telemetry``.
"""

from __future__ import annotations

from typing import Literal

from sailmesh.config.models.base import DurationStr, Model
from sailmesh.config.models.security import PolicyTargetReference, WorkloadSelector

WorkloadMode = Literal["CLIENT_AND_SERVER", "CLIENT", "SERVER"]
IstioMetric = Literal[
    "ALL_METRICS",
    "REQUEST_COUNT",
    "REQUEST_DURATION",
    "REQUEST_SIZE",
    "RESPONSE_SIZE",
    "TCP_OPENED_CONNECTIONS",
    "TCP_CLOSED_CONNECTIONS",
    "TCP_SENT_BYTES",
    "TCP_RECEIVED_BYTES",
    "GRPC_REQUEST_MESSAGES",
    "GRPC_RESPONSE_MESSAGES",
]
TagOperation = Literal["UPSERT", "REMOVE"]


class ProviderRef(Model):
    """A provider from MeshConfig ``extensionProviders`` (or built-in: prometheus, envoy...)."""

    name: str | None = None


class TracingSelector(Model):
    mode: WorkloadMode = "CLIENT_AND_SERVER"


class LiteralTag(Model):
    value: str | None = None


class EnvironmentTag(Model):
    name: str | None = None
    default_value: str | None = None


class RequestHeaderTag(Model):
    name: str | None = None
    default_value: str | None = None


class FormatterTag(Model):
    value: str | None = None


class CustomTag(Model):
    """One of ``literal``, ``environment``, ``header`` or ``formatter`` (exactly one)."""

    literal: LiteralTag | None = None
    environment: EnvironmentTag | None = None
    header: RequestHeaderTag | None = None
    formatter: FormatterTag | None = None


class Tracing(Model):
    match: TracingSelector | None = None
    providers: list[ProviderRef] | None = None
    random_sampling_percentage: float | None = None
    disable_span_reporting: bool | None = None
    custom_tags: dict[str, CustomTag] | None = None
    use_request_id_for_trace_sampling: bool | None = None
    enable_istio_tags: bool | None = None
    disable_context_propagation: bool | None = None


class MetricSelector(Model):
    """``overrides[].match``: one standard ``metric`` or a ``customMetric`` name, and a mode."""

    metric: IstioMetric | None = None
    custom_metric: str | None = None
    mode: WorkloadMode = "CLIENT_AND_SERVER"


class TagOverride(Model):
    """Add/replace (``UPSERT``, the default) or ``REMOVE`` a metric dimension."""

    operation: TagOperation = "UPSERT"
    value: str | None = None


class MetricsOverrides(Model):
    match: MetricSelector | None = None
    disabled: bool | None = None
    tag_overrides: dict[str, TagOverride] | None = None


class Metrics(Model):
    providers: list[ProviderRef] | None = None
    overrides: list[MetricsOverrides] | None = None
    reporting_interval: DurationStr | None = None


class AccessLoggingSelector(Model):
    mode: WorkloadMode = "CLIENT_AND_SERVER"


class AccessLoggingFilter(Model):
    """A CEL expression choosing which requests/connections are logged."""

    expression: str | None = None


class AccessLogging(Model):
    match: AccessLoggingSelector | None = None
    providers: list[ProviderRef] | None = None
    disabled: bool | None = None
    filter: AccessLoggingFilter | None = None


class TelemetrySpec(Model):
    selector: WorkloadSelector | None = None
    target_ref: PolicyTargetReference | None = None
    target_refs: list[PolicyTargetReference] | None = None
    tracing: list[Tracing] | None = None
    metrics: list[Metrics] | None = None
    access_logging: list[AccessLogging] | None = None


__all__ = [
    "AccessLogging",
    "AccessLoggingFilter",
    "AccessLoggingSelector",
    "CustomTag",
    "EnvironmentTag",
    "FormatterTag",
    "IstioMetric",
    "LiteralTag",
    "MetricSelector",
    "Metrics",
    "MetricsOverrides",
    "ProviderRef",
    "RequestHeaderTag",
    "TagOperation",
    "TagOverride",
    "TelemetrySpec",
    "Tracing",
    "TracingSelector",
    "WorkloadMode",
]
