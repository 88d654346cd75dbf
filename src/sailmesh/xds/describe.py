"""``sailctl x describe pod|service``: the config that shapes traffic to a pod, in Istio's layout.

In: the mesh (config and running pods, an :class:`AnalysisContext`), the pod or service, and
the ingress gateways' loopback ports. Out: text lines as ``istioctl x describe`` prints them:
the pod's ports; per Service its ports, the DestinationRule (matching and non-matching
subsets, traffic policy) and the VirtualServices (the routes that reach the pod, or a warning
with the routes that do not, and why); the ingress gateways exposing it; the effective
PeerAuthentication mode and the AuthorizationPolicies that apply, from config only (and said
so when sailmesh does not enforce them yet). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sailmesh.config.analysis.analyzers.service import port_protocol
from sailmesh.config.analysis.context import (
    AnalysisContext,
    MeshService,
    Workload,
    fqdn,
    host_matches,
    selector_matches,
)
from sailmesh.config.resource import Resource
from sailmesh.config.unenforced import find_unenforced
from sailmesh.xds.authz.selection import selects
from sailmesh.xds.explain.lookup import destination_rule, gateways_of, spec_of

RULE = "--------------------"
PROXY = "istio-proxy"


def _owner_ports(ctx: AnalysisContext, pod: Workload) -> list[str]:
    refs = pod.resource.meta.owner_references or []
    owner = next((r.get("name") for r in refs if r.get("kind") == "Deployment"), None)
    deployment = ctx.get("Deployment", pod.namespace, str(owner)) if owner else None
    spec: Any = deployment.spec if deployment else pod.resource.spec
    template = spec.template.spec if deployment and spec.template else spec
    out = []
    for c in (template.containers if template else None) or []:
        for p in c.ports or []:
            proto = "" if (p.protocol or "TCP") == "TCP" else f"/{p.protocol}"
            out.append(f"{p.container_port}{proto} ({c.name})")
    containers = {c.name for c in (pod.resource.spec.containers or [])}
    if PROXY in containers:
        out.append(f"15090 ({PROXY})")
    return out


def _services_of(ctx: AnalysisContext, pod: Workload) -> list[MeshService]:
    return [
        s
        for s in ctx.services
        if s.resource.kind == "Service"
        and s.namespace == pod.namespace
        and s.selector
        and selector_matches(s.selector, pod.labels)
    ]


def _ports(service: MeshService) -> Iterator[str]:
    for p in service.ports:
        proto = (port_protocol(p.name, p.number, p.protocol or "TCP") or "tcp").upper()
        target = p.target_port or p.number
        yield f"   Port: {p.name} {p.number}/{proto} targets pod port {target}"


def _matching_subsets(dr: Resource, pods: Sequence[Workload]) -> tuple[list[str], list[str]]:
    yes: list[str] = []
    no: list[str] = []
    for s in dr.spec.subsets or []:
        labels = dict(s.labels or {})
        (yes if any(selector_matches(labels, p.labels) for p in pods) else no).append(s.name)
    return yes, no


def _policy_lines(dr: Resource) -> list[str]:
    policy = spec_of(dr).get("trafficPolicy") or {}
    if not policy:
        return ["   No Traffic Policy"]
    out = []
    tls = (policy.get("tls") or {}).get("mode")
    if tls:
        out.append(f"   Traffic Policy TLS Mode: {tls}")
    rest = sorted(k for k in policy if k != "tls")
    if rest:
        out.append(f"   Traffic Policy: {', '.join(rest)}")
    return out


def _destination_rule(
    ctx: AnalysisContext, service: MeshService, pods: Sequence[Workload]
) -> list[str]:
    dr = destination_rule(ctx, service.host, service.namespace)
    if dr is None:
        return []
    lines = [f'DestinationRule: {dr.name} for "{dr.spec.host}"']
    if dr.spec.subsets:
        yes, no = _matching_subsets(dr, pods)
        lines.append(f"   Matching subsets: {','.join(yes) or '(none)'}")
        if no:
            lines.append(f"      (Non-matching subsets {','.join(no)})")
    return lines + _policy_lines(dr)


def _string_match(m: Any, suffix_star: bool = True) -> str:
    if m.exact is not None:
        return str(m.exact)
    if m.prefix is not None:
        return f"{m.prefix}*" if suffix_star else str(m.prefix)
    return f"regex {m.regex}" if m.regex is not None else "*"


def render_matches(matches: Sequence[Any]) -> str:
    """Istio's words for a rule's matches: ``/productpage, /static*`` or
    ``when headers are end-user=jason``; ``everything`` when there are none."""
    if not matches:
        return "everything"
    parts = []
    for m in matches:
        bits = []
        if m.uri is not None:
            bits.append(_string_match(m.uri))
        if m.method is not None:
            bits.append(f"method {_string_match(m.method, False)}")
        if m.headers:
            heads = ", ".join(f"{k}={_string_match(v, False)}" for k, v in m.headers.items())
            bits.append(f"when headers are {heads}")
        if m.query_params:
            bits.append(
                "when query "
                + ", ".join(f"{k}={_string_match(v)}" for k, v in m.query_params.items())
            )
        if m.source_labels:
            bits.append("from " + ",".join(f"{k}={v}" for k, v in m.source_labels.items()))
        parts.append(" ".join(bits) or "everything")
    return ", ".join(parts)


def _subset_defined(ctx: AnalysisContext, host: str, namespace: str, subset: str) -> bool:
    dr = destination_rule(ctx, host, namespace)
    return dr is not None and any(s.name == subset for s in dr.spec.subsets or [])


def _virtual_service(
    ctx: AnalysisContext, vs: Resource, service: MeshService, subsets: set[str] | None
) -> list[str]:
    """Istio's VirtualService block for one service; ``subsets``: the pod's matching subsets
    (None: describing the service, every route reaches it)."""
    reach, miss = [], []
    rules = vs.spec.http or []
    for rule in rules:
        why = render_matches(rule.match or [])
        for route in rule.route or []:
            d = route.destination
            if d is None or not host_matches(fqdn(str(d.host or ""), vs.namespace), service.host):
                continue
            weight = f" ({route.weight}%)" if route.weight not in (None, 100) else ""
            if d.subset and not _subset_defined(ctx, service.host, vs.namespace, d.subset):
                miss.append(
                    f"Warning: Route to subset {d.subset} but NO DESTINATION RULE defining subsets!"
                )
            elif subsets is None or not d.subset or d.subset in subsets:
                target = f"subset {d.subset}" if d.subset else f'host "{d.host}"'
                reach.append((route.weight, f"Route to {target}{weight} for ({why})"))
            else:
                miss.append(f"Route to non-matching subset {d.subset} for ({why})")
    lines = [f"VirtualService: {vs.name}"]
    if not reach:
        lines.append(
            f"   WARNING: No destinations match pod subsets (checked {len(rules)} HTTP routes)"
        )
        lines += [f"      {m}" for m in miss]
        return lines
    weights = [w for w, _ in reach if w not in (None, 100)]
    if len(reach) == 1 and weights:
        lines.append(f"   Weight {weights[0]}%")
    else:
        lines.append(f"   {len(rules)} HTTP route(s)")
    lines += [f"      {text}" for _, text in reach]
    return lines


def _mesh_virtual_services(ctx: AnalysisContext, service: MeshService) -> list[Resource]:
    return [
        vs
        for vs in ctx.of_kind("VirtualService")
        if "mesh" in (list(vs.spec.gateways or []) or ["mesh"])
        and any(host_matches(fqdn(h, vs.namespace), service.host) for h in vs.spec.hosts or [])
    ]


def _ingress(
    ctx: AnalysisContext, service: MeshService, exposed: Mapping[tuple[str, str, int], int]
) -> list[str]:
    """``Exposed on Ingress Gateway http://127.0.0.1:PORT`` and the gateway VirtualServices
    that route there, with the paths they take."""
    lines: list[str] = []
    for vs in ctx.of_kind("VirtualService"):
        names = [g for g in vs.spec.gateways or [] if g != "mesh"]
        if not names:
            continue
        rules = [
            r
            for r in vs.spec.http or []
            if any(
                d.destination is not None
                and host_matches(fqdn(str(d.destination.host or ""), vs.namespace), service.host)
                for d in r.route or []
            )
        ]
        if not rules:
            continue
        for gw in ctx.of_kind("Gateway"):
            if not any(n in (gw.name, f"{gw.namespace}/{gw.name}") for n in names):
                continue
            pods = ctx.workloads_matching(dict(gw.spec.selector or {}))
            for server in gw.spec.servers or []:
                port = server.port.number if server.port else 0
                for p in pods:
                    local = exposed.get((p.namespace, p.name, port))
                    if local:
                        lines.append(f"Exposed on Ingress Gateway http://127.0.0.1:{local}")
        lines.append(f"VirtualService: {vs.name}")
        lines.append("   " + ", ".join(render_matches(r.match or []) for r in rules))
    return lines


def _selected(policy: Resource, pod: Workload, root: str) -> bool:
    labels = getattr(policy.spec.selector, "match_labels", None) if policy.spec.selector else None
    if labels:
        return policy.namespace in (pod.namespace, root) and selector_matches(labels, pod.labels)
    return policy.namespace in (pod.namespace, root)


def _not_enforced(resources: Sequence[Resource]) -> list[str]:
    reasons = {
        use.entry.reason for r in resources for use in find_unenforced(r) if use.path == "spec"
    }
    return [f"   (accepted, not enforced yet: {r})" for r in sorted(reasons)]


def _security(ctx: AnalysisContext, pod: Workload) -> list[str]:
    root = ctx.root_namespace
    applied = [p for p in ctx.of_kind("PeerAuthentication") if _selected(p, pod, root)]
    rank = {True: 0, False: 1}

    def order(p: Resource) -> tuple[int, int]:
        has_selector = bool(getattr(p.spec.selector, "match_labels", None))
        return rank[has_selector], 0 if p.namespace == pod.namespace else 1

    mode = "PERMISSIVE"
    for policy in sorted(applied, key=order):
        value = policy.spec.mtls.mode if policy.spec.mtls else "UNSET"
        if value != "UNSET":
            mode = value
            break
    lines = [RULE, "Effective PeerAuthentication:", f"   Workload mTLS mode: {mode}"]
    for policy in applied:
        for port, setting in (policy.spec.port_level_mtls or {}).items():
            lines.append(f"   Port {port} mTLS mode: {setting.mode}")
    if applied:
        lines.append("Applied PeerAuthentication:")
        lines.append(
            "   " + ", ".join(f"{p.name}.{p.namespace}" for p in sorted(applied, key=order))
        )
        lines += _not_enforced(applied)
    authz = [
        p for p in ctx.of_kind("AuthorizationPolicy") if selects(p, pod.namespace, pod.labels, root)
    ]
    lines.append("AuthorizationPolicies:")
    if not authz:
        lines.append("   none: every request is allowed")
    for p in authz:
        rules = len(p.spec.rules or [])
        lines.append(f"   {p.spec.action or 'ALLOW'} {p.namespace}/{p.name} ({rules} rule(s))")
    lines += _not_enforced(authz)
    return lines


Exposed = Mapping[tuple[str, str, int], int]
"""(gateway pod namespace, name, server port) -> the loopback port it is reached on."""


def describe_pod(ctx: AnalysisContext, pod: Workload, exposed: Exposed | None = None) -> list[str]:
    exposed = exposed or {}
    lines = [f"Pod: {pod.name}", f"   Pod Ports: {', '.join(_owner_ports(ctx, pod))}"]
    containers = {c.name for c in (pod.resource.spec.containers or [])}
    if PROXY not in containers:
        lines.append(f"WARNING: {pod.name}.{pod.namespace} is not part of mesh; no Istio sidecar")
    if gateways_of(ctx, pod):
        names = ", ".join(f"{g.namespace}/{g.name}" for g in gateways_of(ctx, pod))
        lines.append(f"   Gateway proxy for: {names}")
    for service in _services_of(ctx, pod):
        lines += [RULE, f"Service: {service.resource.name}", *_ports(service)]
        lines += _destination_rule(ctx, service, [pod])
        dr = destination_rule(ctx, service.host, service.namespace)
        subsets = set(_matching_subsets(dr, [pod])[0]) if dr is not None else set()
        for vs in _mesh_virtual_services(ctx, service):
            lines += _virtual_service(ctx, vs, service, subsets)
        ingress = _ingress(ctx, service, exposed)
        if ingress:
            lines += [RULE, *ingress]
    return lines + _security(ctx, pod)


def describe_service(
    ctx: AnalysisContext, service: MeshService, exposed: Exposed | None = None
) -> list[str]:
    exposed = exposed or {}
    pods = ctx.workloads_of(service)
    lines = [f"Service: {service.resource.name}", *_ports(service)]
    lines.append(f"   Pods: {', '.join(p.name for p in pods) or '(none running)'}")
    dr = destination_rule(ctx, service.host, service.namespace)
    if dr is not None:
        lines.append(f'DestinationRule: {dr.name} for "{dr.spec.host}"')
        for s in dr.spec.subsets or []:
            count = sum(selector_matches(dict(s.labels or {}), p.labels) for p in pods)
            lines.append(f"   Subset {s.name}: {count} pod(s)")
        lines += _policy_lines(dr)
    for vs in _mesh_virtual_services(ctx, service):
        lines += _virtual_service(ctx, vs, service, None)
    ingress = _ingress(ctx, service, exposed)
    if ingress:
        lines += [RULE, *ingress]
    if pods:
        lines += _security(ctx, pods[0])
    return lines
