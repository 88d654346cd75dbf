"""Causes decided by policy at the proxy that logged the request: an AuthorizationPolicy's deny
(403 with RBAC details), a CUSTOM policy's external authorizer (UAEX) and a local rate limit
(RL, from a RateLimitPolicy or an EnvoyFilter adding Envoy's local rate limit filter).

Policies are those that select the proxy's pod: in its namespace (or the root namespace) with a
selector its labels satisfy, or none. Of their rules and limits, those the logged request may
have matched (path and method; what the log does not show, such as headers, may match).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sailmesh.config.analysis.context import selector_matches
from sailmesh.config.resource import Resource
from sailmesh.xds.explain.lookup import Knob, leaves, spec_of
from sailmesh.xds.explain.situation import Finding, Situation

_RBAC = re.compile(
    r"rbac_access_denied_matched_policy\[ns\[([^\]]*)\]-policy\[([^\]]*)\]-rule\[(\d+)\]\]"
)
LOCAL_RATE_LIMIT = "envoy.filters.http.local_ratelimit"


def rbac(s: Situation) -> Finding | None:
    found = _RBAC.search(s.entry.details)
    if found is None:
        if "rbac_access_denied" in s.entry.details:
            return Finding(
                "RBAC",
                "denied: no ALLOW AuthorizationPolicy selecting this workload matches the request",
                fix="add an ALLOW rule for this source and operation",
            )
        return None
    ns, name, rule = found.groups()
    policy = s.ctx.get("AuthorizationPolicy", ns, name)
    return Finding(
        "RBAC",
        f"AuthorizationPolicy {ns}/{name} denied the request (its rule {rule} matched)",
        (
            Knob(
                policy,
                f"spec.rules[{rule}]",
                (spec_of(policy).get("rules") or [None])[int(rule)] if policy else None,
            ),
        ),
        "change the rule, or the policy's action",
    )


def _labels(selector: Any) -> dict[str, str]:
    """``selector.matchLabels`` (policies) or ``workloadSelector.labels`` (EnvoyFilter)."""
    labels = getattr(selector, "match_labels", None) or getattr(selector, "labels", None)
    return dict(labels or {})


def selecting(s: Situation, kind: str) -> list[Resource]:
    """Objects of ``kind`` that apply to the proxy's pod (all of the kind when it is unknown)."""
    out = []
    for r in s.ctx.of_kind(kind):
        if s.pod is None:
            out.append(r)
            continue
        if r.namespace not in (s.pod.namespace, s.ctx.root_namespace):
            continue
        spec: Any = r.spec
        selector = getattr(spec, "selector", None) or getattr(spec, "workload_selector", None)
        if selector_matches(_labels(selector), s.pod.labels):
            out.append(r)
    return out


def _glob(pattern: str, value: str) -> bool:
    """Istio's path and method patterns: exact, ``prefix*``, ``*suffix`` or ``*``."""
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _operation_may_match(op: Any, path: str, method: str) -> bool:
    if op is None:
        return True
    path = path.split("?", 1)[0]
    checks = ((op.paths, op.not_paths, path), (op.methods, op.not_methods, method))
    for allowed, refused, value in checks:
        if not value:
            continue
        if allowed and not any(_glob(p, value) for p in allowed):
            return False
        if refused and any(_glob(p, value) for p in refused):
            return False
    return True


def _rules_matching(policy: Resource, path: str, method: str) -> Iterator[int]:
    for i, rule in enumerate(policy.spec.rules or []):
        tos = rule.to or []
        if not tos or any(_operation_may_match(t.operation, path, method) for t in tos):
            yield i


def ext_authz(s: Situation) -> Finding:
    knobs: list[Knob] = []
    for ap in selecting(s, "AuthorizationPolicy"):
        if ap.spec.action != "CUSTOM":
            continue
        rules = list(_rules_matching(ap, s.entry.path, s.entry.method))
        if not rules:
            continue
        provider = ap.spec.provider.name if ap.spec.provider else None
        knobs.append(Knob(ap, "spec.provider.name", provider))
        spec_rules = spec_of(ap).get("rules") or []
        knobs += [Knob(ap, f"spec.rules[{i}]", spec_rules[i]) for i in rules]
    who = "the external authorizer of a CUSTOM AuthorizationPolicy"
    if knobs:
        names = sorted({f"{k.resource.namespace}/{k.resource.name}" for k in knobs if k.resource})
        who = f"the external authorizer {knobs[0].value} (CUSTOM AuthorizationPolicy {', '.join(names)})"
    return Finding(
        "UAEX",
        f"{who} denied the request",
        tuple(knobs),
        "see the external authorizer's decision for this request; or narrow the policy's rules",
    )


def _limit_may_match(limit: Any, path: str, method: str) -> bool:
    match = limit.match
    if match is None:
        return True
    if match.method and method and match.method != method:
        return False
    pm = match.path
    if pm is None or not path:
        return True
    path = path.split("?", 1)[0]
    if pm.exact is not None:
        return bool(path == pm.exact)
    if pm.prefix is not None:
        return path.startswith(str(pm.prefix))
    if pm.regex is not None:
        try:
            return re.fullmatch(pm.regex, path) is not None
        except re.error:
            return True
    return True


def _policy_limits(s: Situation) -> Iterator[Knob]:
    for policy in selecting(s, "RateLimitPolicy"):
        limits = spec_of(policy).get("limits") or []
        for i, limit in enumerate(policy.spec.limits or []):
            if _limit_may_match(limit, s.entry.path, s.entry.method):
                yield Knob(policy, f"spec.limits[{i}]", limits[i])


def _filter_limits(s: Situation) -> Iterator[Knob]:
    """Token buckets of EnvoyFilter patches that add or configure the local rate limit."""
    for ef in selecting(s, "EnvoyFilter"):
        for i, patch in enumerate(spec_of(ef).get("configPatches") or []):
            value = (patch.get("patch") or {}).get("value")
            if LOCAL_RATE_LIMIT not in str(value):
                continue
            found = list(leaves(value, f"spec.configPatches[{i}].patch.value"))
            marker = ".token_bucket."
            paths = dict.fromkeys(
                p.partition(marker)[0] + ".token_bucket" for p, _ in found if marker in p
            )
            for path in paths:
                bucket = {p.rpartition(".")[2]: v for p, v in found if p.startswith(path + ".")}
                yield Knob(ef, path, bucket)


def rate_limited(s: Situation) -> Finding:
    knobs = [*_policy_limits(s), *_filter_limits(s)]
    where = f"{s.pod.namespace}/{s.pod.name}" if s.pod else "this proxy"
    if not knobs:
        return Finding(
            "RL",
            f"the local rate limit of {where} refused the request (its bucket was empty)",
            fix="find the EnvoyFilter or RateLimitPolicy that adds the limit (sailctl "
            "proxy-config listener) and raise it",
        )
    owners = sorted(
        {f"{k.resource.kind} {k.resource.namespace}/{k.resource.name}" for k in knobs if k.resource}
    )
    return Finding(
        "RL",
        f"the local rate limit of {where} refused the request: its token bucket was empty "
        f"({', '.join(owners)})",
        tuple(knobs),
        "raise the bucket (requests per interval), or send fewer requests",
    )
