"""The ``virtualInbound`` listener (0.0.0.0:15006) of a capturing sidecar.

The ``original_dst`` listener filter restores the address the client dialled, so filter chains
match on ``destination_port``: one per workload target port to ``inbound|<port>||`` (HTTP ports
through an HTTP connection manager with the inline route config ``inbound|<port>||``, TCP
ports through ``tcp_proxy``; sniffed ``AUTO`` ports get both, told apart by the HTTP
inspector). Connections to 15006 itself go to ``BlackHoleCluster`` (loops), and undeclared
ports pass through to ``InboundPassthroughCluster``. Authorization filters
(:mod:`sailmesh.xds.request_security`) go before the router or ``tcp_proxy`` of every chain
but the blackhole, the passthrough included.
"""

from __future__ import annotations

from envoy.config.core.v3 import base_pb2
from envoy.config.listener.v3 import listener_components_pb2 as lc_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.config.route.v3 import route_pb2 as rc_pb2

from sailmesh.registry.model import HTTP_PROTOCOLS
from sailmesh.xds import filters, names, pb, request_security
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.plan import InboundPort, inbound_ports
from sailmesh.xds.scope import ProxyScope


def inbound_route_config(port: InboundPort) -> rc_pb2.RouteConfiguration:
    """``inbound|<port>||``: every request to the local app on that port."""
    cluster = names.inbound_cluster(port.port)
    action = route_pb2.RouteAction(cluster=cluster)
    action.timeout.CopyFrom(pb.duration(0))
    action.max_grpc_timeout.CopyFrom(pb.duration(0))
    route = route_pb2.Route(
        name=names.DEFAULT_ROUTE_NAME, match=route_pb2.RouteMatch(prefix="/"), route=action
    )
    route.decorator.operation = names.decorator_operation(port.service.hostname, port.port)
    vh = route_pb2.VirtualHost(
        name=names.inbound_virtual_host(port.name, port.port), domains=["*"], routes=[route]
    )
    return rc_pb2.RouteConfiguration(
        name=names.inbound_route_config(port.port),
        virtual_hosts=[vh],
        validate_clusters=pb.bool_value(False),
    )


def _chain(
    name: str,
    port: int | None,
    filter_: lc_pb2.Filter,
    alpn: tuple[str, ...] = (),
    before: list[lc_pb2.Filter] | None = None,
) -> lc_pb2.FilterChain:
    chain = lc_pb2.FilterChain(name=name, filters=[*(before or []), filter_])
    if port is not None:
        chain.filter_chain_match.destination_port.value = port
    chain.filter_chain_match.application_protocols.extend(alpn)
    return chain


def inbound_chains(
    scope: ProxyScope, port: InboundPort, options: TranslateOptions, log_path: str
) -> list[lc_pb2.FilterChain]:
    """Filter chains for one workload port."""
    logs = [
        *filters.access_logs(log_path, options.access_log_format),
        *request_security.audit_logs(scope, log_path),
    ]
    cluster = names.inbound_cluster(port.port)
    hcm = filters.http_connection_manager(
        names.inbound_stat_prefix(port.port),
        route_config=inbound_route_config(port),
        outbound=False,
        logs=logs,
        security=request_security.request_filters(scope, port.port),
    )
    tcp = filters.tcp_proxy(cluster, cluster=cluster, logs=logs)
    guard = request_security.connection_filters(scope, port.port)
    if port.protocol in HTTP_PROTOCOLS:
        return [_chain(names.inbound_filter_chain(port.port, "http"), port.port, hcm)]
    if port.protocol == "AUTO":
        return [
            _chain(
                names.inbound_filter_chain(port.port, "http"),
                port.port,
                hcm,
                filters.SNIFFED_HTTP_PROTOCOLS,
            ),
            _chain(names.inbound_filter_chain(port.port, "tcp"), port.port, tcp, before=guard),
        ]
    return [_chain(names.inbound_filter_chain(port.port, "tcp"), port.port, tcp, before=guard)]


def virtual_inbound(scope: ProxyScope, options: TranslateOptions) -> listener_pb2.Listener:
    """The ``virtualInbound`` listener."""
    log_path = options.log_path(scope.snapshot.mesh)
    logs = [
        *filters.access_logs(log_path, options.access_log_format),
        *request_security.audit_logs(scope, log_path),
    ]
    ports = inbound_ports(scope)
    listener = listener_pb2.Listener(
        name=names.VIRTUAL_INBOUND_LISTENER,
        address=pb.socket_address(names.WILDCARD_ADDRESS, names.INBOUND_CAPTURE_PORT),
        traffic_direction=base_pb2.TrafficDirection.INBOUND,
        listener_filters=[filters.original_dst_filter()],
    )
    if any(p.protocol == "AUTO" for p in ports):
        listener.listener_filters.append(filters.http_inspector())
        listener.continue_on_listener_filters_timeout = True
        listener.listener_filters_timeout.CopyFrom(
            pb.duration(options.protocol_detection_timeout_nanos)
        )
    listener.filter_chains.append(
        _chain(
            "virtualInbound-blackhole",
            names.INBOUND_CAPTURE_PORT,
            filters.tcp_proxy(names.BLACKHOLE_CLUSTER, cluster=names.BLACKHOLE_CLUSTER),
        )
    )
    for port in ports:
        listener.filter_chains.extend(inbound_chains(scope, port, options, log_path))
    listener.filter_chains.append(
        _chain(
            names.INBOUND_PASSTHROUGH_FILTER_CHAIN,
            None,
            filters.tcp_proxy(
                names.INBOUND_PASSTHROUGH_CLUSTER,
                cluster=names.INBOUND_PASSTHROUGH_CLUSTER,
                logs=logs,
            ),
            # Ports no service declares are authorized too (as TCP): a policy cannot be
            # bypassed by dialling an undeclared port of the workload.
            before=request_security.connection_filters(scope, 0),
        )
    )
    return listener
