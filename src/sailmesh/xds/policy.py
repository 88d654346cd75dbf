"""DestinationRule traffic policies resolved for one (host, subset, port), with Istio's precedence.

Precedence (Istio's ``getPortLevelTrafficPolicy`` + ``MergeTrafficPolicy``), field by field for
load balancer, connection pool, outlier detection and TLS (``tunnel``, ``proxyProtocol`` and
``retryBudget`` exist on ``trafficPolicy`` only, so steps 2 and 4 never set them):

1. the DestinationRule's ``trafficPolicy``;
2. overridden by its ``portLevelSettings`` entry for the port (unset fields inherit);
3. overridden by the subset's ``trafficPolicy`` (when a subset is asked for);
4. overridden by the subset policy's ``portLevelSettings`` entry for the port.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sailmesh.config.resource import Resource
from sailmesh.registry.model import FrozenMap, frozen_map


@dataclass(frozen=True)
class EffectivePolicy:
    """The traffic policy parts that apply to one cluster (each a config model or None)."""

    load_balancer: Any = None
    connection_pool: Any = None
    outlier_detection: Any = None
    tls: Any = None
    #: Set only on ``trafficPolicy`` (destination or subset), not per port, as in Istio.
    tunnel: Any = None
    proxy_protocol: Any = None
    retry_budget: Any = None

    def overlay(self, policy: Any) -> EffectivePolicy:
        """Fields set on ``policy`` (a TrafficPolicy or PortTrafficPolicy) replace ours."""
        if policy is None:
            return self
        changes = {
            name: getattr(policy, name)
            for name in _FIELDS
            if getattr(policy, name, None) is not None
        }
        return replace(self, **changes) if changes else self


_FIELDS = (
    "load_balancer",
    "connection_pool",
    "outlier_detection",
    "tls",
    "tunnel",
    "proxy_protocol",
    "retry_budget",
)
EMPTY_POLICY = EffectivePolicy()


def _port_level(policy: Any, port: int) -> Any:
    for setting in getattr(policy, "port_level_settings", None) or []:
        if setting.port is not None and setting.port.number == port:
            return setting
    return None


def effective_policy(rule: Resource | None, subset: str, port: int) -> EffectivePolicy:
    """The policy for ``subset`` (may be empty) on ``port`` of the rule's host."""
    if rule is None:
        return EMPTY_POLICY
    spec = rule.spec
    top = spec.traffic_policy
    result = EMPTY_POLICY.overlay(top).overlay(_port_level(top, port))
    if subset:
        found = find_subset(rule, subset)
        if found is not None and found.traffic_policy is not None:
            sub = found.traffic_policy
            result = result.overlay(sub).overlay(_port_level(sub, port))
    return result


def find_subset(rule: Resource | None, name: str) -> Any:
    """The subset called ``name`` of the rule, or None."""
    if rule is None:
        return None
    for subset in rule.spec.subsets or []:
        if subset.name == name:
            return subset
    return None


def subset_names(rule: Resource | None) -> list[str]:
    """Names of the rule's subsets, in order, without duplicates or blanks."""
    if rule is None:
        return []
    seen: list[str] = []
    for subset in rule.spec.subsets or []:
        if subset.name and subset.name not in seen:
            seen.append(subset.name)
    return seen


def subset_labels(rule: Resource | None, name: str) -> FrozenMap[str, str]:
    """The labels selecting the subset's endpoints (empty: all endpoints)."""
    found = find_subset(rule, name)
    return frozen_map(found.labels if found is not None else None)


def consistent_hash(policy: EffectivePolicy) -> Any:
    """The ``consistentHash`` settings of the policy's load balancer, or None."""
    lb = policy.load_balancer
    return getattr(lb, "consistent_hash", None) if lb is not None else None


def uses_consistent_hash(rule: Resource) -> bool:
    """Whether any policy of the rule (top, port level, subsets) sets ``consistentHash``: the
    only part of a DestinationRule that route translation reads (hash policies)."""
    spec = rule.spec
    policies = [spec.traffic_policy]
    policies += [subset.traffic_policy for subset in spec.subsets or []]
    for policy in [p for p in policies if p is not None]:
        for part in [policy, *(getattr(policy, "port_level_settings", None) or [])]:
            lb = getattr(part, "load_balancer", None)
            if lb is not None and getattr(lb, "consistent_hash", None) is not None:
                return True
    return False
