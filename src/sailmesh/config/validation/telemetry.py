"""Validation rules for telemetry.istio.io: Telemetry.

Mirrors istiod's checks (provider names, sampling range, custom tags, tag overrides, metric
selectors, access-log filters) plus the CRD's schema rules (selector vs targetRef(s)).
"""

from __future__ import annotations

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.telemetry import (
    AccessLogging,
    Metrics,
    ProviderRef,
    TelemetrySpec,
    Tracing,
)
from sailmesh.config.resource import Resource
from sailmesh.config.validation.kubernetes.names import map_path
from sailmesh.config.validation.security.common import check_policy_head


def validate_telemetry(resource: Resource, report: Report) -> None:
    spec: TelemetrySpec = resource.spec
    check_policy_head(report, resource)
    for i, tracing in enumerate(spec.tracing or ()):
        _check_tracing(report, f"spec.tracing[{i}]", tracing)
    for i, metrics in enumerate(spec.metrics or ()):
        _check_metrics(report, f"spec.metrics[{i}]", metrics)
    for i, logging in enumerate(spec.access_logging or ()):
        _check_access_logging(report, f"spec.accessLogging[{i}]", logging)


def _check_providers(report: Report, path: str, providers: list[ProviderRef] | None) -> None:
    for i, provider in enumerate(providers or ()):
        if not provider.name:
            report.error(
                f"{path}.providers[{i}].name",
                "provider name must not be empty: name a "
                "provider from MeshConfig extensionProviders (or a built-in such as "
                "'prometheus' or 'envoy')",
            )


def _check_tracing(report: Report, path: str, tracing: Tracing) -> None:
    _check_providers(report, path, tracing.providers)
    if tracing.providers and len(tracing.providers) > 1:
        report.warn(
            join_path(path, "providers"),
            "multiple tracing providers are not supported; only the first one is used",
        )
    pct = tracing.random_sampling_percentage
    if pct is not None and not 0.0 <= pct <= 100.0:
        report.error(
            join_path(path, "randomSamplingPercentage"),
            f"must be between 0.0 and "
            f"100.0 (got {pct:g}); it is a percentage, e.g. 10.0 for one request in ten",
        )
    for name, tag in (tracing.custom_tags or {}).items():
        at = map_path(join_path(path, "customTags"), name)
        if not name:
            report.error(at, "custom tag name must not be empty")
        kinds = [k for k in ("literal", "environment", "header", "formatter") if getattr(tag, k)]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            report.error(
                at,
                f"a custom tag needs exactly one of literal, environment, header "
                f"or formatter (found {found})",
            )
        if tag.literal is not None and not tag.literal.value:
            report.error(join_path(at, "literal.value"), "literal tag value must not be empty")
        if tag.environment is not None and not tag.environment.name:
            report.error(
                join_path(at, "environment.name"), "environment variable name must not be empty"
            )
        if tag.header is not None and not tag.header.name:
            report.error(join_path(at, "header.name"), "header name must not be empty")
        if tag.formatter is not None and not tag.formatter.value:
            report.error(
                join_path(at, "formatter.value"),
                "formatter value must not be empty, e.g. '%REQ(:PATH)%'",
            )


def _check_metrics(report: Report, path: str, metrics: Metrics) -> None:
    _check_providers(report, path, metrics.providers)
    if metrics.reporting_interval is not None and metrics.reporting_interval.nanos <= 0:
        report.error(
            join_path(path, "reportingInterval"), "reporting interval must be positive, e.g. '15s'"
        )
    for i, override in enumerate(metrics.overrides or ()):
        at = f"{path}.overrides[{i}]"
        match = override.match
        if match is not None:
            if match.metric is not None and match.custom_metric is not None:
                report.error(
                    join_path(at, "match"),
                    "set either `metric` (a standard Istio metric) or `customMetric`, not both",
                )
            if match.custom_metric is not None and not match.custom_metric:
                report.error(
                    join_path(at, "match.customMetric"), "custom metric name must not be empty"
                )
        for name, tag in (override.tag_overrides or {}).items():
            tag_at = map_path(join_path(at, "tagOverrides"), name)
            if not name:
                report.error(tag_at, "tag name must not be empty")
            if tag.operation == "UPSERT" and not tag.value:
                report.error(
                    join_path(tag_at, "value"),
                    "a tag override with operation UPSERT "
                    "(the default) needs a `value` expression, e.g. "
                    "\"request.headers['x-user'] | 'unknown'\"; use operation: REMOVE to "
                    "drop the tag",
                )
            if tag.operation == "REMOVE" and tag.value:
                report.error(
                    join_path(tag_at, "value"),
                    "`value` is only used with operation "
                    "UPSERT; remove it, or set operation: UPSERT",
                )


def _check_access_logging(report: Report, path: str, logging: AccessLogging) -> None:
    _check_providers(report, path, logging.providers)
    if logging.filter is not None:
        expression = (logging.filter.expression or "").strip()
        if not expression:
            report.error(
                join_path(path, "filter.expression"),
                "filter expression must not be "
                "empty: write a CEL expression such as 'response.code >= 400', or "
                "remove `filter` to log everything",
            )
        elif expression.count("(") != expression.count(")"):
            report.error(
                join_path(path, "filter.expression"),
                f"invalid CEL expression {expression!r}: unbalanced parentheses",
            )
