"""A pure simulator of Envoy's request routing over translated resources.

Given ``{type_url: {name: message}}`` (the output of :func:`sailmesh.xds.translate.translate`)
and a :class:`Call`, :func:`simulate` answers which listener, filter chain, route config,
virtual host, route and cluster(s) the call hits, following Envoy's rules:

- listener: the one bound to the exact destination ``ip:port``, else ``0.0.0.0:port``, else the
  ``use_original_dst`` capture listener (``virtualOutbound``); an explicit proxy's listener
  when the call goes through ``http_proxy``; the ``INBOUND`` listener (``virtualInbound``) for
  calls arriving at the workload (``inbound=True``);
- filter chain: most specific ``destination_port``, then the longest ``prefix_ranges`` entry
  holding the call's ``ip``, then ``server_names`` (SNI), then ``transport_protocol``
  (``raw_buffer``, or ``tls`` for a call made over TLS), then ``application_protocols``
  (``http/1.1`` for plaintext HTTP calls, as the HTTP inspector reports, else the call's
  ALPN), then the longest ``source_prefix_ranges`` entry holding ``source_ip``, else the
  default filter chain (a chain with address ranges never matches a call without the address);
- virtual host: exact domain, then the longest suffix wildcard (``*.example.com``), then the
  longest prefix wildcard (``example.*``), then ``*`` (case-insensitive; the authority's port
  dropped first where the route config sets ``ignore_port_in_host_matching``);
- routes in order; path ``prefix``/``path``/``safe_regex`` (full match), headers and query
  parameters with exact/prefix/suffix/contains/regex/presence and ``invert_match``.

It is meant for tests and for ``sailctl`` explanations; it does not model TLS handshakes
(only which chain a TLS connection reaches), runtime fractions (mirror, fault percentages) or
retries.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from envoy.config.core.v3 import base_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2

from sailmesh.typeurls import CLUSTER, LISTENER, ROUTE

Resources = Mapping[str, Mapping[str, Any]]
INBOUND = base_pb2.TrafficDirection.INBOUND


@dataclass(frozen=True)
class Call:
    """A request (or a TCP connection when ``protocol`` is ``tcp``) leaving the workload."""

    host: str
    port: int
    path: str = "/"
    headers: Mapping[str, str] = field(default_factory=dict)
    method: str = "GET"
    scheme: str = "http"
    ip: str | None = None
    protocol: str = "http"
    sni: str | None = None
    explicit: bool = False
    inbound: bool = False
    #: The connection's transport (``tls`` for mutual TLS from a client sidecar) and the ALPN
    #: it offers (default: what the HTTP inspector reports for plaintext HTTP).
    transport: str = "raw_buffer"
    alpn: tuple[str, ...] = ()
    #: The calling workload's address (matched against chains' source prefix ranges).
    source_ip: str | None = None

    @property
    def authority(self) -> str:
        return self.host if self.port == 80 else f"{self.host}:{self.port}"


@dataclass
class Result:
    """Everything the call went through; ``cluster`` is None for weighted or direct routes."""

    listener: str = ""
    filter_chain: str = ""
    route_config: str = ""
    virtual_host: str = ""
    route: str = ""
    cluster: str | None = None
    weighted: list[tuple[str, int]] = field(default_factory=list)
    direct_status: int | None = None
    redirect: Any = None
    route_message: Any = None
    error: str = ""

    @property
    def clusters(self) -> list[str]:
        return [self.cluster] if self.cluster else [c for c, _ in self.weighted]


def _find_listener(resources: Resources, call: Call) -> Any:
    listeners = list(resources.get(LISTENER, {}).values())

    def at(ip: str, port: int) -> Any:
        for item in listeners:
            sa = item.address.socket_address
            if sa.address == ip and sa.port_value == port:
                return item
        return None

    if call.inbound:
        return next((item for item in listeners if item.traffic_direction == INBOUND), None)
    if call.explicit:
        return next(
            (item for item in listeners if item.address.socket_address.address == "127.0.0.1"), None
        )
    if call.ip is not None and (found := at(call.ip, call.port)) is not None:
        return found
    found = at("0.0.0.0", call.port)
    if found is not None:
        return found
    return next((item for item in listeners if item.use_original_dst.value), None)


def _sni_score(names: Any, sni: str | None) -> int | None:
    if not names:
        return 0
    if sni is None:
        return None
    for name in names:
        if name == sni:
            return 2
        if name.startswith("*.") and sni.endswith(name[1:]):
            return 1
    return None


def _call_alpn(call: Call) -> tuple[str, ...]:
    if call.alpn or call.transport != "raw_buffer":
        return call.alpn
    return ("http/1.1",) if call.protocol == "http" else ()


def _prefix_score(ranges: Any, ip: str | None) -> int | None:
    """0 without ranges; else 1 + the longest range holding ``ip``; None when none does."""
    if not ranges:
        return 0
    if ip is None:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    held = [
        r.prefix_len.value
        for r in ranges
        if address in ipaddress.ip_network(f"{r.address_prefix}/{r.prefix_len.value}", False)
    ]
    return 1 + max(held) if held else None


def _select_chain(listener: listener_pb2.Listener, call: Call, port: int) -> Any:
    best: tuple[int, ...] | None = None
    chosen = None
    alpn = _call_alpn(call)
    for chain in listener.filter_chains:
        m = chain.filter_chain_match
        if m.HasField("destination_port") and m.destination_port.value != port:
            continue
        destination = _prefix_score(m.prefix_ranges, call.ip)
        source = _prefix_score(m.source_prefix_ranges, call.source_ip)
        if destination is None or source is None:
            continue
        sni = _sni_score(
            m.server_names, call.sni or (call.host if call.protocol == "tls" else None)
        )
        if sni is None:
            continue
        if m.transport_protocol and m.transport_protocol != call.transport:
            continue
        if m.application_protocols and not set(alpn) & set(m.application_protocols):
            continue
        score = (
            int(m.HasField("destination_port")),
            destination,
            sni,
            int(bool(m.transport_protocol)),
            int(bool(m.application_protocols)),
            source,
        )
        if best is None or score > best:
            best, chosen = score, chain
    if chosen is None and listener.HasField("default_filter_chain"):
        return listener.default_filter_chain
    return chosen


def _domain_rank(domain: str, host: str) -> tuple[int, int] | None:
    domain = domain.lower()
    if domain == host:
        return (4, len(domain))
    if domain == "*":
        return (1, 0)
    if domain.startswith("*") and host.endswith(domain[1:]) and len(host) > len(domain) - 1:
        return (3, len(domain))
    if domain.endswith("*") and host.startswith(domain[:-1]) and len(host) > len(domain) - 1:
        return (2, len(domain))
    return None


def _without_port(authority: str) -> str:
    """``authority`` less a ``:<port>`` suffix (``[v6]:port`` keeps its brackets)."""
    head, colon, tail = authority.rpartition(":")
    if colon and tail.isdigit() and (head.endswith("]") or ":" not in head):
        return head
    return authority


def select_virtual_host(route_config: Any, authority: str) -> Any:
    """The virtual host Envoy picks for ``authority`` (None: 404)."""
    host = authority.lower()
    if route_config.ignore_port_in_host_matching:
        host = _without_port(host)
    best: tuple[int, int] | None = None
    chosen = None
    for vh in route_config.virtual_hosts:
        for domain in vh.domains:
            rank = _domain_rank(domain, host)
            if rank is not None and (best is None or rank > best):
                best, chosen = rank, vh
    return chosen


def _string_match(matcher: Any, value: str) -> bool:
    kind = matcher.WhichOneof("match_pattern")
    expected = getattr(matcher, kind) if kind else ""
    if matcher.ignore_case and kind != "safe_regex":
        value, expected = value.lower(), expected.lower()
    if kind == "exact":
        return bool(value == expected)
    if kind == "prefix":
        return value.startswith(expected)
    if kind == "suffix":
        return value.endswith(expected)
    if kind == "contains":
        return expected in value
    if kind == "safe_regex":
        return re.fullmatch(matcher.safe_regex.regex, value) is not None
    return False


def _header_ok(m: Any, headers: Mapping[str, str]) -> bool:
    value = headers.get(m.name.lower())
    kind = m.WhichOneof("header_match_specifier")
    if kind == "present_match":
        result = (value is not None) == m.present_match
    elif value is None:
        return bool(m.invert_match)
    elif kind == "string_match":
        result = _string_match(m.string_match, value)
    elif kind == "exact_match":
        result = value == m.exact_match
    elif kind == "prefix_match":
        result = value.startswith(m.prefix_match)
    elif kind == "safe_regex_match":
        result = re.fullmatch(m.safe_regex_match.regex, value) is not None
    else:
        result = True
    return bool(result != m.invert_match)


def route_matches(match: Any, path: str, headers: Mapping[str, str]) -> bool:
    """Whether an Envoy RouteMatch accepts the request (``headers`` lower-cased, pseudo incl.)."""
    bare, _, query = path.partition("?")
    sensitive = not match.HasField("case_sensitive") or match.case_sensitive.value
    probe = bare if sensitive else bare.lower()
    kind = match.WhichOneof("path_specifier")
    if kind == "prefix":
        ok = probe.startswith(match.prefix if sensitive else match.prefix.lower())
    elif kind == "path":
        ok = probe == (match.path if sensitive else match.path.lower())
    elif kind == "safe_regex":
        ok = re.fullmatch(match.safe_regex.regex, bare, 0 if sensitive else re.I) is not None
    elif kind == "path_separated_prefix":
        p = match.path_separated_prefix
        ok = probe == p or probe.startswith(p + "/")
    else:
        ok = False
    if not ok or not all(_header_ok(h, headers) for h in match.headers):
        return False
    if any(not m.invert for m in match.dynamic_metadata):
        return False  # a simulated call carries no verified JWT (claim matches)
    params = dict(parse_qsl(query, keep_blank_values=True))
    for q in match.query_parameters:
        value = params.get(q.name)
        if q.HasField("present_match"):
            if (value is not None) != q.present_match:
                return False
        elif value is None or not _string_match(q.string_match, value):
            return False
    return True


def _route_http(resources: Resources, hcm: Any, call: Call, result: Result) -> Result:
    if hcm.HasField("rds"):
        result.route_config = hcm.rds.route_config_name
        rc = resources.get(ROUTE, {}).get(result.route_config)
        if rc is None:
            result.error = f"route config {result.route_config} not found"
            return result
    else:
        rc = hcm.route_config
        result.route_config = rc.name
    authority = call.headers.get(":authority") or call.authority
    vh = select_virtual_host(rc, authority)
    if vh is None:
        result.error = f"no virtual host for {authority} (404 NR)"
        return result
    result.virtual_host = vh.name
    headers = {k.lower(): v for k, v in call.headers.items()}
    headers.update(
        {
            ":authority": authority,
            ":method": call.method,
            ":scheme": call.scheme,
            ":path": call.path,
        }
    )
    for route in vh.routes:
        if route_matches(route.match, call.path, headers):
            _take_route(route, result)
            return result
    result.error = "no route matched (404 NR)"
    return result


def _take_route(route: Any, result: Result) -> None:
    result.route = route.name
    result.route_message = route
    action = route.WhichOneof("action")
    if action == "route":
        kind = route.route.WhichOneof("cluster_specifier")
        if kind == "cluster":
            result.cluster = route.route.cluster
        elif kind == "weighted_clusters":
            result.weighted = [
                (c.name, c.weight.value) for c in route.route.weighted_clusters.clusters
            ]
    elif action == "direct_response":
        result.direct_status = route.direct_response.status
    elif action == "redirect":
        result.redirect = route.redirect


def simulate(resources: Resources, call: Call) -> Result:
    """Route ``call`` through the proxy's resources."""
    result = Result()
    listener = _find_listener(resources, call)
    if listener is None:
        result.error = "no listener"
        return result
    result.listener = listener.name
    chain = _select_chain(listener, call, call.port)
    if chain is None:
        result.error = "no filter chain"
        return result
    result.filter_chain = chain.name
    for f in chain.filters:
        if f.typed_config.Is(hcm_pb2.HttpConnectionManager.DESCRIPTOR):
            hcm = hcm_pb2.HttpConnectionManager()
            f.typed_config.Unpack(hcm)
            return _route_http(resources, hcm, call, result)
        if f.typed_config.Is(tcp_proxy_pb2.TcpProxy.DESCRIPTOR):
            proxy = tcp_proxy_pb2.TcpProxy()
            f.typed_config.Unpack(proxy)
            if proxy.HasField("weighted_clusters"):
                result.weighted = [(c.name, c.weight) for c in proxy.weighted_clusters.clusters]
            else:
                result.cluster = proxy.cluster
            return result
    result.error = "no terminal filter"
    return result


def missing_clusters(resources: Resources, result: Result) -> list[str]:
    """Clusters the result refers to that the proxy does not have (503 NC in Envoy)."""
    have = resources.get(CLUSTER, {})
    return [c for c in result.clusters if c not in have]
