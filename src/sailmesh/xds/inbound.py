"""The ``virtualInbound`` listener (0.0.0.0:15006) of a capturing sidecar.

The ``original_dst`` listener filter restores the address the client dialled, so filter chains
match on ``destination_port``: one set per workload target port to ``inbound|<port>||`` (HTTP
ports through an HTTP connection manager with the inline route config ``inbound|<port>||``, TCP
ports through ``tcp_proxy``; sniffed ``AUTO`` ports get both, told apart by the HTTP
inspector). Connections to 15006 itself go to ``BlackHoleCluster`` (loops), and undeclared
ports pass through to ``InboundPassthroughCluster``. Authorization filters
(:mod:`sailmesh.xds.request_security`) go before the router or ``tcp_proxy`` of every chain
but the blackhole, the passthrough chains included (as TCP: a policy cannot be bypassed by
dialling a port no service declares).

Mutual TLS: a proxy with a workload identity over SDS (``TranslateOptions.sds``) gets, per
port, the chains of the port's PeerAuthentication mode (:mod:`sailmesh.xds.peer_authn`,
:mod:`sailmesh.xds.inbound_tls`): STRICT terminates Istio mutual TLS only, PERMISSIVE also
accepts plaintext, DISABLE is plaintext. Undeclared ports follow the workload's mode (and
``portLevelMtls`` ports no service declares get chains of their own). The ``tls_inspector``
tells TLS from plaintext. A proxy without an identity keeps plaintext chains whatever the
policy says: it has no certificate to offer, so STRICT cannot be enforced there.

The HTTP connection managers forward the client's certificate details to the app in
``x-forwarded-client-cert`` as Istio's sidecars do (``APPEND_FORWARD``; ``By``, ``Hash``,
``Subject``, ``URI``, ``DNS``). On a plaintext connection (PERMISSIVE) a client's own
``x-forwarded-client-cert`` header is forwarded as it came: apps must trust it only when the
port is STRICT (Istio behaves the same).
"""

from __future__ import annotations

from collections.abc import Sequence

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.core.v3 import base_pb2
from envoy.config.listener.v3 import listener_components_pb2 as lc_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.config.route.v3 import route_pb2 as rc_pb2

from sailmesh.registry.model import HTTP_PROTOCOLS
from sailmesh.xds import filters, gateway_tls, names, pb, request_security, tls
from sailmesh.xds.inbound_tls import (
    ChainMatch,
    PortKind,
    apply_match,
    chain_matches,
    own_tls_matches,
    passthrough_matches,
    tls_inspector,
)
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.peer_authn import MtlsMode, PeerPolicy, workload_policy
from sailmesh.xds.plan import InboundPort, inbound_ports
from sailmesh.xds.reporting import listener_logs
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


def _port_kind(port: InboundPort) -> PortKind:
    if port.protocol in HTTP_PROTOCOLS:
        return "http"
    return "auto" if port.protocol == "AUTO" else "tcp"


def _secure(
    chain: lc_pb2.FilterChain, match: ChainMatch, trust_domains: Sequence[str]
) -> lc_pb2.FilterChain:
    if match.mtls:
        context = tls.istio_mutual_downstream(match.protocol == "http", trust_domains)
        chain.transport_socket.CopyFrom(tls.transport_socket(context))
    return chain


def inbound_chains(
    scope: ProxyScope,
    port: InboundPort,
    options: TranslateOptions,
    mode: MtlsMode | None = None,
) -> list[lc_pb2.FilterChain]:
    """Filter chains for one workload port in ``mode`` (None: no identity, plaintext),
    reporting ``reporter=destination`` for the port's service. A Sidecar ingress listener's
    own ``tls`` is terminated only where mutual TLS is off (DISABLE or no identity), as Istio
    does (the two would conflict)."""
    logs = listener_logs(scope, options, "destination", port.service.hostname)
    cluster = names.inbound_cluster(port.port)
    hcm = filters.http_connection_manager(
        names.inbound_stat_prefix(port.port),
        route_config=inbound_route_config(port),
        outbound=False,
        logs=logs.http,
        security=request_security.request_filters(scope, port.port),
        tracing=logs.tracing,
    )
    tcp = [
        *request_security.connection_filters(scope, port.port),
        filters.tcp_proxy(cluster, cluster=cluster, logs=logs.tcp),
    ]
    domains = scope.snapshot.mesh.trust_domains
    own_tls = port.tls is not None and mode in (None, "DISABLE")
    matches = (
        own_tls_matches(_port_kind(port)) if own_tls else chain_matches(mode, _port_kind(port))
    )
    out = []
    for match in matches:
        name = names.inbound_filter_chain(port.port, match.protocol, match.security, port.bind)
        chain = lc_pb2.FilterChain(name=name, filters=[hcm] if match.protocol == "http" else tcp)
        apply_match(chain, port.port, match)
        if own_tls:
            socket = gateway_tls.downstream_socket(port.tls, match.protocol == "http", sds=False)
            if socket is not None:
                chain.transport_socket.CopyFrom(socket)
        else:
            _secure(chain, match, domains)
        if port.sidecar is not None:
            chain.metadata.CopyFrom(pb.istio_metadata({"config": names.config_path(port.sidecar)}))
        out.append(chain)
    return out


def passthrough_chains(
    scope: ProxyScope,
    logs: Sequence[accesslog_pb2.AccessLog],
    mode: MtlsMode | None,
    port: int | None = None,
) -> list[lc_pb2.FilterChain]:
    """Chains to ``InboundPassthroughCluster`` for undeclared ports (``port``: one of them)."""
    proxy = [
        *request_security.connection_filters(scope, port or 0),
        filters.tcp_proxy(
            names.INBOUND_PASSTHROUGH_CLUSTER, cluster=names.INBOUND_PASSTHROUGH_CLUSTER, logs=logs
        ),
    ]
    domains = scope.snapshot.mesh.trust_domains
    out = []
    for match in passthrough_matches(mode):
        chain = lc_pb2.FilterChain(
            name=names.inbound_passthrough_chain(port, match.security), filters=proxy
        )
        apply_match(chain, port, match)
        out.append(_secure(chain, match, domains))
    return out


def _inspectors(
    listener: listener_pb2.Listener,
    chains: dict[int | None, list[lc_pb2.FilterChain]],
    sniff: bool,
    options: TranslateOptions,
) -> None:
    """TLS inspector (where a chain matches on TLS) and HTTP inspector (sniffed ports)."""
    inspects = {
        p: any(c.filter_chain_match.transport_protocol for c in cs) for p, cs in chains.items()
    }
    ports = [p for p in inspects if p is not None]
    found = tls_inspector(
        [p for p in ports if inspects[p]], [p for p in ports if not inspects[p]], inspects[None]
    )
    if found is not None:
        listener.listener_filters.append(found)
    if sniff:
        listener.listener_filters.append(filters.http_inspector())
    if found is not None or sniff:
        listener.continue_on_listener_filters_timeout = True
        listener.listener_filters_timeout.CopyFrom(
            pb.duration(options.protocol_detection_timeout_nanos)
        )


def virtual_inbound(scope: ProxyScope, options: TranslateOptions) -> listener_pb2.Listener:
    """The ``virtualInbound`` listener."""
    logs = listener_logs(scope, options, "destination").tcp
    ports = [p for p in inbound_ports(scope) if not p.bind_to_port]
    policy = workload_policy(scope.snapshot, scope.proxy) if options.sds else None
    listener = listener_pb2.Listener(
        name=names.VIRTUAL_INBOUND_LISTENER,
        address=pb.socket_address(names.WILDCARD_ADDRESS, names.INBOUND_CAPTURE_PORT),
        traffic_direction=base_pb2.TrafficDirection.INBOUND,
        listener_filters=[filters.original_dst_filter()],
    )
    blackhole = lc_pb2.FilterChain(
        name="virtualInbound-blackhole",
        filters=[filters.tcp_proxy(names.BLACKHOLE_CLUSTER, cluster=names.BLACKHOLE_CLUSTER)],
    )
    blackhole.filter_chain_match.destination_port.value = names.INBOUND_CAPTURE_PORT
    chains: dict[int | None, list[lc_pb2.FilterChain]] = {}
    for port in ports:
        chains[port.port] = inbound_chains(scope, port, options, _mode(policy, port.port))
    for extra in _undeclared_port_levels(policy, {p.port for p in ports}):
        chains[extra] = passthrough_chains(scope, logs, _mode(policy, extra), extra)
    chains[None] = passthrough_chains(scope, logs, policy.mode if policy else None)
    _inspectors(listener, chains, any(p.protocol == "AUTO" for p in ports), options)
    listener.filter_chains.append(blackhole)
    for found in chains.values():
        listener.filter_chains.extend(found)
    return listener


def bound_inbound_listeners(
    scope: ProxyScope, options: TranslateOptions
) -> list[listener_pb2.Listener]:
    """Real listeners for Sidecar ingress ports with ``captureMode: NONE``: bound to
    ``bind`` (default: the pod IP; ``unix://`` binds a Unix socket) on the port, with the
    port's chains (Istio's
    ``inboundCustomListener``); the app is reached without iptables redirecting to them."""
    policy = workload_policy(scope.snapshot, scope.proxy) if options.sds else None
    out = []
    for port in inbound_ports(scope):
        if not port.bind_to_port:
            continue
        address = port.bind or scope.proxy.ip
        listener = listener_pb2.Listener(
            name=names.listener_name(address, port.port),
            address=pb.listen_address(address, port.port),
            traffic_direction=base_pb2.TrafficDirection.INBOUND,
        )
        chains = inbound_chains(scope, port, options, _mode(policy, port.port))
        if address.startswith(pb.UNIX_PREFIX):  # a socket has no destination port to match
            for chain in chains:
                chain.filter_chain_match.ClearField("destination_port")
        _inspectors(listener, {port.port: chains, None: []}, port.protocol == "AUTO", options)
        listener.filter_chains.extend(chains)
        out.append(listener)
    return out


def _mode(policy: PeerPolicy | None, port: int) -> MtlsMode | None:
    return policy.for_port(port) if policy is not None else None


def _undeclared_port_levels(policy: PeerPolicy | None, declared: set[int]) -> list[int]:
    """``portLevelMtls`` ports no service of the workload declares (they get passthrough
    chains of their own, as in Istio)."""
    if policy is None:
        return []
    return sorted(p for p in policy.ports if p not in declared)
