"""VirtualService references: destination hosts, ports and subsets, and bound gateways."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.analyzers._util import (
    Dest,
    mirror_destinations,
    route_destinations,
)
from sailmesh.config.analysis.context import (
    MESH_GATEWAY,
    AnalysisContext,
    MeshService,
    fqdn,
    host_matches,
    split_namespaced,
)
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem
from sailmesh.config.resource import Resource


def _destination_hosts(ctx: AnalysisContext) -> Iterator[Problem]:
    if not ctx.has_registry:
        return
    for vs in ctx.of_kind("VirtualService"):
        export_to = vs.spec.export_to
        for d in [*route_destinations(vs), *mirror_destinations(vs)]:
            service = ctx.find_service(d.host, vs.namespace, export_to)
            if service is None:
                what = "mirror host" if d.mirror else "host"
                yield msg.REFERENCED_RESOURCE_NOT_FOUND.at(vs, what, d.host, path=d.path)
                continue
            yield from _check_port(vs, d, service)


def _check_port(vs: Resource, d: Dest, service: MeshService) -> Iterator[Problem]:
    numbers = [p.number for p in service.ports]
    if d.port is None:
        if len(numbers) > 1:
            ports = "[" + " ".join(str(n) for n in numbers) + "]"
            yield msg.VS_DESTINATION_PORT_SELECTOR_REQUIRED.at(vs, d.host, ports, path=d.path)
        return
    if numbers and d.port not in numbers:
        path = d.path.rpartition(".")[0] + ".port.number"
        yield msg.REFERENCED_RESOURCE_NOT_FOUND.at(vs, "host:port", f"{d.host}:{d.port}", path=path)


def _subset_routes(ctx: AnalysisContext) -> dict[str, list[Resource]]:
    """Resolved host -> VirtualServices that route that host, one of their own hosts, to a subset."""
    found: dict[str, list[Resource]] = {}
    for vs in ctx.of_kind("VirtualService"):
        own = {fqdn(h, vs.namespace) for h in vs.spec.hosts or []}
        for d in route_destinations(vs):
            host = fqdn(d.host, vs.namespace)
            routed = found.setdefault(host, [])
            if d.path.startswith("spec.http") and d.subset and host in own and vs not in routed:
                routed.append(vs)
    return found


def _ingress_subsets(ctx: AnalysisContext) -> Iterator[Problem]:
    """IST0140: a gateway's route to a host without a subset is not split by the subsets another
    VirtualService defines for that host: those apply to sidecars, not to gateway requests."""
    by_host = _subset_routes(ctx)
    for vs in ctx.of_kind("VirtualService"):
        if not [g for g in vs.spec.gateways or [] if g != MESH_GATEWAY]:
            continue
        for d in route_destinations(vs):
            if d.subset or not d.path.startswith("spec.http"):
                continue
            for other in by_host.get(fqdn(d.host, vs.namespace), []):
                if other is not vs:
                    yield msg.INGRESS_ROUTE_RULES_NOT_AFFECTED.at(
                        vs,
                        f"{other.namespace}/{other.name}",
                        f"{vs.namespace}/{vs.name}",
                        path=d.path,
                    )


DESTINATION_HOST = Analyzer(
    "virtualservice.DestinationHostAnalyzer",
    "Checks the destination hosts associated with each virtual service",
    lambda ctx: [*_destination_hosts(ctx), *_ingress_subsets(ctx)],
    ("IST0101", "IST0112", "IST0140"),
)


def _rules_by_host(ctx: AnalysisContext) -> tuple[dict[str, list[Resource]], list[Resource]]:
    """DestinationRules indexed by their resolved host; wildcard-host rules listed apart."""
    found: tuple[dict[str, list[Resource]], list[Resource]] | None = ctx.memo.get("dr-hosts")
    if found is None:
        exact: dict[str, list[Resource]] = {}
        wildcard: list[Resource] = []
        for dr in ctx.of_kind("DestinationRule"):
            host = fqdn(dr.spec.host or "", dr.namespace)
            if host.startswith("*"):
                wildcard.append(dr)
            else:
                exact.setdefault(host, []).append(dr)
        found = ctx.memo["dr-hosts"] = (exact, wildcard)
    return found


def _subset_defined(ctx: AnalysisContext, host: str, namespace: str, subset: str) -> bool:
    exact, wildcard = _rules_by_host(ctx)
    for dr in [*exact.get(host, []), *wildcard]:
        spec: Any = dr.spec
        if not ctx.exported_to(dr, namespace):
            continue
        dr_host = fqdn(spec.host or "", dr.namespace)
        same = dr_host == host or (dr_host.startswith("*") and host_matches(dr_host, host))
        if same and any(s.name == subset for s in spec.subsets or []):
            return True
    return False


def _destination_rules(ctx: AnalysisContext) -> Iterator[Problem]:
    for vs in ctx.of_kind("VirtualService"):
        for d in [*route_destinations(vs), *mirror_destinations(vs)]:
            if not d.subset:
                continue
            host = ctx.resolve_host(d.host, vs.namespace)
            if not _subset_defined(ctx, host, vs.namespace, d.subset):
                path = d.path.rpartition(".")[0] + ".subset"
                yield msg.REFERENCED_RESOURCE_NOT_FOUND.at(
                    vs, "host+subset in destinationrule", f"{d.host}+{d.subset}", path=path
                )


DESTINATION_RULE = Analyzer(
    "virtualservice.DestinationRuleAnalyzer",
    "Checks the destination rules associated with each virtual service",
    _destination_rules,
    ("IST0101",),
)


def gateway_hosts(gw: Resource, vs_namespace: str) -> list[str]:
    """Hosts of a Gateway's servers visible to VirtualServices in ``vs_namespace``."""
    out = []
    for server in gw.spec.servers or []:
        for h in server.hosts or []:
            ns, sep, name = h.partition("/")
            if not sep:
                out.append(h)
            elif ns == "*" or (ns == "." and gw.namespace == vs_namespace) or ns == vs_namespace:
                out.append(name)
    return out


#: Istio names the Gateways it generates for a Kubernetes Gateway API listener
#: ``<gateway>-istio-autogenerated-k8s-gateway-<listener>`` (``~`` separators in newer releases).
INTERNAL_GATEWAY_MARK = "istio-autogenerated-k8s-gateway"


def is_internal_gateway(ref: str) -> bool:
    """Whether a gateway reference names an implementation-generated internal Gateway."""
    name = ref.partition("/")[2] or ref
    return any(f"{sep}{INTERNAL_GATEWAY_MARK}{sep}" in name for sep in ("-", "~"))


def _gateways(ctx: AnalysisContext) -> Iterator[Problem]:
    for vs in ctx.of_kind("VirtualService"):
        hosts = list(vs.spec.hosts or [])
        for i, ref in enumerate(vs.spec.gateways or []):
            if ref == MESH_GATEWAY:
                continue
            path = f"spec.gateways[{i}]"
            if is_internal_gateway(ref):
                yield msg.REFERENCED_INTERNAL_GATEWAY.at(
                    vs, f"{vs.namespace}/{vs.name}", ref, path=path
                )
                continue
            gw = ctx.gateway_for(ref, vs.namespace)
            if gw is None:
                yield msg.REFERENCED_RESOURCE_NOT_FOUND.at(vs, "gateway", ref, path=path)
                continue
            gw_hosts = gateway_hosts(gw, vs.namespace)
            if hosts and not any(host_matches(g, h) for g in gw_hosts for h in hosts):
                ns, name = split_namespaced(ref, vs.namespace)
                yield msg.VS_HOST_NOT_FOUND_IN_GATEWAY.at(
                    vs,
                    "[" + " ".join(hosts) + "]",
                    f"{vs.namespace}/{vs.name}",
                    f"{ns}/{name}",
                    path=path,
                )


GATEWAY = Analyzer(
    "virtualservice.GatewayAnalyzer",
    "Checks the gateways associated with each virtual service",
    _gateways,
    ("IST0101", "IST0132", "IST0165"),
)

ANALYZERS = (DESTINATION_HOST, DESTINATION_RULE, GATEWAY)
