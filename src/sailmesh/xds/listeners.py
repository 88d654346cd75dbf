"""LDS: the listeners of a sidecar.

Capturing sidecars (interception ``REDIRECT``):

- ``virtualOutbound`` on 0.0.0.0:15001 with ``use_original_dst``: captured connections are handed
  to the listener matching their original destination; the rest take its passthrough chain to
  ``PassthroughCluster`` (ALLOW_ANY; the Sidecar's ``egressProxy`` cluster when it names one)
  or ``BlackHoleCluster`` (REGISTRY_ONLY);
- ``0.0.0.0_<port>`` per outbound HTTP port (``bind_to_port: false``): an HTTP connection
  manager using RDS ``"<port>"``; when a service on the port is ``AUTO`` (no declared protocol)
  the HTTP inspector sniffs and non-HTTP traffic passes through;
- ``<vip>_<port>`` per TCP/TLS service with a VIP: ``tcp_proxy`` to its cluster (or the weighted
  clusters of a VirtualService ``tcp``/``tls`` route); ``AUTO`` services with a VIP sniff and send
  HTTP to RDS ``"<port>"``, the rest to their cluster;
- ``0.0.0.0_<port>`` for TCP/TLS services without a VIP on ports no HTTP service uses: TLS
  services by SNI (TLS inspector), the first plain TCP service (or passthrough) otherwise;
- on ``0.0.0.0_<port>`` (the port's HTTP or TCP listener, or one of its own passing other
  traffic through), a chain per ServiceEntry address range (``addresses: [10.0.0.0/24]``) and
  TCP/TLS port, matching the range as destination prefix (Istio's ``destinationCIDR``; on a
  TLS port too the destination alone decides, there is no SNI match);
- VirtualService ``tcp``/``tls`` routes with ``destinationSubnets``/``sourceSubnet`` add chains
  matching those prefixes (:mod:`sailmesh.xds.tcp_chains`);
- with Sidecar egress listeners that have a port, those listeners instead
  (:mod:`sailmesh.xds.egress_listeners`): ``<bind>_<port>`` per port listener with only its
  hosts (bound to the port for ``captureMode: NONE``), the catch-all's as above;
- ``virtualInbound`` (see :mod:`sailmesh.xds.inbound`) and the bound listeners of Sidecar
  ingress listeners with ``captureMode: NONE``.

Explicit sidecars (interception ``NONE``): one HTTP listener ``127.0.0.1_<explicit_port>`` (the
``http_proxy`` the app is given) using RDS ``http_proxy``, where the Host header picks the
service (:mod:`sailmesh.xds.routes`); there is no capture, so no virtual listeners.
"""

from __future__ import annotations

from dataclasses import dataclass

from envoy.config.core.v3 import base_pb2
from envoy.config.listener.v3 import listener_components_pb2 as lc_pb2
from envoy.config.listener.v3 import listener_pb2

from sailmesh.registry.model import Service, ServicePort
from sailmesh.xds import filters, names, pb
from sailmesh.xds.egress_listeners import EgressView, egress_views
from sailmesh.xds.inbound import bound_inbound_listeners, virtual_inbound
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.reporting import ListenerLogs, listener_logs
from sailmesh.xds.routes import http_ports
from sailmesh.xds.scope import ProxyScope, port_kind
from sailmesh.xds.tcp_chains import tcp_chains


@dataclass
class _Ctx:
    scope: ProxyScope
    options: TranslateOptions

    @property
    def logs(self) -> ListenerLogs:
        """Access logs and metrics of outbound listeners (``reporter=source``)."""
        return listener_logs(self.scope, self.options, "source")

    @property
    def fallback_cluster(self) -> str:
        return self.scope.fallback_cluster


def _listener(name: str, address: str, port: int, bind: bool) -> listener_pb2.Listener:
    listener = listener_pb2.Listener(
        name=name,
        address=pb.listen_address(address, port),
        traffic_direction=base_pb2.TrafficDirection.OUTBOUND,
    )
    if not bind:
        listener.bind_to_port.value = False
    return listener


def _passthrough_chain(ctx: _Ctx) -> lc_pb2.FilterChain:
    cluster = ctx.fallback_cluster
    return lc_pb2.FilterChain(
        name=names.PASSTHROUGH_FILTER_CHAIN,
        filters=[filters.tcp_proxy(cluster, cluster=cluster, logs=ctx.logs.tcp)],
    )


def _sniff(ctx: _Ctx, listener: listener_pb2.Listener) -> None:
    listener.listener_filters.append(filters.http_inspector())
    listener.continue_on_listener_filters_timeout = True
    listener.listener_filters_timeout.CopyFrom(
        pb.duration(ctx.options.protocol_detection_timeout_nanos)
    )


def _hcm(ctx: _Ctx, address: str, port: int, rds: str) -> lc_pb2.Filter:
    return filters.http_connection_manager(
        names.outbound_stat_prefix(address, port),
        rds_name=rds,
        outbound=True,
        logs=ctx.logs.http,
        tracing=ctx.logs.tracing,
    )


def virtual_outbound(ctx: _Ctx) -> listener_pb2.Listener:
    """``virtualOutbound``: the capture listener on 15001."""
    listener = _listener(
        names.VIRTUAL_OUTBOUND_LISTENER, names.WILDCARD_ADDRESS, names.OUTBOUND_CAPTURE_PORT, True
    )
    listener.use_original_dst.value = True
    listener.filter_chains.append(_passthrough_chain(ctx))
    return listener


def http_listener(ctx: _Ctx, port: int, sniff: bool) -> listener_pb2.Listener:
    """``0.0.0.0_<port>`` for HTTP services on ``port``."""
    address = names.WILDCARD_ADDRESS
    listener = _listener(names.listener_name(address, port), address, port, False)
    hcm = _hcm(ctx, address, port, names.outbound_route_config(port))
    chain = lc_pb2.FilterChain(name=names.listener_name(address, port), filters=[hcm])
    if sniff:
        _sniff(ctx, listener)
        chain.filter_chain_match.application_protocols.extend(filters.SNIFFED_HTTP_PROTOCOLS)
        listener.default_filter_chain.CopyFrom(_passthrough_chain(ctx))
    listener.filter_chains.append(chain)
    return listener


def _base_chain(
    ctx: _Ctx, service: Service, port: ServicePort, name: str
) -> list[lc_pb2.FilterChain]:
    return tcp_chains(ctx.scope, service, port, name, None, ctx.logs.tcp)


def vip_listener(ctx: _Ctx, service: Service, port: ServicePort) -> listener_pb2.Listener:
    """``<vip>_<port>`` for a TCP, TLS or sniffed service with a VIP."""
    vip = service.vip or ""
    name = names.listener_name(vip, port.port)
    listener = _listener(name, vip, port.port, False)
    *subnets, tcp_chain = _base_chain(ctx, service, port, name)
    if port_kind(port) == "auto":
        _sniff(ctx, listener)
        http_chain = lc_pb2.FilterChain(
            name=f"{name}_http", filters=[_hcm(ctx, vip, port.port, str(port.port))]
        )
        http_chain.filter_chain_match.application_protocols.extend(filters.SNIFFED_HTTP_PROTOCOLS)
        listener.filter_chains.extend([http_chain, *subnets])
        listener.default_filter_chain.CopyFrom(tcp_chain)
    else:
        listener.filter_chains.extend([*subnets, tcp_chain])
    return listener


def wildcard_tcp_listener(
    ctx: _Ctx, port: int, members: list[tuple[Service, ServicePort]]
) -> listener_pb2.Listener:
    """``0.0.0.0_<port>`` for TCP/TLS services without a VIP."""
    address = names.WILDCARD_ADDRESS
    name = names.listener_name(address, port)
    listener = _listener(name, address, port, False)
    default: list[lc_pb2.FilterChain] = []
    by_sni = False
    for service, sp in members:
        if port_kind(sp) == "tls":
            sni = lc_pb2.FilterChainMatch(server_names=[service.hostname])
            chain_name = names.outbound_cluster(port, "", service.hostname)
            listener.filter_chains.extend(
                tcp_chains(ctx.scope, service, sp, chain_name, sni, ctx.logs.tcp)
            )
            by_sni = True
        elif not default:
            default = _base_chain(ctx, service, sp, name)
    *subnets, fallback = default or [_passthrough_chain(ctx)]
    listener.filter_chains.extend(subnets)
    if by_sni:
        listener.listener_filters.append(filters.tls_inspector())
        listener.default_filter_chain.CopyFrom(fallback)
    else:
        listener.filter_chains.append(fallback)
    return listener


def add_cidr_chains(
    ctx: _Ctx, listener: listener_pb2.Listener, members: list[tuple[Service, ServicePort]]
) -> None:
    """The chains of ServiceEntries' address ranges on their port's ``0.0.0.0_<port>``
    listener, matching the range (Istio's ``destinationCIDR``); a range already matched by
    an earlier service (by hostname) is not added again, as Envoy refuses equal matches."""
    seen = {
        c.filter_chain_match.SerializeToString(deterministic=True) for c in listener.filter_chains
    }
    for service, sp in members:
        for cidr in service.cidrs:
            base = lc_pb2.FilterChainMatch(prefix_ranges=[pb.cidr_range(cidr)])
            name = names.cidr_chain(cidr, sp.port)
            for chain in tcp_chains(ctx.scope, service, sp, name, base, ctx.logs.tcp):
                key = chain.filter_chain_match.SerializeToString(deterministic=True)
                if key not in seen:
                    seen.add(key)
                    listener.filter_chains.append(chain)


def _cidr_only_listener(ctx: _Ctx, port: int) -> listener_pb2.Listener:
    """``0.0.0.0_<port>`` holding only address-range chains: other traffic passes through."""
    address = names.WILDCARD_ADDRESS
    listener = _listener(names.listener_name(address, port), address, port, False)
    listener.default_filter_chain.CopyFrom(_passthrough_chain(ctx))
    return listener


def outbound_port_listeners(ctx: _Ctx) -> list[listener_pb2.Listener]:
    """The per-port outbound listeners of a capturing sidecar: of the whole scope, or of each
    Sidecar egress listener when one has a port (:mod:`sailmesh.xds.egress_listeners`;
    listeners are unique by address and port, the first egress listener wins)."""
    views = egress_views(ctx.scope)
    if not views:
        return service_port_listeners(ctx)
    found: dict[str, listener_pb2.Listener] = {}
    for view in views:
        own = _Ctx(view.scope, ctx.options)
        if view.port is None:
            built = service_port_listeners(own)
        elif view.http:
            built = [egress_http_listener(own, view)]
        elif view.address == names.WILDCARD_ADDRESS:
            built = service_port_listeners(own, only_port=view.port)
        else:
            built = [egress_tcp_listener(own, view)]
        for listener in built:
            found.setdefault(listener.name, listener)
    return list(found.values())


def service_port_listeners(ctx: _Ctx, only_port: int | None = None) -> list[listener_pb2.Listener]:
    """The outbound listeners of the scope's services (on ``only_port`` only, when given)."""
    http = {p for p in http_ports(ctx.scope) if only_port in (None, p)}
    sniffed: set[int] = set()
    vips: dict[str, tuple[Service, ServicePort]] = {}
    wildcard: dict[int, list[tuple[Service, ServicePort]]] = {}
    ranges: dict[int, list[tuple[Service, ServicePort]]] = {}
    for service in ctx.scope.services:
        for sp in service.ports:
            if only_port not in (None, sp.port):
                continue
            kind = port_kind(sp)
            if kind == "auto":
                sniffed.add(sp.port)
            if kind in ("tcp", "tls") and service.cidrs:
                ranges.setdefault(sp.port, []).append((service, sp))
            if kind in ("http", "udp") or (kind == "auto" and not service.vip):
                continue
            if service.vip:
                vips.setdefault(names.listener_name(service.vip, sp.port), (service, sp))
            elif sp.port not in http and not service.cidrs:
                wildcard.setdefault(sp.port, []).append((service, sp))
    by_port = {port: http_listener(ctx, port, port in sniffed) for port in sorted(http)}
    by_port.update({port: wildcard_tcp_listener(ctx, port, wildcard[port]) for port in wildcard})
    for port in sorted(ranges):
        listener = by_port.setdefault(port, _cidr_only_listener(ctx, port))
        add_cidr_chains(ctx, listener, ranges[port])
    out = [by_port[port] for port in sorted(http)]
    out += [vip_listener(ctx, *vips[name]) for name in sorted(vips)]
    out += [by_port[port] for port in sorted(set(by_port) - http)]
    return out


def egress_http_listener(ctx: _Ctx, view: EgressView) -> listener_pb2.Listener:
    """``<address>_<port>`` of an HTTP egress listener, routed by its own route config."""
    assert view.port is not None
    address = view.address
    name = names.listener_name(address, view.port)
    listener = _listener(name, address, view.port, view.bind_to_port)
    hcm = _hcm(ctx, address, view.port, view.route_name)
    listener.filter_chains.append(lc_pb2.FilterChain(name=name, filters=[hcm]))
    return listener


def egress_tcp_listener(ctx: _Ctx, view: EgressView) -> listener_pb2.Listener:
    """``<bind>_<port>`` of a TCP egress listener on its own address (no original destination
    to tell services apart): the first of its services with that port, else the fallback
    (``BlackHoleCluster`` on a bound listener)."""
    assert view.port is not None
    name = names.listener_name(view.address, view.port)
    listener = _listener(name, view.address, view.port, view.bind_to_port)
    target = next(
        ((s, sp) for s in ctx.scope.services if (sp := s.port(view.port)) is not None), None
    )
    if target is not None:
        service, port = target
        listener.filter_chains.extend(
            tcp_chains(ctx.scope, service, port, name, None, ctx.logs.tcp)
        )
    elif view.bind_to_port:  # no original destination: passing through would loop back here
        blackhole = filters.tcp_proxy(names.BLACKHOLE_CLUSTER, cluster=names.BLACKHOLE_CLUSTER)
        listener.filter_chains.append(lc_pb2.FilterChain(name=name, filters=[blackhole]))
    else:
        listener.filter_chains.append(_passthrough_chain(ctx))
    return listener


def explicit_listener(ctx: _Ctx) -> listener_pb2.Listener:
    """The ``http_proxy`` listener of an explicit (interception NONE) sidecar."""
    port = ctx.options.explicit_port
    listener = _listener(names.listener_name(names.LOCALHOST, port), names.LOCALHOST, port, True)
    hcm = _hcm(ctx, names.LOCALHOST, port, names.EXPLICIT_PROXY_ROUTE)
    listener.filter_chains.append(lc_pb2.FilterChain(name=listener.name, filters=[hcm]))
    return listener


def build_listeners(
    scope: ProxyScope, options: TranslateOptions
) -> dict[str, listener_pb2.Listener]:
    """LDS resources of a sidecar, keyed by listener name."""
    ctx = _Ctx(scope, options)
    if scope.proxy.interception == "NONE":
        found = [explicit_listener(ctx)]
    else:
        found = [
            virtual_outbound(ctx),
            *outbound_port_listeners(ctx),
            virtual_inbound(scope, options),
            *bound_inbound_listeners(scope, options),
        ]
    return {listener.name: listener for listener in found}
