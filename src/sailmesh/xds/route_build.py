"""Envoy routes for one virtual host: from a VirtualService's HTTP routes, or the default route.

One Envoy route per applicable match block of each HTTP route (a route without matches becomes
``prefix: /``), in the VirtualService's order, with no fallback appended (like Istio: a request
no rule matches gets 404). Destinations without a port use the service's only port, else the
listener's port (Istio's ``GetDestinationCluster``). Zero-weight destinations are dropped; the
same cluster listed twice is merged. Routes carry ``istio.config`` metadata naming their
VirtualService and a tracing decorator ``<host>:<port>/<route name or *>``. Delegating routes
are replaced by their delegates' routes (:mod:`sailmesh.xds.delegation`), whose short
destination hosts resolve in the delegate's namespace.
"""

from __future__ import annotations

from typing import Any

from envoy.config.route.v3 import route_components_pb2 as route_pb2

from sailmesh.config.resource import Resource
from sailmesh.xds import delegation, names, pb
from sailmesh.xds.matches import MESH_ONLY, applicable_matches, route_match
from sailmesh.xds.policy import consistent_hash, effective_policy
from sailmesh.xds.route_actions import (
    CORS_FILTER,
    FAULT_FILTER,
    cors_policy,
    direct_response,
    fault_config,
    hash_policies,
    header_values,
    mirror_policy,
    redirect_action,
    retry_policy,
)
from sailmesh.xds.scope import ProxyScope, destination_host


def destination_cluster(
    scope: ProxyScope, destination: Any, vs: Resource, listener_port: int
) -> tuple[str, str, int]:
    """``(cluster name, host, port)`` of a VirtualService destination."""
    host = destination_host(destination.host, vs)
    port = listener_port
    if destination.port is not None and destination.port.number:
        port = destination.port.number
    else:
        service = scope.service(host)
        if service is not None and len(service.ports) == 1:
            port = service.ports[0].port
    return names.outbound_cluster(port, destination.subset or "", host), host, port


def _timeouts(action: route_pb2.RouteAction, nanos: int) -> None:
    """The route timeout (0: none), and gRPC's ``grpc-timeout`` header capped by it, as Istio's
    ``setTimeout``. Istio sets the deprecated ``max_grpc_timeout`` on purpose: with
    ``max_stream_duration`` present Envoy switches to its "new timeouts" and ignores the route
    ``timeout`` for plain HTTP requests (measured: a 0.5 s VirtualService timeout had no effect)."""
    action.timeout.CopyFrom(pb.duration(nanos))
    action.max_grpc_timeout.CopyFrom(pb.duration(nanos))


def _hash(scope: ProxyScope, host: str, subset: str, port: int) -> list[Any]:
    policy = effective_policy(scope.destination_rule(host), subset, port)
    return hash_policies(consistent_hash(policy))


def default_route(scope: ProxyScope, hostname: str, port: int) -> route_pb2.Route:
    """The route of a service no VirtualService claims: everything to ``outbound|P||host``."""
    action = route_pb2.RouteAction(cluster=names.outbound_cluster(port, "", hostname))
    _timeouts(action, 0)
    if "default_retry" not in scope.memo:
        scope.memo["default_retry"] = retry_policy(None, scope.snapshot.mesh)
    retry = scope.memo["default_retry"]
    if retry is not None:
        action.retry_policy.CopyFrom(retry)
    action.hash_policy.extend(_hash(scope, hostname, "", port))
    route = route_pb2.Route(
        name=names.DEFAULT_ROUTE_NAME,
        match=route_pb2.RouteMatch(prefix="/"),
        route=action,
    )
    route.decorator.operation = names.decorator_operation(hostname, port)
    return route


def _weighted(
    scope: ProxyScope, http: Any, vs: Resource, port: int, route: route_pb2.Route
) -> bool:
    """Fill ``route.route`` with the destinations; False when there is none."""
    dests = [d for d in http.route if d.destination is not None and d.destination.host]
    dests = [d for d in dests if d.weight is None or d.weight > 0] or dests[:1]
    if not dests:
        return False
    action = route.route
    if len(dests) == 1:
        cluster, host, dport = destination_cluster(scope, dests[0].destination, vs, port)
        action.cluster = cluster
        action.hash_policy.extend(_hash(scope, host, dests[0].destination.subset or "", dport))
        headers = dests[0].headers
        if headers is not None:
            _add_headers(route, headers)
        return True
    weights: dict[str, route_pb2.WeightedCluster.ClusterWeight] = {}
    for d in dests:
        cluster, _, _ = destination_cluster(scope, d.destination, vs, port)
        weight = d.weight if d.weight is not None else 0
        if cluster in weights:
            weights[cluster].weight.value += weight
            continue
        entry = route_pb2.WeightedCluster.ClusterWeight(name=cluster, weight=pb.u32(weight))
        if d.headers is not None:
            req_add, req_remove = header_values(d.headers.request)
            resp_add, resp_remove = header_values(d.headers.response)
            entry.request_headers_to_add.extend(req_add)
            entry.request_headers_to_remove.extend(req_remove)
            entry.response_headers_to_add.extend(resp_add)
            entry.response_headers_to_remove.extend(resp_remove)
        weights[cluster] = entry
    if sum(w.weight.value for w in weights.values()) == 0:
        for w in weights.values():
            w.weight.value = 1
    action.weighted_clusters.clusters.extend(weights.values())
    return True


def _add_headers(route: route_pb2.Route, headers: Any) -> None:
    req_add, req_remove = header_values(headers.request)
    resp_add, resp_remove = header_values(headers.response)
    route.request_headers_to_add.extend(req_add)
    route.request_headers_to_remove.extend(req_remove)
    route.response_headers_to_add.extend(resp_add)
    route.response_headers_to_remove.extend(resp_remove)


def _forwarding(
    scope: ProxyScope, http: Any, vs: Resource, port: int, route: route_pb2.Route
) -> bool:
    if not _weighted(scope, http, vs, port, route):
        return False
    action = route.route
    _timeouts(action, http.timeout.nanos if http.timeout is not None else 0)
    retry = retry_policy(http.retries, scope.snapshot.mesh)
    if retry is not None:
        action.retry_policy.CopyFrom(retry)
    rewrite = http.rewrite
    if rewrite is not None:
        if rewrite.uri_regex_rewrite is not None and rewrite.uri_regex_rewrite.match:
            action.regex_rewrite.pattern.regex = rewrite.uri_regex_rewrite.match
            action.regex_rewrite.substitution = rewrite.uri_regex_rewrite.rewrite or ""
        elif rewrite.uri:
            action.prefix_rewrite = rewrite.uri
        if rewrite.authority:
            action.host_rewrite_literal = rewrite.authority
    mirrors = list(http.mirrors or [])
    if http.mirror is not None:
        percent = http.mirror_percentage.value if http.mirror_percentage is not None else None
        if percent is None and http.mirror_percent is not None:
            percent = float(http.mirror_percent)
        mirrors.insert(0, (http.mirror, percent))
    for item in mirrors:
        dest, percent = (
            item
            if isinstance(item, tuple)
            else (item.destination, item.percentage.value if item.percentage is not None else None)
        )
        if dest is None or not dest.host:
            continue
        cluster, _, _ = destination_cluster(scope, dest, vs, port)
        action.request_mirror_policies.append(mirror_policy(cluster, percent))
    return True


def vs_routes(
    scope: ProxyScope,
    vs: Resource,
    hostname: str,
    port: int,
    gateways: frozenset[str] = MESH_ONLY,
) -> list[route_pb2.Route]:
    """Envoy routes for ``hostname`` on ``port`` from the VirtualService's HTTP routes, for a
    proxy answering as ``gateways`` (``{"mesh"}``: a sidecar; ``{"ns/gw"}``: a gateway server)."""
    routes: list[route_pb2.Route] = []
    config = names.config_path(vs)
    for http, owner in delegation.http_routes(scope.snapshot, vs):
        blocks = applicable_matches(http.match, scope.proxy, port, vs.namespace, gateways)
        if blocks is None:
            continue
        for block in blocks:
            route = _http_route(scope, owner, http, block, port, hostname)
            if route is None:
                break
            route.metadata.CopyFrom(pb.istio_metadata({"config": config}))
            routes.append(route)
    return routes


def _http_route(
    scope: ProxyScope, vs: Resource, http: Any, block: Any, port: int, hostname: str
) -> route_pb2.Route | None:
    name = http.name or ""
    if block is not None and block.name:
        name = f"{name}.{block.name}" if name else block.name
    route = route_pb2.Route(name=name, match=route_match(block))
    if block is not None and block.stat_prefix:
        # Istio's match statPrefix: Envoy roots the route's stats at
        # vhost.<virtual host>.route.<stat_prefix>.
        route.stat_prefix = block.stat_prefix
    if http.redirect is not None:
        route.redirect.CopyFrom(redirect_action(http.redirect, port))
    elif http.direct_response is not None:
        route.direct_response.CopyFrom(direct_response(http.direct_response))
    elif not _forwarding(scope, http, vs, port, route):
        return None
    if http.headers is not None:
        _add_headers(route, http.headers)
    fault = fault_config(http.fault)
    if fault is not None:
        route.typed_per_filter_config[FAULT_FILTER].Pack(fault)
    cors = cors_policy(http.cors_policy)
    if cors is not None:
        route.typed_per_filter_config[CORS_FILTER].Pack(cors)
    route.decorator.operation = names.decorator_operation(hostname, port, http.name or "")
    return route
