"""Opaque traffic through a gateway: VirtualService ``tcp`` and ``tls`` routes bound to it.

In: a gateway proxy's scope, one server (its Gateway's ``ns/name``, port and ``hosts``) and the
VirtualServices bound to that Gateway. Out: ``tcp_proxy`` filters to the routes' destinations.

- TCP servers, and TLS servers that terminate TLS (``SIMPLE``, ``MUTUAL``...): the first
  ``tcp`` route (in VirtualService order) whose match blocks apply to the gateway and port.
- TLS servers in ``PASSTHROUGH`` mode: every ``tls`` route whose ``sniHosts`` the server's
  ``hosts`` admit becomes a filter chain for those SNI names, so the gateway forwards the
  client's TLS, still encrypted, to the destination that terminates it.
Weights as on sidecars (:mod:`sailmesh.xds.tcp_routes`); ``destinationSubnets`` and
``sourceSubnet`` are not evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.listener.v3 import listener_components_pb2 as lc_pb2

from sailmesh.config.resource import Resource
from sailmesh.snapshot.hosts import fqdn, host_matches
from sailmesh.xds import filters
from sailmesh.xds.gateway_servers import BoundServer
from sailmesh.xds.matches import match_applies
from sailmesh.xds.scope import ProxyScope
from sailmesh.xds.tcp_routes import weighted_destinations
from sailmesh.xds.tunnel import tunneling_config


@dataclass(frozen=True)
class SniRoute:
    """A passthrough filter chain: SNI names and where their connections go."""

    server_names: tuple[str, ...]
    weighted: tuple[tuple[str, int], ...]


def _bound(scope: ProxyScope, bound: BoundServer) -> list[Resource]:
    """VirtualServices bound to the server's Gateway with a host the server admits."""
    out = []
    for vs in scope.snapshot.virtual_services(bound.gateway.namespace, bound.gateway_name):
        hosts = [h if h == "*" else fqdn(h, vs.namespace) for h in vs.spec.hosts or []]
        if any(bound.admits(vs, h) for h in hosts):
            out.append(vs)
    return out


def _applies(scope: ProxyScope, bound: BoundServer, vs: Resource, match: Any) -> bool:
    gateways = frozenset({bound.gateway_name})
    port = bound.server.port.number
    return match_applies(match, scope.proxy, port, vs.namespace, gateways)


def tcp_destinations(scope: ProxyScope, bound: BoundServer) -> list[tuple[str, int]]:
    """``[(cluster, weight)]`` of the first applicable ``tcp`` route (empty: none)."""
    port = bound.server.port.number
    for vs in _bound(scope, bound):
        for route in vs.spec.tcp or []:
            if route.match and not any(_applies(scope, bound, vs, m) for m in route.match):
                continue
            weighted = weighted_destinations(scope, vs, route, port)
            if weighted:
                return weighted
    return []


def _admitted_sni(bound: BoundServer, vs: Resource, sni_hosts: Sequence[str]) -> list[str]:
    return [
        sni
        for sni in sni_hosts
        if bound.admits(vs, sni)
        or any(host_matches(h.rpartition("/")[2], sni) for h in bound.server.hosts or [])
    ]


def passthrough_routes(scope: ProxyScope, bound: BoundServer) -> list[SniRoute]:
    """The SNI chains of a PASSTHROUGH server, from the bound ``tls`` routes (first wins)."""
    port = bound.server.port.number
    out: list[SniRoute] = []
    taken: set[str] = set()
    for vs in _bound(scope, bound):
        for route in vs.spec.tls or []:
            for match in route.match or []:
                if not _applies(scope, bound, vs, match):
                    continue
                names = [
                    n for n in _admitted_sni(bound, vs, match.sni_hosts or []) if n not in taken
                ]
                weighted = weighted_destinations(scope, vs, route, port)
                if names and weighted:
                    taken.update(names)
                    out.append(SniRoute(tuple(names), tuple(weighted)))
    return out


def tcp_filter(
    scope: ProxyScope,
    stat_prefix: str,
    weighted: Sequence[tuple[str, int]],
    logs: Sequence[accesslog_pb2.AccessLog],
) -> lc_pb2.Filter:
    """The server's TCP proxy; a single destination tunnels when its DestinationRule says so
    (as Istio's gateways do)."""
    tunnel = tunneling_config(scope, weighted[0][0]) if len(weighted) == 1 else None
    return filters.tcp_proxy(stat_prefix, weighted=weighted, logs=logs, tunnel=tunnel)
