"""RateLimitPolicy validation: a selector with labels, limits with a unique name, a positive
request count, a period of at least 50ms (Envoy's smallest fill interval), at most one default
limit (no match, no perHeader), valid header names and match patterns."""

from __future__ import annotations

import re

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.networking_common import StringMatch
from sailmesh.config.models.ratelimit import RateLimit, RateLimitPolicySpec
from sailmesh.config.resource import Resource
from sailmesh.config.validation.common import check_duration, check_regex, check_workload_labels
from sailmesh.config.validation.kubernetes.names import map_path

SPEC = "spec"
MIN_PERIOD_NANOS = 50_000_000
_HEADER = re.compile(r"^:?[a-z0-9!#$%&'*+.^_`|~-]+$")
_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}


def validate_rate_limit_policy(resource: Resource, report: Report) -> None:
    spec: RateLimitPolicySpec = resource.spec
    if spec.selector is not None:
        check_workload_labels(
            report,
            join_path(SPEC, "selector.matchLabels"),
            spec.selector.match_labels,
            kind="RateLimitPolicy",
        )
    if not spec.limits:
        report.error(join_path(SPEC, "limits"), "at least one limit is required")
    seen: set[str] = set()
    defaults = 0
    for i, limit in enumerate(spec.limits):
        at = join_path(join_path(SPEC, "limits"), i)
        _check_limit(report, at, limit)
        if limit.name:
            if limit.name in seen:
                report.error(join_path(at, "name"), f"duplicate limit name {limit.name!r}")
            seen.add(limit.name)
        if limit.match is None and not limit.per_header:
            defaults += 1
            if defaults > 1:
                report.error(
                    at,
                    "only one limit may apply to every request (no match, no perHeader): "
                    "merge them or add a match",
                )


def _check_limit(report: Report, at: str, limit: RateLimit) -> None:
    if not limit.name:
        report.error(join_path(at, "name"), "required field is missing (e.g. 'per-user')")
    elif not re.fullmatch(r"[a-z0-9]([-a-z0-9_.]*[a-z0-9])?", limit.name):
        report.error(
            join_path(at, "name"), "use lowercase letters, digits, '-', '_' and '.' (e.g. 'api')"
        )
    if limit.requests is None:
        report.error(join_path(at, "requests"), "required field is missing (e.g. 100)")
    elif limit.requests < 1:
        report.error(join_path(at, "requests"), "requests must be at least 1")
    if limit.per is None:
        report.error(join_path(at, "per"), "required field is missing (e.g. '1s', '1m')")
    else:
        check_duration(report, join_path(at, "per"), limit.per)
        if 0 < limit.per.nanos < MIN_PERIOD_NANOS:
            report.error(join_path(at, "per"), "the period must be at least 50ms (Envoy's limit)")
    if limit.per_header is not None and not _HEADER.match(limit.per_header):
        report.error(
            join_path(at, "perHeader"), f"{limit.per_header!r} is not a lowercase header name"
        )
    match = limit.match
    if match is None:
        return
    mpath = join_path(at, "match")
    if match.path is None and match.method is None and not match.headers:
        report.error(mpath, "an empty match counts every request: remove it, or add a condition")
    if match.path is not None:
        _check_string_match(report, join_path(mpath, "path"), match.path)
    if match.method is not None and match.method not in _METHODS:
        report.error(
            join_path(mpath, "method"), f"unknown method {match.method!r} (e.g. GET, POST)"
        )
    for name, value in match.headers.items():
        hpath = map_path(join_path(mpath, "headers"), name)
        if not _HEADER.match(name):
            report.error(hpath, f"{name!r} is not a lowercase header name")
        _check_string_match(report, hpath, value)


def _check_string_match(report: Report, path: str, value: StringMatch) -> None:
    given = [k for k in ("exact", "prefix", "regex") if getattr(value, k) is not None]
    if len(given) != 1:
        report.error(path, "set exactly one of exact, prefix or regex")
    if value.regex is not None:
        check_regex(report, join_path(path, "regex"), value.regex)


__all__ = ["validate_rate_limit_policy"]
