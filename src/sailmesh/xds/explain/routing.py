"""Causes decided by routing: fault injection (FI, DI), route timeouts (UT), no route (NR),
no cluster (NC). Each names the VirtualService (or Gateway) rule and field."""

from __future__ import annotations

from sailmesh.config.resource import Resource
from sailmesh.xds.explain.lookup import Knob, leaves, matching_rules, spec_of
from sailmesh.xds.explain.situation import Finding, Situation, rule_knobs
from sailmesh.xds.names import outbound_cluster


def fault(s: Situation, kind: str) -> Finding:
    for vs in s.virtual_services():
        for i, rule, _ in matching_rules(vs, s.entry.path, s.entry.method):
            fault = getattr(rule.fault, kind, None) if rule.fault else None
            if fault is None:
                continue
            if kind == "abort" and fault.http_status not in (None, s.entry.code):
                continue
            what = f"aborted with {s.entry.code}" if kind == "abort" else "delayed"
            return Finding(
                "FI" if kind == "abort" else "DI",
                f"a fault injection {what} the request to {s.host} before it left this proxy",
                tuple(rule_knobs(vs, i, "fault")),
                f"remove spec.http[{i}].fault.{kind} or lower its percentage",
            )
    return Finding(
        "FI" if kind == "abort" else "DI", f"a fault injection hit the request to {s.host}"
    )


def timeout(s: Situation) -> Finding:
    took = f" (after {s.entry.duration_ms} ms)" if s.entry.duration_ms is not None else ""
    served = s.rule()
    if served is not None:
        vs, i, _ = served
        knobs = rule_knobs(vs, i, "timeout") + [
            k for k in rule_knobs(vs, i, "retries") if "perTryTimeout" in str(k.value)
        ]
        if knobs:
            return Finding(
                "UT",
                f"{s.host} did not answer within the route's timeout{took}",
                tuple(knobs),
                "raise the timeout, or make the upstream answer faster",
            )
    return Finding("UT", f"{s.host} did not answer in time{took}; no VirtualService timeout found")


def no_route(s: Situation) -> Finding:
    vss = s.virtual_services()
    where = ", ".join(f"{g.namespace}/{g.name}" for g in s.gateways)
    if not vss and s.gateways:
        knobs = [
            Knob(gw, f"spec.servers[{i}].hosts", list(server.hosts or []))
            for gw in s.gateways
            for i, server in enumerate(gw.spec.servers or [])
        ]
        return Finding(
            "NR",
            f"no VirtualService bound to gateway {where} has host {s.entry.host!r}",
            tuple(knobs),
            "add the host to a VirtualService bound to the gateway (spec.hosts, spec.gateways)",
        )
    if not vss and s.service is None:
        return Finding(
            "NR",
            f"{s.host} is in no VirtualService, Service or ServiceEntry visible in namespace "
            f"{s.namespace}",
            fix="check the host's spelling, the objects' exportTo, and Sidecar egress hosts",
        )
    knobs = [
        Knob(vs, f"spec.http[{i}].match", [m for m in (spec_of(vs)["http"][i].get("match") or [])])
        for vs in vss
        for i, _ in enumerate(vs.spec.http or [])
    ]
    return Finding(
        "NR",
        f"no rule of {', '.join(f'{v.namespace}/{v.name}' for v in vss) or 'the routes'} "
        f"matches {s.entry.method} {s.entry.path}",
        tuple(knobs),
        "add a rule for this path, or a last rule without match as the default",
    )


def _clusters_of(s: Situation, vs: Resource, index: int) -> list[str]:
    """The clusters a rule's destinations name (Envoy logs none for NC)."""
    out = []
    for route in (vs.spec.http or [])[index].route or []:
        d = route.destination
        if d is None or not d.host:
            continue
        port = d.port.number if d.port is not None and d.port.number else s.port
        if port:
            host = s.ctx.resolve_host(str(d.host), vs.namespace)
            out.append(outbound_cluster(port, d.subset or "", host))
    return out


def no_cluster(s: Situation) -> Finding:
    served = s.rule()
    knobs = []
    clusters = [s.entry.cluster] if s.entry.cluster else []
    if served is not None:
        vs, i, _ = served
        knobs = [
            Knob(vs, p, v)
            for p, v in leaves(spec_of(vs)["http"][i].get("route"), f"spec.http[{i}].route")
            if p.endswith(("host", "subset"))
        ]
        clusters = clusters or _clusters_of(s, vs, i)
    return Finding(
        "NC",
        f"the route names {', '.join(clusters) or 'a cluster'}, which this proxy does not have: "
        "a destination host or subset that does not exist, or config still on its way",
        tuple(knobs),
        "check the destination's host and subset (sailctl analyze), then sailctl proxy-status",
    )
