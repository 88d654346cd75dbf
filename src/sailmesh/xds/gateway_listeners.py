"""One gateway listener per merged server port (:mod:`sailmesh.xds.gateway_servers`).

In: a :class:`PortServers`, the gateway proxy's scope and translation options. Out: the
``Listener`` (None when no server of the port has anything to serve) and the names of the route
configurations its HTTP connection managers read.

- HTTP: one chain, HCM on RDS ``http.<port>`` (the gateway is the edge: it sets
  ``x-forwarded-for``).
- HTTPS/TLS (TLS inspector on the listener): a chain per server whose ``hosts`` become the
  chain's SNI ``server_names`` (``*``: any name). Terminating HTTPS servers: the server's TLS
  (:mod:`sailmesh.xds.gateway_tls`) and HCM on RDS ``https.<port>.<port name>.<gw>.<ns>``;
  terminating TLS servers: ``tcp`` routes; PASSTHROUGH servers: one chain per bound ``tls``
  route's SNI names, forwarding the encrypted stream (:mod:`sailmesh.xds.gateway_tcp`);
  AUTO_PASSTHROUGH servers: one chain per admitted service port and subset, its SNI
  ``outbound_.<port>_.<subset>_.<host>`` naming the cluster (:mod:`sailmesh.xds.gateway_sni_dnat`).
  Chains for a name already served earlier on the port are skipped (Envoy rejects duplicate
  matches).
- TCP: one chain with the first applicable ``tcp`` route.

Authorization (:mod:`sailmesh.xds.request_security`) runs in every HTTP connection manager and
before every TCP proxy (TCP servers, terminated TLS, passthrough TLS), as on Istio's gateways.

The listener is named ``<bind>_<port>`` (``0.0.0.0`` without ``bind``; the port the gateway
binds for the servers, the gateway Service's targetPort or the server port); it binds ``bind``
(or the runtime's ``TranslateOptions.gateway_bind``) on that port or the runtime's substitute.
"""

from __future__ import annotations

from collections.abc import Sequence

from envoy.config.core.v3 import base_pb2
from envoy.config.listener.v3 import listener_components_pb2 as lc_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from sailmesh.xds import filters, pb, request_security
from sailmesh.xds.gateway_servers import BoundServer, PortServers
from sailmesh.xds.gateway_sni_dnat import is_auto_passthrough, sni_dnat_specs
from sailmesh.xds.gateway_tcp import passthrough_routes, tcp_destinations, tcp_filter
from sailmesh.xds.gateway_tls import downstream_socket, sni_names, terminates
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.reporting import ListenerLogs, listener_logs
from sailmesh.xds.scope import ProxyScope


def http_route_config_name(port: int) -> str:
    return f"http.{port}"


def _hcm(
    scope: ProxyScope,
    stat_prefix: str,
    rds: str,
    port: int,
    logs: ListenerLogs,
) -> lc_pb2.Filter:
    found = filters.http_connection_manager(
        stat_prefix,
        rds_name=rds,
        outbound=True,
        logs=logs.http,
        security=request_security.request_filters(scope, port),
        tracing=logs.tracing,
    )
    hcm = hcm_pb2.HttpConnectionManager()
    found.typed_config.Unpack(hcm)
    hcm.use_remote_address.value = True  # the gateway is the edge: it sets x-forwarded-for
    hcm.xff_num_trusted_hops = 0
    hcm.server_name = "istio-envoy"
    found.typed_config.Pack(hcm)
    return found


class _Chains:
    """The filter chains of a TLS port, each SNI name (or the catch-all) served once."""

    def __init__(self) -> None:
        self.chains: list[lc_pb2.FilterChain] = []
        self._taken: set[str] = set()
        self._catch_all = False

    def add(
        self,
        server_names: Sequence[str],
        network_filters: Sequence[lc_pb2.Filter],
        socket: base_pb2.TransportSocket | None = None,
    ) -> None:
        fresh = [n for n in server_names if n not in self._taken]
        if (server_names and not fresh) or (not server_names and self._catch_all):
            return
        chain = lc_pb2.FilterChain(filters=list(network_filters))
        if fresh:
            chain.filter_chain_match.server_names.extend(fresh)
            self._taken.update(fresh)
        else:
            self._catch_all = True
        if socket is not None:
            chain.transport_socket.CopyFrom(socket)
        self.chains.append(chain)


def _tls_chains(
    scope: ProxyScope,
    port: PortServers,
    options: TranslateOptions,
    logs: ListenerLogs,
) -> tuple[list[lc_pb2.FilterChain], list[BoundServer]]:
    chains = _Chains()
    https: list[BoundServer] = []
    stat = f"outbound_{port.bind}_{port.number}"
    guard = request_security.connection_filters(scope, port.number)
    for bound in port.servers:
        settings = bound.server.tls
        if settings is not None and settings.mode == "PASSTHROUGH":
            for route in passthrough_routes(scope, bound):
                tcp = tcp_filter(scope, stat, route.weighted, logs.tcp)
                chains.add(route.server_names, [*guard, tcp])
            continue
        if is_auto_passthrough(bound):
            for spec in sni_dnat_specs(scope, bound):
                chains.add(
                    [spec.name], [*guard, tcp_filter(scope, stat, [(spec.name, 1)], logs.tcp)]
                )
            continue
        http = bound.protocol == "HTTPS"
        socket = downstream_socket(settings, http, options.sds) if terminates(settings) else None
        if socket is None:
            continue  # no certificate to present
        sni = sni_names(bound.server.hosts or [])
        if http:
            rds = bound.route_config_name(port.number)
            chains.add(sni, [_hcm(scope, stat, rds, port.number, logs)], socket)
            https.append(bound)
        elif weighted := tcp_destinations(scope, bound):
            chains.add(sni, [*guard, tcp_filter(scope, stat, weighted, logs.tcp)], socket)
    return chains.chains, https


def build_listener(
    scope: ProxyScope, port: PortServers, options: TranslateOptions
) -> tuple[listener_pb2.Listener | None, list[BoundServer]]:
    """The port's listener and its terminating HTTPS servers (each has a route config)."""
    logs = listener_logs(scope, options, "source")
    stat = f"outbound_{port.bind}_{port.number}"
    https: list[BoundServer] = []
    listener = listener_pb2.Listener(
        name=port.listener_name,
        address=pb.socket_address(
            options.gateway_bind or port.bind, options.gateway_listen_port(port.number)
        ),
        traffic_direction=base_pb2.TrafficDirection.OUTBOUND,
    )
    if port.kind == "http":
        rds = http_route_config_name(port.number)
        listener.filter_chains.add().filters.append(_hcm(scope, stat, rds, port.number, logs))
    elif port.kind == "tcp":
        weighted = tcp_destinations(scope, port.servers[0])
        if not weighted:
            return None, []
        chain = listener.filter_chains.add()
        chain.filters.extend(request_security.connection_filters(scope, port.number))
        chain.filters.append(tcp_filter(scope, stat, weighted, logs.tcp))
    else:
        chains, https = _tls_chains(scope, port, options, logs)
        if not chains:
            return None, []
        listener.listener_filters.append(filters.tls_inspector())
        listener.filter_chains.extend(chains)
    return listener, https
