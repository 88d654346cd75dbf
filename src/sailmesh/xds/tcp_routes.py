"""Where opaque TCP and TLS traffic to a service goes: VirtualService ``tcp``/``tls`` routes.

The first route (in order) whose match blocks apply to the proxy and port wins (``port``,
``sourceLabels``, ``sourceNamespace``, ``gateways``; for ``tls`` also ``sniHosts`` covering the
service host); its destinations become weighted clusters. Without one, the service's own
cluster ``outbound|<port>||<host>``. ``destinationSubnets``/``sourceSubnet`` are not evaluated.
"""

from __future__ import annotations

from typing import Any

from sailmesh.registry.model import Service, ServicePort
from sailmesh.snapshot.hosts import host_matches
from sailmesh.xds import names
from sailmesh.xds.matches import match_applies
from sailmesh.xds.route_build import destination_cluster
from sailmesh.xds.scope import ProxyScope, port_kind


def _route_applies(scope: ProxyScope, route: Any, port: int, ns: str, sni: str | None) -> bool:
    if not route.match:
        return True
    for match in route.match:
        if sni is not None and not any(host_matches(h, sni) for h in match.sni_hosts or []):
            continue
        if match_applies(match, scope.proxy, port, ns):
            return True
    return False


def tcp_destinations(
    scope: ProxyScope, service: Service, port: ServicePort
) -> list[tuple[str, int]]:
    """``[(cluster, weight)]`` for TCP/TLS traffic to ``service`` on ``port``."""
    default = [(names.outbound_cluster(port.port, "", service.hostname), 100)]
    vs = scope.virtual_service_for(service.hostname)
    if vs is None:
        return default
    is_tls = port_kind(port) == "tls"
    routes = vs.spec.tls if is_tls else vs.spec.tcp
    sni = service.hostname if is_tls else None
    for route in routes or []:
        if not _route_applies(scope, route, port.port, vs.namespace, sni):
            continue
        out: dict[str, int] = {}
        for d in route.route or []:
            if d.destination is None or not d.destination.host:
                continue
            if d.weight is not None and d.weight <= 0 and len(route.route) > 1:
                continue
            cluster, _, _ = destination_cluster(scope, d.destination, vs, port.port)
            out[cluster] = out.get(cluster, 0) + (d.weight if d.weight is not None else 100)
        if out:
            return list(out.items())
    return default
