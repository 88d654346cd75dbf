"""Checks reused across API groups: host names and wildcards, ``namespace/host`` entries, ports,
protocols, IPs and CIDRs, RE2-compatible regexes, durations, percentages, ``exportTo``, gateway
names and label maps. Each ``check_*`` appends problems to a report; ``*_problem`` returns a
message or None.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.base import Duration, Percent
from sailmesh.config.models.networking_common import WorkloadSelector
from sailmesh.config.validation.kubernetes.names import (
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    check_labels,
    map_path,
)

_HOST_LABEL = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_WILDCARD_LABEL = re.compile(r"^(\*|(\*|\*-)?[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)$")
_MS = 1_000_000

# Istio's protocol.Parse (case-insensitive) -> canonical name.
PROTOCOLS = {
    p.lower(): p
    for p in (
        "HTTP",
        "HTTPS",
        "HTTP2",
        "HTTP_PROXY",
        "GRPC",
        "GRPC-WEB",
        "TCP",
        "TLS",
        "UDP",
        "Mongo",
        "Redis",
        "MySQL",
    )
}
HTTP_PROTOCOLS = {"HTTP", "HTTP2", "GRPC", "GRPC-WEB", "HTTP_PROXY"}
TLS_PROTOCOLS = {"HTTPS", "TLS"}


# --- host names ------------------------------------------------------------------------------


def _labels_problem(host: str, domain: str) -> str | None:
    parts = domain.split(".")
    if parts[-1].isdigit():
        return f"invalid host {host!r}: the top-level domain {parts[-1]!r} cannot be all-numeric"
    for i, label in enumerate(parts):
        if i == len(parts) - 1 and label == "" and i > 0:
            return None  # a trailing dot ("istio.io.") is allowed
        if len(label) > 63 or not _HOST_LABEL.match(label):
            return (
                f"invalid host {host!r}: label {label!r} must be 1-63 letters, digits or '-', "
                "starting and ending with a letter or digit"
            )
    return None


def wildcard_host_problem(host: str) -> str | None:
    """Istio's ValidateWildcardDomain: a DNS name whose first label may be ``*`` (or ``*.x``)."""
    if not host:
        return "host must not be empty"
    if len(host) > 255:
        return f"host {host[:40]!r}... is too long (at most 255 characters)"
    first, dot, rest = host.partition(".")
    if not _WILDCARD_LABEL.match(first) or len(first) > 63:
        if "*" in host:
            return (
                f"invalid host {host!r}: a wildcard is only allowed as the whole first label, "
                "e.g. '*.example.com' or '*'"
            )
        return (
            f"invalid host {host!r}: label {first!r} must be 1-63 letters, digits or '-', "
            "starting and ending with a letter or digit"
        )
    if dot:
        if "*" in rest:
            return (
                f"invalid host {host!r}: a wildcard is only allowed as the whole first label, "
                "e.g. '*.example.com'"
            )
        return _labels_problem(host, rest)
    return None


def fqdn_problem(host: str) -> str | None:
    """Istio's ValidateFQDN: a DNS name without wildcards."""
    if not host:
        return "host must not be empty"
    if "*" in host:
        return f"{host!r} is not a fully qualified domain name (no wildcards allowed here)"
    if len(host) > 255:
        return f"host {host[:40]!r}... is too long (at most 255 characters)"
    return _labels_problem(host, host)


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_ip_or_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def check_namespace_host(report: Report, path: str, host: str, *, gateway: bool) -> None:
    """``namespace/dnsName`` entries of Gateway servers (namespace optional) and Sidecar egress."""
    ns, slash, name = host.partition("/")
    if not slash:
        if gateway:
            problem = wildcard_host_problem(host)
            if problem:
                report.error(path, problem)
        else:
            report.error(
                path,
                f"invalid host {host!r}: use the form namespace/dnsName, e.g. "
                f"'./{host}', '*/{host}' or 'istio-system/{host}'",
            )
        return
    if not ns or not name:
        report.error(
            path,
            f"invalid host {host!r}: namespace and dnsName in a host entry "
            "cannot be empty (use '*' for any)",
        )
        return
    allowed_ns = {"*", "."} if gateway else {"*", ".", "~"}
    if ns not in allowed_ns and not DNS1123_LABEL.match(ns):
        extra = "" if gateway else ", '~'"
        report.error(
            path,
            f"invalid namespace {ns!r} in host {host!r}: use '*', '.'{extra} or a namespace name",
        )
    if name != "*":
        problem = wildcard_host_problem(name)
        if problem:
            report.error(path, problem)


def check_namespace_hosts(
    report: Report, path: str, hosts: Sequence[str], *, gateway: bool, missing: str
) -> None:
    """``hosts`` at ``path``: at least one (else "required field is missing: ``missing``"),
    each a valid ``namespace/host``."""
    check_required(report, path, hosts, missing)
    for i, host in enumerate(hosts):
        check_namespace_host(report, join_path(path, i), host, gateway=gateway)


def check_required(report: Report, path: str, value: object, missing: str) -> None:
    """An error at ``path`` when ``value`` is empty: "required field is missing: ``missing``"."""
    if not value:
        report.error(path, f"required field is missing: {missing}")


def fields_set(*fields: tuple[str, object]) -> list[str]:
    """The names of the ``(name, value)`` fields whose value is not None, in order."""
    return [name for name, value in fields if value is not None]


def fields_given(*fields: tuple[str, object]) -> list[str]:
    """The names of the ``(name, value)`` fields given a non-empty value, in order."""
    return [name for name, value in fields if value]


def check_not_given(
    report: Report, path: str, fields: Sequence[tuple[str, object]], why: str
) -> None:
    """An error at each of the ``(name, value)`` fields given a value: "<name> cannot be <why>"."""
    for name in fields_given(*fields):
        report.error(join_path(path, name), f"{name} cannot be {why}")


def check_one_of(
    report: Report, path: str, given: Sequence[str], *, missing: str, many: str, sep: str = ", "
) -> None:
    """``given`` names the alternatives set: none is the error ``missing``, more than one the
    error ``many`` followed by ``(got ...)``."""
    if not given:
        report.error(path, missing)
    elif len(given) > 1:
        report.error(path, f"{many} (got {sep.join(given)})")


def check_gateway_names(report: Report, path: str, names: Sequence[str]) -> None:
    """VirtualService ``gateways``: ``mesh``, ``name``, ``namespace/name`` or a legacy FQDN."""
    for i, name in enumerate(names):
        at = join_path(path, i)
        if name == "mesh":
            continue
        ns, slash, gw = name.partition("/")
        if slash:
            if not DNS1123_LABEL.match(ns) or not gw or not DNS1123_SUBDOMAIN.match(gw):
                report.error(
                    at,
                    f"invalid gateway name {name!r}: use 'name' or "
                    "'namespace/name' (lowercase RFC 1123 names), or 'mesh'",
                )
        elif not DNS1123_SUBDOMAIN.match(name):
            report.error(
                at,
                f"invalid gateway name {name!r}: use 'name' or 'namespace/name' "
                "(lowercase RFC 1123 names), or 'mesh' for sidecars",
            )


# --- ports, protocols ----------------------------------------------------------------------


def port_problem(number: int) -> str | None:
    if not 1 <= number <= 65535:
        return f"port number {number} must be in the range 1..65535"
    return None


def check_port(report: Report, path: str, number: int | None, *, required: bool = False) -> None:
    if number is None:
        if required:
            report.error(path, "required field is missing (a port number 1..65535)")
        return
    problem = port_problem(number)
    if problem:
        report.error(path, problem)


def parse_protocol(name: str | None) -> str | None:
    """Canonical protocol name (Istio's protocol.Parse), or None when unsupported."""
    if not name:
        return None
    return PROTOCOLS.get(name.lower())


def check_protocol(report: Report, path: str, name: str | None, *, required: bool) -> None:
    if not name:
        if required:
            report.error(path, "required field is missing (e.g. HTTP, HTTPS, GRPC, TCP, TLS)")
        return
    if parse_protocol(name) is None:
        report.error(
            path,
            f"unsupported protocol {name!r}: use one of HTTP, HTTPS, HTTP2, GRPC, "
            "GRPC-WEB, TCP, TLS, MONGO, REDIS, MYSQL",
        )


# --- regexes, durations, percentages ---------------------------------------------------------

_RE2_UNSUPPORTED = (
    (re.compile(r"\(\?[=!]"), "lookahead '(?=' / '(?!'"),
    (re.compile(r"\(\?<[=!]"), "lookbehind '(?<=' / '(?<!'"),
    (re.compile(r"\\[1-9]"), "backreferences such as '\\1'"),
    (re.compile(r"\(\?P=\w+\)"), "named backreferences '(?P=name)'"),
    (re.compile(r"\(\?>"), "atomic groups '(?>'"),
    (re.compile(r"[*+?}][+]"), "possessive quantifiers such as '*+'"),
)


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid RE2 regex (Python ``re`` approximates RE2), or None."""
    unescaped = re.sub(r"\\\\", "", pattern)
    for construct, what in _RE2_UNSUPPORTED:
        if construct.search(unescaped):
            return f"invalid regex {pattern!r}: RE2 (used by Envoy) does not support {what}"
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regex {pattern!r}: {exc}"
    return None


def check_regex(report: Report, path: str, pattern: str | None) -> None:
    if pattern is None:
        return
    problem = regex_problem(pattern)
    if problem:
        report.error(path, problem)


def check_duration(
    report: Report, path: str, value: Duration | None, *, allow_zero: bool = False
) -> None:
    """Istio's ValidateDuration: at least 1ms (or 0 when ``allow_zero``), millisecond precision."""
    if value is None:
        return
    if value.nanos < 0:
        report.error(path, f"duration {value!s} must not be negative")
    elif value.nanos == 0 and allow_zero:
        return
    elif value.nanos < _MS:
        report.error(
            path, f"duration {value!s} is too short: it must be at least 1ms (e.g. '250ms', '1s')"
        )
    elif value.nanos % _MS:
        report.error(
            path,
            f"duration {value!s} is too precise: only millisecond precision is "
            "supported (e.g. '1.5ms' -> '2ms')",
        )


def check_percent(report: Report, path: str, value: float | None) -> None:
    if value is None:
        return
    if not 0 <= value <= 100:
        report.error(path, f"percentage {value:g} must be in the range 0..100")


def check_percentage(report: Report, path: str, percentage: Percent | None) -> None:
    """A ``Percent`` message (``{value: 0..100}``) at ``path``."""
    check_percent(report, join_path(path, "value"), percentage.value if percentage else None)


def check_deprecated_percent(
    report: Report, path: str, field: str, replacement: str, value: int | None
) -> None:
    """An integer percent ``field`` Istio replaced by a ``Percent`` message: warn, check range."""
    if value is None:
        return
    at = join_path(path, field)
    report.warn(at, f"{field} is deprecated; use {replacement}: {{value: {value}}}")
    check_percent(report, at, value)


# --- exportTo, labels ------------------------------------------------------------------------


def check_export_to(report: Report, path: str, values: Sequence[str]) -> None:
    """``exportTo``: '.', '*', '~' or namespace names; '*' and '~' cannot be mixed with others."""
    seen: set[str] = set()
    for i, value in enumerate(values):
        at = join_path(path, i)
        if value in seen:
            report.error(at, f"duplicate entry {value!r} in exportTo; remove it")
        seen.add(value)
        if value not in {".", "*", "~"} and not DNS1123_LABEL.match(value):
            report.error(
                at,
                f"invalid exportTo value {value!r}: use '.' (this namespace), "
                "'*' (all namespaces), '~' (none) or a namespace name",
            )
    if "*" in seen and len(seen) > 1:
        report.error(
            path,
            "exportTo '*' (public) cannot be combined with other values; use '*' "
            "alone or list the namespaces",
        )
    if "~" in seen and len(seen) > 1:
        report.error(path, "exportTo '~' (hidden from every namespace) must be the only value")


def check_label_map(report: Report, path: str, labels: Mapping[str, str] | None) -> None:
    """Kubernetes label syntax for every key and value."""
    check_labels(report, path, labels)


def check_workload_labels(
    report: Report, path: str, labels: Mapping[str, str], *, kind: str
) -> None:
    """A workload selector's labels: at least one, valid syntax, no wildcards."""
    if not labels:
        report.error(
            path,
            f"{kind} workload selector must have at least one label; remove the "
            "selector to apply to every workload in the namespace",
        )
    for key, value in labels.items():
        if "*" in key or "*" in value:
            report.error(
                map_path(path, key),
                f"wildcard is not supported in selector label {key}={value}; list exact values",
            )
    check_labels(report, path, labels)


def check_workload_selector(
    report: Report, selector: WorkloadSelector | None, *, kind: str
) -> None:
    """``spec.workloadSelector`` of the networking kinds that select workloads by labels."""
    if selector is not None:
        check_workload_labels(report, "spec.workloadSelector.labels", selector.labels, kind=kind)


__all__ = [
    "HTTP_PROTOCOLS",
    "PROTOCOLS",
    "TLS_PROTOCOLS",
    "check_deprecated_percent",
    "check_duration",
    "check_export_to",
    "check_gateway_names",
    "check_label_map",
    "check_namespace_host",
    "check_percent",
    "check_percentage",
    "check_port",
    "check_protocol",
    "check_regex",
    "check_workload_labels",
    "check_workload_selector",
    "fqdn_problem",
    "is_ip",
    "is_ip_or_cidr",
    "parse_protocol",
    "port_problem",
    "regex_problem",
    "wildcard_host_problem",
]
