"""Finding the config objects and fields behind a request: knobs with their path and value.

In: an :class:`~sailmesh.config.analysis.context.AnalysisContext` of the mesh (config and
running pods), the caller's namespace and what the access log tells (host, port, path, method,
upstream cluster). Out: the VirtualServices and rules that routed the request, the
DestinationRule that shaped the cluster and its effective traffic-policy fields (subset, then
port level, then top level, as Istio merges them), each as a :class:`Knob`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sailmesh.config.analysis.context import (
    MESH_GATEWAY,
    AnalysisContext,
    Workload,
    fqdn,
    host_matches,
    selector_matches,
    split_namespaced,
)
from sailmesh.config.resource import Resource
from sailmesh.xds.names import parse_cluster


@dataclass(frozen=True)
class Knob:
    """A field of a config object (``resource`` None: a mesh-wide default) and its value."""

    resource: Resource | None
    path: str
    value: Any = None

    def __str__(self) -> str:
        owner = (
            f"{self.resource.kind} {self.resource.namespace}/{self.resource.name}"
            if self.resource is not None
            else "mesh default"
        )
        value = "" if self.value is None else f" = {_show(self.value)}"
        return f"{owner} {self.path}{value}"


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """``(path, value)`` of every scalar under ``value`` (a YAML mapping or list)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}")
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):
            yield from leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def spec_of(resource: Resource) -> dict[str, Any]:
    """The spec as written (camelCase, fields left at their defaults omitted)."""
    body = resource.body.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    spec: dict[str, Any] = body.get("spec") or {}
    return spec


@dataclass(frozen=True)
class Upstream:
    """The upstream cluster of a request: ``outbound|9080|v1|reviews.default.svc.cluster.local``."""

    direction: str
    port: int
    subset: str
    host: str

    @classmethod
    def parse(cls, cluster: str) -> Upstream | None:
        parsed = parse_cluster(cluster)
        return cls(*parsed) if parsed is not None else None


# --- DestinationRules ---------------------------------------------------------------------


def destination_rule(ctx: AnalysisContext, host: str, client_ns: str) -> Resource | None:
    """Istio's choice: a rule in the caller's namespace, else the service's, else the root's;
    an exact host before a wildcard one."""
    candidates = [
        dr
        for dr in ctx.of_kind("DestinationRule")
        if ctx.exported_to(dr, client_ns)
        and host_matches(fqdn(str(dr.spec.host or ""), dr.namespace), host)
    ]
    service = ctx.find_service(host, client_ns)
    order = [client_ns, service.namespace if service else None, ctx.root_namespace]

    def rank(dr: Resource) -> tuple[int, int]:
        where = order.index(dr.namespace) if dr.namespace in order else len(order)
        return where, int(str(dr.spec.host or "").startswith("*"))

    return min(candidates, key=rank) if candidates else None


def subset_index(dr: Resource, subset: str) -> int | None:
    for i, s in enumerate(dr.spec.subsets or []):
        if s.name == subset:
            return i
    return None


def policy_knobs(dr: Resource, subset: str, port: int | None, group: str) -> list[Knob]:
    """The effective ``group`` (``connectionPool``, ``outlierDetection``, ``tls``,
    ``loadBalancer``) of a DestinationRule for one subset and port, as fields with paths."""
    spec = spec_of(dr)
    levels: list[tuple[str, dict[str, Any]]] = []
    index = subset_index(dr, subset) if subset else None
    if index is not None:
        policy = (spec.get("subsets") or [])[index].get("trafficPolicy") or {}
        levels += _levels(policy, f"spec.subsets[{index}].trafficPolicy", port)
    levels += _levels(spec.get("trafficPolicy") or {}, "spec.trafficPolicy", port)
    for path, policy in levels:
        if group in policy:
            return [Knob(dr, p, v) for p, v in leaves(policy[group], f"{path}.{group}")]
    return []


def _levels(
    policy: dict[str, Any], path: str, port: int | None
) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for i, setting in enumerate(policy.get("portLevelSettings") or []):
        if port is not None and (setting.get("port") or {}).get("number") == port:
            out.append((f"{path}.portLevelSettings[{i}]", setting))
    return [*out, (path, policy)]


# --- VirtualServices ----------------------------------------------------------------------


def gateways_of(ctx: AnalysisContext, pod: Workload | None) -> list[Resource]:
    """The Gateways whose selector picks ``pod`` (a gateway pod)."""
    if pod is None:
        return []
    return [
        gw
        for gw in ctx.of_kind("Gateway")
        if selector_matches(dict(gw.spec.selector or {}), pod.labels)
    ]


def bound_to(vs: Resource, gateways: list[Resource]) -> bool:
    """Whether a VirtualService applies to sidecars (no gateways given) or to one of them."""
    names = list(vs.spec.gateways or []) or [MESH_GATEWAY]
    if not gateways:
        return MESH_GATEWAY in names
    wanted = {(gw.namespace, gw.name) for gw in gateways}
    return any(split_namespaced(n, vs.namespace) in wanted for n in names if n != MESH_GATEWAY)


def virtual_services(
    ctx: AnalysisContext, host: str, client_ns: str, gateways: list[Resource]
) -> list[Resource]:
    """VirtualServices for ``host`` (an FQDN or a gateway's request host) seen by the caller."""
    out = []
    for vs in ctx.of_kind("VirtualService"):
        if not bound_to(vs, gateways) or (not gateways and not ctx.exported_to(vs, client_ns)):
            continue
        hosts = [h if gateways else fqdn(h, vs.namespace) for h in vs.spec.hosts or []]
        if any(h == "*" or host_matches(h, host) for h in hosts):
            out.append(vs)
    return out


def _string_matches(match: Any, value: str) -> bool | None:
    if match is None:
        return True
    if match.exact is not None:
        return bool(value == match.exact)
    if match.prefix is not None:
        return value.startswith(str(match.prefix))
    if match.regex is not None:
        try:
            return re.fullmatch(match.regex, value) is not None
        except re.error:
            return None
    return True


def request_matches(match: Any, path: str, method: str) -> bool | None:
    """Whether one ``http[].match[]`` holds for the request (None: it needs what the log does
    not say, such as headers)."""
    if match.headers or match.query_params or match.without_headers or match.source_labels:
        return None
    uri = _string_matches(match.uri, path.split("?", 1)[0]) if path else None
    verb = _string_matches(match.method, method) if method else None
    if uri is False or verb is False:
        return False
    return None if uri is None or verb is None else True


def matching_rules(vs: Resource, path: str, method: str) -> Iterator[tuple[int, Any, bool]]:
    """``(index, rule, certain)`` of the HTTP rules that may have served the request, in order."""
    for i, rule in enumerate(vs.spec.http or []):
        if not rule.match:
            yield i, rule, True
            continue
        results = [request_matches(m, path, method) for m in rule.match]
        if True in results:
            yield i, rule, True
        elif None in results:
            yield i, rule, False


def routes_to(rule: Any, vs: Resource, upstream: Upstream | None) -> bool:
    """Whether a rule sends to the upstream cluster's host and subset (True when unknown)."""
    if upstream is None:
        return True
    for route in rule.route or []:
        d = route.destination
        if d is None:
            continue
        host = fqdn(str(d.host or ""), vs.namespace)
        if host_matches(host, upstream.host) and (d.subset or "") == upstream.subset:
            return True
    return False


def served_by(
    vss: list[Resource], path: str, method: str, upstream: Upstream | None
) -> tuple[Resource, int, Any] | None:
    """The VirtualService rule that most likely served the request: the first that matches
    it and routes to its upstream cluster; a rule with unknowable conditions only if no
    certain one does."""
    uncertain: tuple[Resource, int, Any] | None = None
    for vs in vss:
        for i, rule, certain in matching_rules(vs, path, method):
            if not routes_to(rule, vs, upstream):
                continue
            if certain:
                return vs, i, rule
            uncertain = uncertain or (vs, i, rule)
    return uncertain
