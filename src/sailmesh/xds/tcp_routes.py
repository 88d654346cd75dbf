"""Where opaque TCP and TLS traffic to a service goes: VirtualService ``tcp``/``tls`` routes.

The first route (in order) whose match blocks apply to the proxy and port wins (``port``,
``sourceLabels``, ``sourceNamespace``, ``gateways``; for ``tls`` also ``sniHosts`` covering the
service host); its destinations become weighted clusters. Without one, the service's own
cluster ``outbound|<port>||<host>``. ``destinationSubnets``/``sourceSubnet`` are not evaluated.
"""

from __future__ import annotations

from typing import Any

from sailmesh.registry.model import Service, ServicePort, selector_matches
from sailmesh.snapshot.hosts import host_matches
from sailmesh.snapshot.snapshot import MESH_GATEWAY, resolve_gateway_name
from sailmesh.xds import names
from sailmesh.xds.route_build import destination_cluster
from sailmesh.xds.scope import ProxyScope, port_kind


def _l4_applies(scope: ProxyScope, match: Any, port: int, vs_namespace: str) -> bool:
    proxy = scope.proxy
    if match.port and match.port != port:
        return False
    if match.source_labels and not selector_matches(match.source_labels, proxy.labels):
        return False
    if match.source_namespace and match.source_namespace != proxy.namespace:
        return False
    if match.gateways:
        resolved = {resolve_gateway_name(g, vs_namespace) for g in match.gateways}
        if MESH_GATEWAY not in resolved:
            return False
    return True


def _route_applies(scope: ProxyScope, route: Any, port: int, ns: str, sni: str | None) -> bool:
    if not route.match:
        return True
    for match in route.match:
        if sni is not None and not any(host_matches(h, sni) for h in match.sni_hosts or []):
            continue
        if _l4_applies(scope, match, port, ns):
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
