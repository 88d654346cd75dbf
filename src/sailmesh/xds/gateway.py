"""Translation for gateway (router) proxies: Gateway servers -> listeners, bound VirtualServices
-> route configs ``http.<port>``, and the clusters/endpoints they route to.

A gateway proxy serves the Gateways whose ``selector`` matches its labels (in any namespace,
Istio's default). Each HTTP server port becomes a listener ``0.0.0.0_<port>`` bound on the
port, with RDS ``http.<port>``; its virtual hosts come from VirtualServices listing the
Gateway in ``gateways``, for the VirtualService hosts the server's ``hosts`` admit
(``ns/host`` forms, ``*`` and ``.`` namespaces, wildcards). HTTPS/TLS servers are not
translated yet (their ports get no listener). ``TranslateOptions.gateway_bind``/``gateway_ports``
move the bound address and ports (the local runtime's explicit mode: 127.0.0.1, substitutes for
taken ports); the listener keeps its name ``0.0.0.0_<server port>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from envoy.config.core.v3 import base_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.config.route.v3 import route_pb2 as rc_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from sailmesh.config.resource import Resource
from sailmesh.registry.model import selector_matches
from sailmesh.snapshot.hosts import fqdn, host_matches
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.typeurls import CLUSTER, ENDPOINT, LISTENER, ROUTE
from sailmesh.xds import filters, names, pb, request_security
from sailmesh.xds.clusters import build_clusters
from sailmesh.xds.endpoints import build_endpoints
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.route_build import vs_routes
from sailmesh.xds.scope import ProxyScope, build_scope

HTTP_PROTOCOLS = {"HTTP", "HTTP2", "GRPC", "GRPC-WEB"}


def route_config_name(port: int) -> str:
    return f"http.{port}"


@dataclass
class _Port:
    number: int
    servers: list[tuple[Resource, Any]] = field(default_factory=list)


def gateways_for(proxy: Proxy, snapshot: MeshSnapshot) -> list[Resource]:
    return [
        gw
        for gw in snapshot.of_kind("Gateway")
        if gw.spec.selector and selector_matches(gw.spec.selector, proxy.labels)
    ]


def _http_ports(gateways: list[Resource]) -> list[_Port]:
    ports: dict[int, _Port] = {}
    for gw in gateways:
        for server in gw.spec.servers or []:
            port = server.port
            if port is None or not port.number:
                continue
            if (port.protocol or "").upper() not in HTTP_PROTOCOLS:
                continue
            ports.setdefault(port.number, _Port(port.number)).servers.append((gw, server))
    return [ports[p] for p in sorted(ports)]


def _server_admits(gw: Resource, server: Any, vs: Resource, host: str) -> bool:
    """Whether ``server.hosts`` (``[ns/]host``) admit VirtualService host ``host``."""
    for entry in server.hosts or []:
        ns, _, pattern = entry.rpartition("/")
        if (
            ns
            and ns not in ("*", vs.namespace)
            and not (ns == "." and vs.namespace == gw.namespace)
        ):
            continue
        if host_matches(pattern, host) or host_matches(host, pattern):
            return True
    return False


def _route_config(
    proxy: Proxy, snapshot: MeshSnapshot, port: _Port, scope: Any
) -> rc_pb2.RouteConfiguration:
    hosts: list[route_pb2.VirtualHost] = []
    used: set[str] = set()
    for gw, server in port.servers:
        gateway_name = f"{gw.namespace}/{gw.name}"
        for vs in snapshot.virtual_services(gw.namespace, gateway_name):
            for raw in vs.spec.hosts or []:
                host = raw if raw == "*" else fqdn(raw, vs.namespace)
                if not _server_admits(gw, server, vs, host):
                    continue
                domains = [host] if host not in used else []
                routes = vs_routes(scope, vs, host, port.number, frozenset({gateway_name}))
                if not domains or not routes:
                    continue
                used.update(domains)
                hosts.append(
                    route_pb2.VirtualHost(
                        name=names.virtual_host(host, port.number),
                        domains=domains,
                        routes=routes,
                        include_request_attempt_count=True,
                    )
                )
    # Most specific domains first is Envoy's own rule; "*" hosts naturally lose to exact ones.
    return rc_pb2.RouteConfiguration(
        name=route_config_name(port.number),
        virtual_hosts=hosts,
        validate_clusters=pb.bool_value(False),
        ignore_port_in_host_matching=True,  # Istio's gateways: the Host's port is not matched
    )


def _listener(port: _Port, options: TranslateOptions, scope: ProxyScope) -> listener_pb2.Listener:
    snapshot = scope.snapshot
    logs = filters.access_logs(options.log_path(snapshot.mesh), options.log_format(snapshot.mesh))
    hcm_filter = filters.http_connection_manager(
        f"outbound_0.0.0.0_{port.number}",
        rds_name=route_config_name(port.number),
        outbound=True,
        logs=logs,
        security=request_security.request_filters(scope, port.number),
    )
    hcm = hcm_pb2.HttpConnectionManager()
    hcm_filter.typed_config.Unpack(hcm)
    hcm.use_remote_address.value = True  # the gateway is the edge: it sets x-forwarded-for
    hcm.xff_num_trusted_hops = 0
    hcm.server_name = "istio-envoy"
    hcm_filter.typed_config.Pack(hcm)
    listener = listener_pb2.Listener(
        name=names.listener_name(names.WILDCARD_ADDRESS, port.number),
        address=pb.socket_address(
            options.gateway_bind or names.WILDCARD_ADDRESS,
            options.gateway_listen_port(port.number),
        ),
        traffic_direction=base_pb2.TrafficDirection.OUTBOUND,
    )
    listener.filter_chains.add().filters.append(hcm_filter)
    return listener


def translate_gateway(
    proxy: Proxy, snapshot: MeshSnapshot, options: TranslateOptions
) -> dict[str, dict[str, Any]]:
    """All xDS resources of a gateway proxy, keyed by type URL."""
    scope = build_scope(proxy, snapshot)
    ports = _http_ports(gateways_for(proxy, snapshot))
    listeners = {x.name: x for x in (_listener(p, options, scope) for p in ports)}
    routes = {c.name: c for c in (_route_config(proxy, snapshot, p, scope) for p in ports)}
    return {
        CLUSTER: build_clusters(scope, options),
        ENDPOINT: build_endpoints(scope),
        LISTENER: listeners,
        ROUTE: routes,
    }
