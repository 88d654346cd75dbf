"""Causes decided by security policy: an AuthorizationPolicy's deny (403 with RBAC details)
and a CUSTOM policy's external authorizer (UAEX)."""

from __future__ import annotations

import re

from sailmesh.xds.explain.lookup import Knob, spec_of
from sailmesh.xds.explain.situation import Finding, Situation

_RBAC = re.compile(
    r"rbac_access_denied_matched_policy\[ns\[([^\]]*)\]-policy\[([^\]]*)\]-rule\[(\d+)\]\]"
)


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


def ext_authz(s: Situation) -> Finding:
    knobs = [
        Knob(ap, "spec.provider.name", ap.spec.provider.name if ap.spec.provider else None)
        for ap in s.ctx.of_kind("AuthorizationPolicy")
        if ap.spec.action == "CUSTOM"
    ]
    return Finding(
        "UAEX",
        "the external authorizer of a CUSTOM AuthorizationPolicy denied the request",
        tuple(knobs),
        "see the external authorizer's decision for this request",
    )
