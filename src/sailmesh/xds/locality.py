"""Locality load balancing: endpoint groups' priorities and weights as Istio computes them.

In: a cluster's endpoints, the proxy (its locality and labels), the DestinationRule's and the
mesh's ``localityLbSetting`` and whether the cluster has outlier detection. Out:
:class:`LocalityGroup` values (locality, priority, weight, endpoints) that
:func:`sailmesh.xds.endpoints.load_assignment` turns into ``LocalityLbEndpoints``, and the
cluster's ``locality_weighted_lb_config`` (:func:`needs_locality_weights`).

Istio's rules (``GetLocalityLbSetting`` and ``ApplyLocalityLoadBalancer``):

- the setting in use is the DestinationRule's when it has one (``enabled: false`` turns locality
  load balancing off), else the mesh's (Istio's default mesh config: ``{enabled: true}``);
- ``distribute``: the first entry whose ``from`` matches the proxy's locality sets each group's
  weight to ``ceil(group weight * to-weight / total weight of the groups that to-locality
  matches)``; groups no ``to`` matches get no traffic (they are left out);
- otherwise, only with outlier detection (else Envoy never leaves priority 0): priorities by
  proximity to the proxy (0 same subzone, 1 same zone, 2 same region, 3 elsewhere, 4 for regions
  that a ``failover`` entry from the proxy's region does not name), or with
  ``failoverPriority`` per endpoint by the first of the listed labels whose value differs from
  the proxy's (``label=value`` compares with ``value``), then ``failover`` on top of those;
  priorities are renumbered 0..N without gaps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sailmesh.registry.locality import split_locality, with_topology_labels
from sailmesh.registry.model import Endpoint


@dataclass(frozen=True)
class LocalityGroup:
    """Endpoints of one locality at one priority, with the group's weight."""

    locality: str
    endpoints: tuple[Endpoint, ...]
    weight: int
    priority: int = 0


@dataclass(frozen=True)
class LocalityContext:
    """What locality load balancing reads about the proxy and the cluster."""

    proxy_locality: str
    proxy_labels: Mapping[str, str] = field(default_factory=dict)
    setting: Any = None  # the LocalityLoadBalancerSetting in use, or None
    failover: bool = False  # the cluster has outlier detection


def effective_setting(mesh_setting: Any, rule_setting: Any) -> Any:
    """The setting in use (None: locality load balancing is off), as Istio's
    ``GetLocalityLbSetting``: the DestinationRule's overrides the mesh's."""
    if rule_setting is not None:
        return None if rule_setting.enabled is False else rule_setting
    if mesh_setting is None or mesh_setting.enabled is False:
        return None
    return mesh_setting


def needs_locality_weights(ctx: LocalityContext) -> bool:
    """Whether the cluster gets ``locality_weighted_lb_config`` (Istio: only for ``distribute``
    or explicit failover rules with outlier detection, since it changes how least request and
    round robin pick among localities)."""
    setting = ctx.setting
    if setting is None:
        return False
    explicit = bool(setting.failover or setting.failover_priority)
    return bool(setting.distribute) or (ctx.failover and explicit)


def group_by_locality(endpoints: Iterable[Endpoint]) -> list[LocalityGroup]:
    """One priority-0 group per locality, sorted by locality, endpoints in a stable order."""
    by_locality: dict[str, list[Endpoint]] = {}
    for ep in endpoints:
        by_locality.setdefault(ep.locality, []).append(ep)
    groups = []
    for locality in sorted(by_locality):
        members = sorted(by_locality[locality], key=lambda e: (e.address, e.port, e.workload))
        groups.append(LocalityGroup(locality, tuple(members), _weight(members)))
    return groups


def _weight(endpoints: Iterable[Endpoint]) -> int:
    return sum(max(ep.weight, 1) for ep in endpoints)


def locality_matches(locality: str, rule: str) -> bool:
    """Whether ``locality`` is in ``rule`` (``region/zone/subzone``, ``*`` and missing parts
    match anything below the region), as Istio's ``LocalityMatch``."""
    want = split_locality(rule)
    have = split_locality(locality)
    if want[0] != "*" and want[0] != have[0]:
        return False
    return all(w in ("*", "") or w == h for w, h in zip(want[1:], have[1:], strict=True))


def apply_locality(groups: list[LocalityGroup], ctx: LocalityContext) -> list[LocalityGroup]:
    """The groups with Istio's locality weights or priorities applied."""
    setting = ctx.setting
    if setting is None or not groups:
        return groups
    if setting.distribute:
        return _distribute(groups, ctx.proxy_locality, setting.distribute)
    if not ctx.failover:
        return groups
    if setting.failover_priority:
        groups = _failover_priority(groups, ctx, setting.failover_priority)
        if not setting.failover:
            return groups
    return _failover(groups, ctx.proxy_locality, setting.failover)


def _distribute(groups: list[LocalityGroup], proxy: str, rules: Any) -> list[LocalityGroup]:
    rule = next((r for r in rules if r.from_ and locality_matches(proxy, r.from_)), None)
    if rule is None:
        return groups
    weights: dict[int, int] = {}
    for target, share in rule.to.items():
        claimed = [
            i
            for i, g in enumerate(groups)
            if i not in weights and locality_matches(g.locality, target)
        ]
        total = sum(groups[i].weight for i in claimed)
        for i in claimed:
            weights[i] = math.ceil(groups[i].weight * share / total) if total else 0
    return [replace(g, weight=weights[i]) for i, g in enumerate(groups) if weights.get(i)]


def _proximity(proxy: str, endpoint: str) -> int:
    """0 same subzone, 1 same zone, 2 same region, 3 other region (Istio's ``LbPriority``)."""
    p, e = split_locality(proxy), split_locality(endpoint)
    if p[0] != e[0]:
        return 3
    if p[1] != e[1]:
        return 2
    return 0 if p[2] == e[2] else 1


def _failover(groups: list[LocalityGroup], proxy: str, rules: Any) -> list[LocalityGroup]:
    region = split_locality(proxy)[0]
    ranked = []
    for g in groups:
        rank = _proximity(proxy, g.locality)
        if rank == 3:
            rule = next((r for r in rules if r.from_ == region), None)
            if rule is not None and split_locality(g.locality)[0] != rule.to:
                rank = 4
        ranked.append(replace(g, priority=g.priority * 5 + rank))
    return _renumber(ranked)


def _renumber(groups: list[LocalityGroup]) -> list[LocalityGroup]:
    order = {p: i for i, p in enumerate(sorted({g.priority for g in groups}))}
    return [replace(g, priority=order[g.priority]) for g in groups]


def _failover_priority(
    groups: list[LocalityGroup], ctx: LocalityContext, labels: list[str]
) -> list[LocalityGroup]:
    """Split each group by the endpoints' priorities from ``failoverPriority`` labels."""
    keys: list[tuple[str, str | None]] = []
    for item in labels:
        name, sep, value = item.partition("=")
        keys.append((name, value if sep else None))
    proxy_labels = with_topology_labels(ctx.proxy_labels, ctx.proxy_locality)
    out: list[LocalityGroup] = []
    for g in groups:
        by_priority: dict[int, list[Endpoint]] = {}
        for ep in g.endpoints:
            own = with_topology_labels(ep.labels, ep.locality)
            rank = 0
            for i, (key, fixed) in enumerate(keys):
                wanted = proxy_labels.get(key) if fixed is None else fixed
                if own.get(key) != wanted:
                    rank = len(keys) - i
                    break
            by_priority.setdefault(rank, []).append(ep)
        for rank in sorted(by_priority):
            members = by_priority[rank]
            out.append(LocalityGroup(g.locality, tuple(members), _weight(members), rank))
    return _renumber(out)
