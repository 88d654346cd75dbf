"""Where opaque TCP and TLS traffic to a service goes: VirtualService ``tcp``/``tls`` routes.

In: the proxy's scope, a service and one of its TCP/TLS ports. Out: :class:`RouteChain` values,
one filter chain each on the port's outbound listener, in route order.

A route applies when one of its match blocks applies to the proxy and port (``port``,
``sourceLabels``, ``sourceNamespace``, ``gateways``; for ``tls`` also ``sniHosts`` covering the
service host). As in Istio, the ``destinationSubnets`` of the applying blocks become the chain's
destination prefix ranges (Envoy picks the most specific range the connection's original
destination falls in); a route with an applying block without subnets is the catch-all and ends
the list. ``sourceSubnet`` (which Istio accepts and ignores) becomes the chain's source prefix
ranges, so Envoy matches the connecting address. Without a catch-all route, the service's own
cluster ``outbound|<port>||<host>`` is. Each route's destinations become weighted clusters.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Any

from sailmesh.registry.model import Service, ServicePort
from sailmesh.snapshot.hosts import host_matches
from sailmesh.xds import names
from sailmesh.xds.matches import match_applies
from sailmesh.xds.route_build import destination_cluster
from sailmesh.xds.scope import ProxyScope, port_kind


@dataclass(frozen=True)
class RouteChain:
    """One route's filter chain: the prefix ranges it matches and its weighted clusters."""

    destinations: tuple[str, ...]
    sources: tuple[str, ...]
    weighted: tuple[tuple[str, int], ...]

    @property
    def catch_all(self) -> bool:
        return not self.destinations and not self.sources


def _cidrs(values: list[str]) -> tuple[str, ...]:
    """Normalized CIDRs (a bare address is its /32 or /128), invalid entries dropped
    (validation already reported them)."""
    out: list[str] = []
    for value in values:
        try:
            net = str(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            continue
        if net not in out:
            out.append(net)
    return tuple(out)


def _applying_blocks(
    scope: ProxyScope, route: Any, port: int, ns: str, sni: str | None
) -> list[Any] | None:
    """The route's match blocks that apply (``[None]`` for a route without matches), None
    when none does."""
    if not route.match:
        return [None]
    found = []
    for match in route.match:
        if sni is not None and not any(host_matches(h, sni) for h in match.sni_hosts or []):
            continue
        if match_applies(match, scope.proxy, port, ns):
            found.append(match)
    return found or None


def _route_chain(blocks: list[Any], weighted: list[tuple[str, int]]) -> RouteChain:
    """A block without a subnet makes the route match any destination (or any source)."""
    dests: list[str] = []
    sources: list[str] = []
    any_dest = any_source = False
    for block in blocks:
        subnets = list(getattr(block, "destination_subnets", None) or [])
        source = getattr(block, "source_subnet", None)
        any_dest = any_dest or not subnets
        any_source = any_source or not source
        dests += subnets
        sources += [source] if source else []
    return RouteChain(
        () if any_dest else _cidrs(dests),
        () if any_source else _cidrs(sources),
        tuple(weighted),
    )


def weighted_destinations(
    scope: ProxyScope, vs: Any, route: Any, port: int
) -> list[tuple[str, int]]:
    """A ``tcp``/``tls`` route's destinations as (cluster, weight), equal clusters summed and
    zero weights dropped (a lone destination keeps its traffic whatever its weight)."""
    out: dict[str, int] = {}
    for d in route.route or []:
        if d.destination is None or not d.destination.host:
            continue
        if d.weight is not None and d.weight <= 0 and len(route.route) > 1:
            continue
        cluster, _, _ = destination_cluster(scope, d.destination, vs, port)
        out[cluster] = out.get(cluster, 0) + (d.weight if d.weight is not None else 100)
    return list(out.items())


def tcp_route_chains(scope: ProxyScope, service: Service, port: ServicePort) -> list[RouteChain]:
    """The filter chains for TCP/TLS traffic to ``service`` on ``port``, the catch-all last."""
    default = RouteChain((), (), ((names.outbound_cluster(port.port, "", service.hostname), 100),))
    vs = scope.virtual_service_for(service.hostname)
    if vs is None:
        return [default]
    is_tls = port_kind(port) == "tls"
    sni = service.hostname if is_tls else None
    chains: list[RouteChain] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for route in (vs.spec.tls if is_tls else vs.spec.tcp) or []:
        blocks = _applying_blocks(scope, route, port.port, vs.namespace, sni)
        weighted = weighted_destinations(scope, vs, route, port.port) if blocks is not None else []
        if blocks is None or not weighted:
            continue
        chain = _unclaimed(_route_chain(blocks, weighted), seen)
        if chain is None:
            continue
        chains.append(chain)
        if chain.catch_all:
            return chains
    return [*chains, default]


def _unclaimed(chain: RouteChain, seen: set[tuple[str, tuple[str, ...]]]) -> RouteChain | None:
    """The chain without the destination ranges an earlier route already matches with the
    same sources (Envoy refuses two chains matching the same prefix: the first route wins);
    None when nothing is left."""
    wanted = chain.destinations or ("",)
    free = tuple(d for d in wanted if (d, chain.sources) not in seen)
    if not free:
        return None
    seen.update((d, chain.sources) for d in free)
    return replace(chain, destinations=tuple(d for d in free if d))


def tcp_destinations(
    scope: ProxyScope, service: Service, port: ServicePort
) -> list[tuple[str, int]]:
    """``[(cluster, weight)]`` of the catch-all route for ``service`` on ``port``."""
    return list(tcp_route_chains(scope, service, port)[-1].weighted)
