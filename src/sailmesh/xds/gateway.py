"""Translation for gateway (router) proxies: Gateway servers -> listeners, bound VirtualServices
-> route configs, credentialName Secrets -> SDS secrets, and the clusters/endpoints they route to.

A gateway proxy serves the Gateways whose ``selector`` matches its labels (in any namespace,
Istio's default). Servers are merged into one listener per ``bind``/port
(:mod:`sailmesh.xds.gateway_servers`), built by :mod:`sailmesh.xds.gateway_listeners`: HTTP
ports read RDS ``http.<port>``, terminating HTTPS servers ``https.<port>.<name>.<gw>.<ns>``;
their virtual hosts come from VirtualServices listing the Gateway in ``gateways``, for the
VirtualService hosts the server's ``hosts`` admit (``ns/host`` forms, ``*`` and ``.``
namespaces, wildcards). An HTTP server with ``tls.httpsRedirect`` answers 301 to https://
(``require_tls``), also for hosts no VirtualService serves. TLS and TCP servers forward with
``tcp``/``tls`` routes (:mod:`sailmesh.xds.gateway_tcp`); AUTO_PASSTHROUGH servers route by
SNI to clusters named ``outbound_.<port>_.<subset>_.<host>``
(:mod:`sailmesh.xds.gateway_sni_dnat`). The Secrets the servers and DestinationRules name
(``credentialName``) are served as SDS secrets over ADS (:mod:`sailmesh.xds.credentials`).

A server port that is a port of the gateway's Service binds that port's ``targetPort``
(Istio's ``resolvePorts``, :mod:`sailmesh.registry.gateway_ports`): listener ``0.0.0.0_8080``
and routes ``http.8080`` for a server on port 80 of a Service mapping 80 -> 8080.
``TranslateOptions.gateway_bind``/``gateway_ports`` move the bound address and ports (the local
runtime's explicit mode: 127.0.0.1, substitutes for taken ports); the listener keeps its name
``<bind>_<listen port>``.
"""

from __future__ import annotations

from typing import Any

from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.config.route.v3 import route_pb2 as rc_pb2

from sailmesh.config.resource import Resource
from sailmesh.registry.gateway_ports import gateway_listen_port
from sailmesh.registry.model import selector_matches
from sailmesh.snapshot.hosts import fqdn
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.typeurls import CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET
from sailmesh.xds import names, pb
from sailmesh.xds.clusters import build_clusters
from sailmesh.xds.credentials import credential_secrets, rule_credentials, server_credentials
from sailmesh.xds.endpoints import build_endpoints
from sailmesh.xds.gateway_listeners import build_listener, http_route_config_name
from sailmesh.xds.gateway_servers import BoundServer, PortServers, merge_servers
from sailmesh.xds.gateway_sni_dnat import sni_dnat_clusters, sni_dnat_endpoints
from sailmesh.xds.gateway_tls import sni_names
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.route_build import vs_routes
from sailmesh.xds.scope import ProxyScope, build_scope


def route_config_name(port: int) -> str:
    return http_route_config_name(port)


def gateways_for(proxy: Proxy, snapshot: MeshSnapshot) -> list[Resource]:
    return [
        gw
        for gw in snapshot.of_kind("Gateway")
        if gw.spec.selector and selector_matches(gw.spec.selector, proxy.labels)
    ]


def _virtual_hosts(
    scope: ProxyScope, servers: list[BoundServer], used: set[str]
) -> list[route_pb2.VirtualHost]:
    """The virtual hosts of ``servers`` (``used``: domains taken by earlier ones)."""
    hosts: list[route_pb2.VirtualHost] = []
    for bound in servers:
        gateway_name = bound.gateway_name
        redirect = bound.https_redirect
        port = bound.number  # VirtualService match.port names the server's own port
        for vs in scope.snapshot.virtual_services(bound.gateway.namespace, gateway_name):
            for raw in vs.spec.hosts or []:
                host = raw if raw == "*" else fqdn(raw, vs.namespace)
                if host in used or not bound.admits(vs, host):
                    continue
                routes = vs_routes(scope, vs, host, port, frozenset({gateway_name}))
                if not routes:
                    continue
                used.add(host)
                hosts.append(_virtual_host(host, port, routes, redirect))
        if redirect:  # Istio answers the redirect even for hosts no VirtualService serves
            for host in sni_names(bound.server.hosts or []) or ["*"]:
                if host not in used:
                    used.add(host)
                    hosts.append(_virtual_host(host, port, [], True))
    return hosts


def _virtual_host(
    host: str, port: int, routes: list[route_pb2.Route], redirect: bool
) -> route_pb2.VirtualHost:
    found = route_pb2.VirtualHost(
        name=names.virtual_host(host, port),
        domains=[host],
        routes=routes,
        include_request_attempt_count=True,
    )
    if redirect:  # plain HTTP gets 301 to https:// (Envoy checks this before any route)
        found.require_tls = route_pb2.VirtualHost.ALL
    return found


def _route_config(
    name: str, scope: ProxyScope, servers: list[BoundServer]
) -> rc_pb2.RouteConfiguration:
    # Most specific domains first is Envoy's own rule; "*" hosts naturally lose to exact ones.
    return rc_pb2.RouteConfiguration(
        name=name,
        virtual_hosts=_virtual_hosts(scope, servers, set()),
        validate_clusters=pb.bool_value(False),
        ignore_port_in_host_matching=True,  # Istio's gateways: the Host's port is not matched
    )


def gateway_ports(scope: ProxyScope, gateways: list[Resource]) -> list[PortServers]:
    """The gateway's listeners: its servers merged by the port it binds for each (the
    targetPort of its Service's port, :mod:`sailmesh.registry.gateway_ports`)."""
    proxy, services = scope.proxy, scope.snapshot.registry.services

    def listen_port(number: int) -> int:
        return gateway_listen_port(services, proxy.namespace, proxy.labels, number)

    return merge_servers(gateways, listen_port)


def _listeners_and_routes(
    scope: ProxyScope, ports: list[PortServers], options: TranslateOptions
) -> tuple[dict[str, Any], dict[str, Any]]:
    listeners: dict[str, Any] = {}
    routes: dict[str, Any] = {}
    for port in ports:
        listener, https = build_listener(scope, port, options)
        if listener is None:
            continue
        listeners[listener.name] = listener
        if port.kind == "http":
            name = http_route_config_name(port.number)
            routes[name] = _route_config(name, scope, port.servers)
        for bound in https:
            name = bound.route_config_name(port.number)
            routes[name] = _route_config(name, scope, [bound])
    return listeners, routes


def translate_gateway(
    proxy: Proxy, snapshot: MeshSnapshot, options: TranslateOptions
) -> dict[str, dict[str, Any]]:
    """All xDS resources of a gateway proxy, keyed by type URL."""
    scope = build_scope(proxy, snapshot)
    ports = gateway_ports(scope, gateways_for(proxy, snapshot))
    listeners, routes = _listeners_and_routes(scope, ports, options)
    credentials = server_credentials(b.server for p in ports for b in p.servers)
    credentials |= rule_credentials(snapshot)
    return {
        CLUSTER: build_clusters(scope, options) | sni_dnat_clusters(scope, ports, options),
        ENDPOINT: build_endpoints(scope) | sni_dnat_endpoints(scope, ports),
        LISTENER: listeners,
        ROUTE: routes,
        SECRET: credential_secrets(snapshot, proxy.namespace, credentials),
    }
