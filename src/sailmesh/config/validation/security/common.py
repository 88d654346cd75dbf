"""Checks shared by the policy kinds (security, telemetry, extensions): workload selectors,
``targetRef``/``targetRefs``, Istio's string-match values, IP blocks and port strings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.security import PolicyTargetReference, WorkloadSelector
from sailmesh.config.resource import Resource
from sailmesh.config.validation.kubernetes.names import (
    DNS1123_SUBDOMAIN,
    check_meta,
    label_key_problem,
    label_value_problem,
    map_path,
)

# (group, kind) a policy may target; "" and "core" both name the core group.
TARGET_KINDS = {
    ("gateway.networking.k8s.io", "Gateway"),
    ("gateway.networking.k8s.io", "GatewayClass"),
    ("", "Service"),
    ("core", "Service"),
    ("networking.istio.io", "ServiceEntry"),
}
MAX_TARGET_REFS = 16


def check_selector(report: Report, path: str, selector: WorkloadSelector | None) -> None:
    """Istio's workload selector rules: no empty keys, no wildcards; label syntax."""
    if selector is None:
        return
    labels = selector.match_labels or {}
    if not labels:
        report.warn(
            join_path(path, "matchLabels"),
            "selector has no labels, so it selects every "
            "workload in the namespace; remove `selector` to say that explicitly",
        )
    for key, value in labels.items():
        at = map_path(join_path(path, "matchLabels"), key)
        if not key:
            report.error(at, "empty label key is not supported in a selector")
        elif "*" in key or "*" in value:
            report.error(
                at,
                f"wildcard is not supported in selector label {key}={value}; "
                "list exact label values (one policy per value if needed)",
            )
        else:
            problem = label_key_problem(key) or label_value_problem(value)
            if problem:
                report.warn(
                    at,
                    f"{problem}; no workload can carry this label, so the selector matches nothing",
                )


def check_policy_head(report: Report, resource: Resource) -> None:
    """What every targeted policy checks first: its metadata, then which workloads it targets
    (``spec.selector``, ``spec.targetRef`` or ``spec.targetRefs``)."""
    spec = resource.spec
    check_meta(report, resource)
    check_policy_targets(report, "spec", spec.selector, spec.target_ref, spec.target_refs)


def check_policy_targets(
    report: Report,
    spec_path: str,
    selector: WorkloadSelector | None,
    target_ref: PolicyTargetReference | None,
    target_refs: Sequence[PolicyTargetReference] | None,
) -> None:
    """``selector``, ``targetRef`` and ``targetRefs``: at most one, each well formed."""
    check_selector(report, join_path(spec_path, "selector"), selector)
    if target_ref is not None and target_refs:
        report.error(
            join_path(spec_path, "targetRef"),
            "only one of `targetRef` and `targetRefs` "
            "may be set; move this reference into `targetRefs`",
        )
    if selector is not None and (target_ref is not None or target_refs):
        field = "targetRef" if target_ref is not None else "targetRefs"
        report.error(
            join_path(spec_path, field),
            f"`selector` and `{field}` are mutually "
            "exclusive: select workloads by labels or attach to a resource, not both",
        )
    if target_ref is not None:
        check_target_ref(report, join_path(spec_path, "targetRef"), target_ref)
    if target_refs is not None and len(target_refs) > MAX_TARGET_REFS:
        report.error(
            join_path(spec_path, "targetRefs"),
            f"at most {MAX_TARGET_REFS} target references are allowed",
        )
    for i, ref in enumerate(target_refs or ()):
        check_target_ref(report, join_path(join_path(spec_path, "targetRefs"), i), ref)


def check_target_ref(report: Report, path: str, ref: PolicyTargetReference) -> None:
    if not ref.kind:
        report.error(
            join_path(path, "kind"), "required field is missing (e.g. 'Gateway' or 'Service')"
        )
    if not ref.name:
        report.error(
            join_path(path, "name"), "required field is missing: the name of the targeted resource"
        )
    elif len(ref.name) > 253:
        report.error(join_path(path, "name"), "must be at most 253 characters")
    group = ref.group or ""
    if group and not DNS1123_SUBDOMAIN.match(group):
        report.error(
            join_path(path, "group"),
            f"invalid group {group!r}: must be a DNS "
            "subdomain such as 'gateway.networking.k8s.io' (empty for the core group)",
        )
    if ref.kind and (group, ref.kind) not in TARGET_KINDS:
        allowed = (
            "Gateway/GatewayClass (group gateway.networking.k8s.io), Service (group ''), "
            "ServiceEntry (group networking.istio.io)"
        )
        report.error(
            path,
            f"cannot target kind {ref.kind!r} in group {group!r}; targets must "
            f"be one of: {allowed}",
        )
    check_target_namespace(report, path, ref.namespace)


def check_target_namespace(report: Report, path: str, namespace: str | None) -> None:
    """A target reference's ``namespace`` must be empty, as Istio's CRD rule says: the target
    is always looked up in the policy's own namespace."""
    if namespace:
        report.error(
            join_path(path, "namespace"),
            "cross namespace referencing is not currently supported: remove `namespace` "
            "(the target is looked up in the policy's own namespace)",
        )


def star_problem(value: str) -> str | None:
    """Istio matches exact, ``prefix*``, ``*suffix`` and ``*``; anything else is a mistake."""
    if value == "":
        return "empty value is not allowed: remove it, or use '*' to match any non-empty value"
    if "*" in value[1:-1] or value == "**":
        return (
            f"invalid value {value!r}: '*' is only supported alone, as a prefix ('*abc') "
            "or as a suffix ('abc*'); it would otherwise be matched literally"
        )
    if value.startswith("*") and value.endswith("*") and len(value) > 1:
        return (
            f"invalid value {value!r}: use '*' only at one end (prefix or suffix match), not both"
        )
    return None


def check_each(
    report: Report, path: str, values: Sequence[str] | None, problem: Callable[[str], str | None]
) -> None:
    """An error at ``path[i]`` for each value ``problem`` finds fault with."""
    for i, value in enumerate(values or ()):
        message = problem(value)
        if message:
            report.error(join_path(path, i), message)


def check_match_values(report: Report, path: str, values: Sequence[str] | None) -> None:
    check_each(report, path, values, star_problem)


def ip_problem(value: str) -> str | None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return (
            f"invalid IP block {value!r}: use an IP address ('203.0.113.4') or a CIDR "
            "range ('203.0.113.0/24', '2001:db8::/32')"
        )
    return None


def check_ips(report: Report, path: str, values: Sequence[str] | None) -> None:
    check_each(report, path, values, ip_problem)


def port_problem(value: str) -> str | None:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        return (
            f"invalid port {value!r}: ports are numbers from 1 to 65535 written as strings "
            '(e.g. "8080"); ranges and wildcards are not supported'
        )
    return None


def check_ports(report: Report, path: str, values: Sequence[str] | None) -> None:
    check_each(report, path, values, port_problem)


__all__ = [
    "TARGET_KINDS",
    "check_each",
    "check_ips",
    "check_match_values",
    "check_policy_head",
    "check_policy_targets",
    "check_ports",
    "check_selector",
    "check_target_namespace",
    "check_target_ref",
    "ip_problem",
    "port_problem",
    "star_problem",
]
