"""Apply the EnvoyFilters of a proxy to its translated resources: the last step of translation.

In: the proxy, the snapshot and the resources translation produced (``{type_url: {name:
message}}``). Out: new resources with the patches applied (the messages of patched types are
copies; the input is not changed). Types: LDS (listener-class patches, route patches on inline
inbound route configurations, EXTENSION_CONFIG resolution), RDS (route patches) and CDS
(cluster patches). Contexts: on a gateway everything is GATEWAY; on a sidecar
``virtualInbound``, ``inbound|...`` clusters, ``InboundPassthroughCluster`` and inline inbound
route configurations are SIDECAR_INBOUND, the rest SIDECAR_OUTBOUND.

RateLimitPolicies selecting the proxy are applied first, as patches inserting their filter
(:mod:`sailmesh.xds.ratelimit`). BOOTSTRAP patches are not applied here: Envoy reads its bootstrap once, at start (Istio's agent
applies them when it starts the proxy, and a change needs a proxy restart); see
:mod:`.bootstrap`.
"""

from __future__ import annotations

import logging
from typing import Any

from sailmesh.config.models.envoyfilter import (
    EnvoyConfigObjectMatch,
    FilterChainMatch,
    FilterMatch,
    ListenerMatch,
    SubFilterMatch,
)
from sailmesh.config.resource import Resource
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.typeurls import CLUSTER, LISTENER, ROUTE
from sailmesh.xds import names
from sailmesh.xds.envoyfilter.clusters import patch_clusters
from sailmesh.xds.envoyfilter.extensions import (
    added_extension_configs,
    resolve_discovered_configs,
)
from sailmesh.xds.envoyfilter.listeners import HCM, ListenerPatcher
from sailmesh.xds.envoyfilter.patches import Patch, Patches, clone, compile_patches
from sailmesh.xds.envoyfilter.routes import patch_route_configuration
from sailmesh.xds.envoyfilter.select import envoy_filters_for
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.ratelimit import rate_limit_filter

log = logging.getLogger(__name__)

_LISTENER_TYPES = ("LISTENER", "LISTENER_FILTER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER")
_ROUTE_TYPES = ("ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE")
_INBOUND_CLUSTERS = names.inbound_cluster(0).split("|", 1)[0] + "|"
_reported: set[tuple[str, str]] = set()


def patches_for(proxy: Proxy, snapshot: MeshSnapshot) -> Patches:
    """The compiled patches of the EnvoyFilters that apply to ``proxy``, after those of its
    RateLimitPolicies (:mod:`sailmesh.xds.ratelimit`: an EnvoyFilter can patch their filter)."""
    filters = envoy_filters_for(proxy, snapshot)
    limits = snapshot.policies_for("RateLimitPolicy", proxy)
    if not filters and not limits:
        return Patches()
    patches = compile_patches(filters, proxy)
    if limits:
        patches.by_type["HTTP_FILTER"] = [
            *(_rate_limit_patch(policy, proxy) for policy in limits),
            *patches.of("HTTP_FILTER"),
        ]
    for skipped in patches.skipped:
        key = (skipped.where, skipped.reason)
        if key not in _reported:  # once per object version and reason, not per push
            _reported.add(key)
            log.warning("%s not applied: %s", skipped.where, skipped.reason)
    return patches


def apply_envoy_filters(
    proxy: Proxy,
    snapshot: MeshSnapshot,
    resources: dict[str, dict[str, Any]],
    options: TranslateOptions,
) -> dict[str, dict[str, Any]]:
    """``resources`` with the EnvoyFilters of ``proxy`` applied (unchanged when none)."""
    patches = patches_for(proxy, snapshot)
    if not patches:
        return resources
    gateway = proxy.type == "router"
    main = "GATEWAY" if gateway else "SIDECAR_OUTBOUND"
    aliases = dict(options.gateway_ports) if gateway else {}
    out = dict(resources)
    if LISTENER in out and any(patches.of(t) for t in (*_LISTENER_TYPES, *_ROUTE_TYPES)):
        listeners = {n: clone(m) for n, m in out[LISTENER].items()}

        def listener_context(listener: Any) -> str:
            if gateway:
                return "GATEWAY"
            inbound = listener.name == names.VIRTUAL_INBOUND_LISTENER
            return "SIDECAR_INBOUND" if inbound else "SIDECAR_OUTBOUND"

        listeners = ListenerPatcher(patches, listener_context, main, aliases).apply(listeners)
        resolve_discovered_configs(listeners, added_extension_configs(patches))
        out[LISTENER] = listeners
    elif LISTENER in out and patches.of("EXTENSION_CONFIG"):
        listeners = {n: clone(m) for n, m in out[LISTENER].items()}
        resolve_discovered_configs(listeners, added_extension_configs(patches))
        out[LISTENER] = listeners
    if ROUTE in out and any(patches.of(t) for t in _ROUTE_TYPES):
        routes = {n: clone(m) for n, m in out[ROUTE].items()}
        for rc in routes.values():
            patch_route_configuration(rc, main, patches, aliases)
        out[ROUTE] = routes
    if CLUSTER in out and patches.of("CLUSTER"):
        clusters = {n: clone(m) for n, m in out[CLUSTER].items()}

        def cluster_context(cluster: Any) -> str:
            if gateway:
                return "GATEWAY"
            name = cluster.name
            inbound = (
                name.startswith(_INBOUND_CLUSTERS) or name == names.INBOUND_PASSTHROUGH_CLUSTER
            )
            return "SIDECAR_INBOUND" if inbound else "SIDECAR_OUTBOUND"

        out[CLUSTER] = patch_clusters(clusters, patches, cluster_context, main)
    return out


def has_patches(proxy: Proxy, snapshot: MeshSnapshot) -> bool:
    """Whether some EnvoyFilter or RateLimitPolicy selects ``proxy`` (its translation cannot be
    shared with other proxies)."""
    return bool(
        envoy_filters_for(proxy, snapshot) or snapshot.policies_for("RateLimitPolicy", proxy)
    )


_ROUTER = "envoy.filters.http.router"


def _rate_limit_patch(policy: Resource, proxy: Proxy) -> Patch:
    """A RateLimitPolicy as the patch that puts its filter before the router (inbound HTTP on
    a sidecar, every HTTP listener of a gateway)."""
    subfilter = FilterMatch(name=HCM, sub_filter=SubFilterMatch(name=_ROUTER))
    context = "GATEWAY" if proxy.type == "router" else "SIDECAR_INBOUND"
    match = EnvoyConfigObjectMatch(
        context=context, listener=ListenerMatch(filter_chain=FilterChainMatch(filter=subfilter))
    )
    return Patch(
        source=policy,
        index=0,
        apply_to="HTTP_FILTER",
        operation="INSERT_BEFORE",
        context=context,
        match=match,
        value=rate_limit_filter(policy),
    )
