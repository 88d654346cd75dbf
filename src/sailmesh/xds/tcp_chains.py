"""Outbound filter chains for TCP/TLS traffic to one service port.

In: the proxy's scope, a service, its port, a chain name, the match every chain starts from
(a TLS service's SNI, a ServiceEntry's CIDR range) and the listener's TCP access logs. Out: one
``FilterChain`` per :class:`~sailmesh.xds.tcp_routes.RouteChain`: its destination and source
subnets become ``prefix_ranges``/``source_prefix_ranges`` (a route's destination subnets replace
the base match's range, as in Istio), its destinations a ``tcp_proxy`` (tunnelling when the
single destination's DestinationRule says so, :mod:`sailmesh.xds.tunnel`). The catch-all chain
comes last and keeps the base name; the others are named by :func:`names.subnet_chain`.
"""

from __future__ import annotations

from collections.abc import Sequence

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.listener.v3 import listener_components_pb2 as lc_pb2

from sailmesh.registry.model import Service, ServicePort
from sailmesh.xds import filters, names, pb
from sailmesh.xds.scope import ProxyScope
from sailmesh.xds.tcp_routes import RouteChain, tcp_route_chains
from sailmesh.xds.tunnel import tunneling_config


def tcp_filter(
    scope: ProxyScope,
    service: Service,
    port: ServicePort,
    weighted: Sequence[tuple[str, int]],
    logs: Sequence[accesslog_pb2.AccessLog],
) -> lc_pb2.Filter:
    """The ``tcp_proxy`` of one route (stats under its cluster, or the service's when split)."""
    single = len(weighted) == 1
    stat = weighted[0][0] if single else names.outbound_cluster(port.port, "", service.hostname)
    tunnel = tunneling_config(scope, weighted[0][0]) if single else None
    return filters.tcp_proxy(stat, weighted=weighted, logs=logs, tunnel=tunnel)


def _match(base: lc_pb2.FilterChainMatch, route: RouteChain) -> lc_pb2.FilterChainMatch:
    match = lc_pb2.FilterChainMatch()
    match.CopyFrom(base)
    if route.destinations:
        del match.prefix_ranges[:]
        match.prefix_ranges.extend(pb.cidr_range(c) for c in route.destinations)
    match.source_prefix_ranges.extend(pb.cidr_range(c) for c in route.sources)
    return match


def tcp_chains(
    scope: ProxyScope,
    service: Service,
    port: ServicePort,
    name: str,
    base: lc_pb2.FilterChainMatch | None,
    logs: Sequence[accesslog_pb2.AccessLog],
) -> list[lc_pb2.FilterChain]:
    """The chains of TCP/TLS traffic to ``service`` on ``port``, the catch-all last."""
    base = base or lc_pb2.FilterChainMatch()
    out: list[lc_pb2.FilterChain] = []
    for index, route in enumerate(tcp_route_chains(scope, service, port)):
        chain = lc_pb2.FilterChain(
            name=name if route.catch_all else names.subnet_chain(name, index),
            filters=[tcp_filter(scope, service, port, route.weighted, logs)],
        )
        match = _match(base, route)
        if match.ByteSize():
            chain.filter_chain_match.CopyFrom(match)
        out.append(chain)
    return out
