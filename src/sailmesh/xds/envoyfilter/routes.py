"""ROUTE_CONFIGURATION, VIRTUAL_HOST and HTTP_ROUTE patches (Istio's rc_patch semantics).

In: one RouteConfiguration (RDS, or inline in an inbound HTTP connection manager), the
context it belongs to (SIDECAR_OUTBOUND/SIDECAR_INBOUND/GATEWAY) and the compiled patches.
Out: the same message changed in place.

Operations: ROUTE_CONFIGURATION takes MERGE only (ADD/REMOVE do nothing: IST0153/IST0154);
VIRTUAL_HOST takes MERGE, REMOVE, REPLACE (whole virtual host) and ADD (appended to every
matching route configuration); HTTP_ROUTE takes MERGE, REMOVE, ADD, INSERT_BEFORE,
INSERT_AFTER and INSERT_FIRST (INSERT_FIRST with a route match inserts at the top only when a
route matches).

Matches: ``routeConfiguration.portNumber`` is the port in the name (``9080``,
``inbound|9080||``; a gateway's ``http.8080``/``https.443.<portName>.<gateway>.<ns>``),
``name`` the whole name; for gateways ``portName`` and ``gateway`` (``ns/name``) too.
``vhost.name`` the virtual host name, ``vhost.route.name`` the route name and
``vhost.route.action`` the kind of action (ROUTE, REDIRECT, DIRECT_RESPONSE, ANY).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from envoy.config.route.v3 import route_components_pb2, route_pb2

from sailmesh.xds.envoyfilter.lists import apply_list_operation, set_repeated
from sailmesh.xds.envoyfilter.merge import merge
from sailmesh.xds.envoyfilter.patches import Patch, Patches, clone, context_matches

_ROUTE_LIST_OPERATIONS = frozenset({"ADD", "INSERT_BEFORE", "INSERT_AFTER"})


def patch_route_configuration(
    rc: route_pb2.RouteConfiguration,
    context: str,
    patches: Patches,
    port_aliases: dict[int, int] | None = None,
) -> None:
    """Apply every route-level patch of ``patches`` that matches ``rc`` in ``context``."""
    aliases = port_aliases or {}
    for patch in patches.of("ROUTE_CONFIGURATION"):
        if patch.operation == "MERGE" and _rc_applies(patch, rc, context, aliases):
            merge(rc, patch.value, patch.replace_lists)
    hosts: list[route_components_pb2.VirtualHost] = []
    for vh in rc.virtual_hosts:
        patched = _patch_virtual_host(rc, vh, context, patches, aliases)
        if patched is not None:
            hosts.append(patched)
    for patch in patches.of("VIRTUAL_HOST"):
        adds = patch.operation == "ADD" and patch.value is not None
        if adds and _rc_applies(patch, rc, context, aliases):
            hosts.append(clone(patch.value))
    set_repeated(rc.virtual_hosts, hosts)


def _patch_virtual_host(
    rc: route_pb2.RouteConfiguration,
    vh: route_components_pb2.VirtualHost,
    context: str,
    patches: Patches,
    aliases: dict[int, int],
) -> route_components_pb2.VirtualHost | None:
    for patch in patches.of("VIRTUAL_HOST"):
        if not (_rc_applies(patch, rc, context, aliases) and _vhost_matches(patch, vh)):
            continue
        if patch.operation == "REMOVE":
            return None
        if patch.operation == "MERGE" and patch.value is not None:
            merge(vh, patch.value, patch.replace_lists)
        elif patch.operation == "REPLACE" and patch.value is not None:
            vh = clone(patch.value)
    _patch_routes(rc, vh, context, patches, aliases)
    return vh


def _patch_routes(
    rc: route_pb2.RouteConfiguration,
    vh: route_components_pb2.VirtualHost,
    context: str,
    patches: Patches,
    aliases: dict[int, int],
) -> None:
    relevant = [
        p
        for p in patches.of("HTTP_ROUTE")
        if _rc_applies(p, rc, context, aliases) and _vhost_matches(p, vh)
    ]
    if not relevant:
        return
    routes: list[route_components_pb2.Route] = []
    for route in vh.routes:
        kept: route_components_pb2.Route | None = route
        for patch in relevant:
            if not _route_matches(patch, route):
                continue
            if patch.operation == "REMOVE":
                kept = None
                break
            if patch.operation == "MERGE" and patch.value is not None:
                merge(route, patch.value, patch.replace_lists)
        if kept is not None:
            routes.append(kept)
    for patch in relevant:
        has_route_match = _route_match_of(patch) is not None
        if patch.operation in _ROUTE_LIST_OPERATIONS:
            routes = apply_list_operation(
                routes, patch, partial(_route_matches, patch), has_route_match
            )
        elif patch.operation == "INSERT_FIRST" and patch.value is not None:
            # with a route match, only when some route matches (Istio's rule)
            found = not has_route_match or any(_route_matches(patch, r) for r in routes)
            routes = [clone(patch.value), *routes] if found else routes
    set_repeated(vh.routes, routes)


def _rc_match(patch: Patch) -> Any:
    return patch.match.route_configuration if patch.match is not None else None


def _rc_applies(
    patch: Patch, rc: route_pb2.RouteConfiguration, context: str, aliases: dict[int, int]
) -> bool:
    if not context_matches(patch, context):
        return False
    match = _rc_match(patch)
    if match is None:
        return True
    if match.name and match.name != rc.name:
        return False
    port, port_name, gateway = parse_route_name(rc.name, context == "GATEWAY")
    if match.port_number and match.port_number not in (port, aliases.get(port)):
        return False
    if context == "GATEWAY":
        if match.port_name and match.port_name != port_name:
            return False
        if match.gateway and match.gateway != gateway:
            return False
    return True


def parse_route_name(name: str, gateway: bool) -> tuple[int, str, str]:
    """(port, port name, ``ns/gateway``) of a route configuration name (Istio's forms)."""
    if not gateway:
        if name.startswith("inbound|"):
            parts = name.split("|")
            return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0), "", ""
        return (int(name) if name.isdigit() else 0), "", ""
    parts = name.split(".")
    port = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    if len(parts) >= 5:
        return port, parts[2], f"{parts[4]}/{parts[3]}"
    return port, "", ""


def _vhost_matches(patch: Patch, vh: route_components_pb2.VirtualHost) -> bool:
    match = _rc_match(patch)
    vhost = match.vhost if match is not None else None
    if vhost is None:
        return True
    if vhost.name and vhost.name != vh.name:
        return False
    return not (vhost.domain_name and vhost.domain_name not in vh.domains)


def _route_match_of(patch: Patch) -> Any:
    match = _rc_match(patch)
    vhost = match.vhost if match is not None else None
    return vhost.route if vhost is not None else None


_ACTIONS = {"route": "ROUTE", "redirect": "REDIRECT", "direct_response": "DIRECT_RESPONSE"}


def _route_matches(patch: Patch, route: route_components_pb2.Route) -> bool:
    match = _route_match_of(patch)
    if match is None:
        return True
    if match.name and match.name != route.name:
        return False
    if match.action not in (None, "ANY"):
        return bool(_ACTIONS.get(route.WhichOneof("action") or "") == match.action)
    return True
