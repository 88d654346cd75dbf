"""RDS: route configurations of a sidecar, one per outbound HTTP port (``"9080"``).

Each route config has a virtual host ``<host>:<port>`` per service with that HTTP port, whose
domains are every name a client may use (Istio's ``generateVirtualHostDomains``): the FQDN; for
Kubernetes services the short name (only from the same namespace), ``name.ns.svc`` and
``name.ns``; the VIP. As in Istio since 1.16, the route config sets
``ignore_port_in_host_matching``, so ``reviews:9080`` matches ``reviews`` and no domain needs a
``:<port>`` twin (the listener already chose the port; half the domains, a fifth of the bytes of
a large route table). A domain already used by an earlier virtual host is not repeated (Envoy
rejects duplicates), so the oldest VirtualService / first service wins.

VirtualService hosts that name no service get virtual hosts of their own. The last virtual
host catches everything else: ``allow_any`` -> ``PassthroughCluster`` (ALLOW_ANY) or
``block_all`` -> 502 (REGISTRY_ONLY), as in Istio.

With Sidecar egress listeners that have a port, each HTTP port listener has its own route
config (``"<port>"``, or ``"<bind>:<port>"`` on another address) with only its hosts, and the
catch-all listener's hosts make the other ports' (:mod:`sailmesh.xds.egress_listeners`).

Explicit mode (interception ``NONE``): one route config ``http_proxy`` for the sidecar's
``http_proxy`` listener, with every service's HTTP ports. There the Host header is all that
identifies the destination, so domains always carry the port, and bare names only for port 80
(what ``http://reviews/`` sends); unknown hosts get 502 (no original destination to pass to).
"""

from __future__ import annotations

from collections.abc import Iterable

from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.config.route.v3 import route_pb2 as rc_pb2

from sailmesh.registry.model import Service
from sailmesh.snapshot.hosts import DOMAIN_SUFFIX
from sailmesh.xds import names, pb
from sailmesh.xds.egress_listeners import egress_views
from sailmesh.xds.route_build import default_route, vs_routes
from sailmesh.xds.scope import ProxyScope, port_kind

HTTP_KINDS = ("http", "auto")


def alt_hosts(hostname: str, proxy_namespace: str) -> list[str]:
    """Short forms of a Kubernetes service host a client in ``proxy_namespace`` may use."""
    suffix = "." + DOMAIN_SUFFIX
    if not hostname.endswith(suffix):
        return []
    parts = hostname[: -len(suffix)].split(".")
    if len(parts) != 2:
        return []
    name, ns = parts
    out = [name] if ns == proxy_namespace else []
    return [*out, f"{name}.{ns}.svc", f"{name}.{ns}"]


def service_domains(service: Service, port: int, proxy_namespace: str, explicit: bool) -> list[str]:
    """Every domain for ``service`` on ``port``, in Istio's order."""
    hosts = [service.hostname, *alt_hosts(service.hostname, proxy_namespace)]
    if service.vip:
        hosts.append(service.vip)
    return _domains(hosts, port, explicit)


def _domains(hosts: Iterable[str], port: int, explicit: bool) -> list[str]:
    """``hosts`` as domains: as they are where the route config ignores ports; in explicit mode
    (one route config for every port) ``host:port``, and also ``host`` for port 80."""
    if not explicit:
        return list(hosts)
    out: list[str] = []
    for host in hosts:
        if port == 80:
            out.append(host)
        out.append(f"{host}:{port}")
    return out


class _VirtualHosts:
    """Collects virtual hosts, dropping domains earlier virtual hosts already claimed."""

    def __init__(self) -> None:
        self.hosts: list[route_pb2.VirtualHost] = []
        self.used: set[str] = set()

    def add(self, name: str, domains: list[str], routes: list[route_pb2.Route]) -> None:
        fresh = [d for d in dict.fromkeys(domains) if d not in self.used]
        if not fresh or not routes:
            return
        self.used.update(fresh)
        vh = route_pb2.VirtualHost(
            name=name, domains=fresh, routes=routes, include_request_attempt_count=True
        )
        self.hosts.append(vh)


def catch_all(scope: ProxyScope, explicit: bool = False) -> route_pb2.VirtualHost:
    """``allow_any`` (to PassthroughCluster, or the Sidecar's egress proxy) or ``block_all``
    (502) for every other host."""
    if scope.outbound_policy == "ALLOW_ANY" and not explicit:
        action = route_pb2.RouteAction(cluster=scope.fallback_cluster)
        action.timeout.CopyFrom(pb.duration(0))
        action.max_grpc_timeout.CopyFrom(pb.duration(0))
        route = route_pb2.Route(
            name=names.ALLOW_ANY_VHOST, match=route_pb2.RouteMatch(prefix="/"), route=action
        )
        return route_pb2.VirtualHost(
            name=names.ALLOW_ANY_VHOST,
            domains=["*"],
            routes=[route],
            include_request_attempt_count=True,
        )
    route = route_pb2.Route(
        name=names.BLOCK_ALL_VHOST,
        match=route_pb2.RouteMatch(prefix="/"),
        direct_response=route_pb2.DirectResponseAction(status=502),
    )
    return route_pb2.VirtualHost(
        name=names.BLOCK_ALL_VHOST,
        domains=["*"],
        routes=[route],
        include_request_attempt_count=True,
    )


def _service_routes(scope: ProxyScope, service: Service, port: int) -> list[route_pb2.Route]:
    vs = scope.virtual_service_for(service.hostname)
    if vs is None:
        return [default_route(scope, service.hostname, port)]
    return vs_routes(scope, vs, service.hostname, port)


def _add_port(scope: ProxyScope, collector: _VirtualHosts, port: int, explicit: bool) -> None:
    for service in scope.services:
        sp = service.port(port)
        if sp is None or port_kind(sp) not in HTTP_KINDS:
            continue
        collector.add(
            names.virtual_host(service.hostname, port),
            service_domains(service, port, scope.proxy.namespace, explicit),
            _service_routes(scope, service, port),
        )
    for host, vs in scope.vs_only_hosts:
        collector.add(
            names.virtual_host(host, port),
            _domains([host], port, explicit),
            vs_routes(scope, vs, host, port),
        )


def http_ports(scope: ProxyScope) -> list[int]:
    """Outbound ports with at least one HTTP (or sniffed) service port, ascending."""
    ports = {p.port for s in scope.services for p in s.ports if port_kind(p) in HTTP_KINDS}
    return sorted(ports)


def outbound_route_config(
    scope: ProxyScope, port: int, bound: bool = False
) -> rc_pb2.RouteConfiguration:
    """The route config ``"<port>"``; ``bound``: of a listener bound to its port (no original
    destination: unknown hosts get 502, passing them through would loop to the listener)."""
    collector = _VirtualHosts()
    _add_port(scope, collector, port, explicit=False)
    hosts = [*collector.hosts, catch_all(scope, explicit=bound)]
    return rc_pb2.RouteConfiguration(
        name=names.outbound_route_config(port),
        virtual_hosts=hosts,
        validate_clusters=pb.bool_value(False),
        ignore_port_in_host_matching=True,
    )


def explicit_route_config(scope: ProxyScope) -> rc_pb2.RouteConfiguration:
    """The route config of the explicit (``http_proxy``) listener: all HTTP ports at once."""
    collector = _VirtualHosts()
    for port in http_ports(scope):
        _add_port(scope, collector, port, explicit=True)
    return rc_pb2.RouteConfiguration(
        name=names.EXPLICIT_PROXY_ROUTE,
        virtual_hosts=[*collector.hosts, catch_all(scope, explicit=True)],
        validate_clusters=pb.bool_value(False),
    )


def build_routes(scope: ProxyScope) -> dict[str, rc_pb2.RouteConfiguration]:
    """RDS resources of a sidecar, keyed by route config name."""
    if scope.proxy.interception == "NONE":
        config = explicit_route_config(scope)
        return {config.name: config}
    views = egress_views(scope)
    if not views:
        return {str(port): outbound_route_config(scope, port) for port in http_ports(scope)}
    found: dict[str, rc_pb2.RouteConfiguration] = {}
    for view in views:
        if view.port is None:
            for port in http_ports(view.scope):
                if str(port) not in found:
                    found[str(port)] = outbound_route_config(view.scope, port)
        elif view.http and view.route_name not in found:
            config = outbound_route_config(view.scope, view.port, bound=view.bind_to_port)
            config.name = view.route_name
            found[view.route_name] = config
    return found
