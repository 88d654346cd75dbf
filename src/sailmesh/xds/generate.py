"""One generate call per xDS type, behind a type-URL table (as go-control-plane and Istio's
pilot organise theirs).

A :class:`Generator` turns a proxy's :class:`~sailmesh.xds.scope.ProxyScope` into the
``{name: message}`` resources of one type; :data:`GENERATORS` maps each sidecar type URL to
its generator, and :func:`generate` runs the wanted ones for a proxy (gateways go through
:mod:`sailmesh.xds.gateway`), then applies the proxy's EnvoyFilters
(:mod:`sailmesh.xds.envoyfilter`). The partial builds below are not patched: proxies an
EnvoyFilter selects are translated whole (:func:`sailmesh.xds.envoyfilter.has_patches`). Callers that reuse earlier results (the control plane's push
context) rebuild parts with :func:`generate_for_hosts` (clusters or endpoints of some service
hosts only) and :func:`inbound_clusters` (the only clusters that depend on the proxy's own
workload), and ask :func:`routes_read_destination_rules` whether DestinationRules reach routes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.typeurls import CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET
from sailmesh.xds import names
from sailmesh.xds.clusters import build_clusters, inbound_cluster, outbound_cluster
from sailmesh.xds.endpoints import (
    build_endpoints,
    load_assignment,
    locality_context,
    spec_endpoints,
)
from sailmesh.xds.envoyfilter import apply_envoy_filters
from sailmesh.xds.gateway import translate_gateway
from sailmesh.xds.listeners import build_listeners
from sailmesh.xds.options import DEFAULT_OPTIONS, TranslateOptions
from sailmesh.xds.plan import cluster_specs, inbound_ports
from sailmesh.xds.policy import uses_consistent_hash
from sailmesh.xds.routes import build_routes
from sailmesh.xds.scope import ProxyScope, build_scope

Resources = dict[str, Any]


class Generator(Protocol):
    """Builds all resources of one xDS type for the proxy of ``scope``."""

    def __call__(self, scope: ProxyScope, options: TranslateOptions) -> Resources: ...


def _clusters(scope: ProxyScope, options: TranslateOptions) -> Resources:
    return build_clusters(scope, options)


def _endpoints(scope: ProxyScope, options: TranslateOptions) -> Resources:
    return build_endpoints(scope)


def _listeners(scope: ProxyScope, options: TranslateOptions) -> Resources:
    return build_listeners(scope, options)


def _routes(scope: ProxyScope, options: TranslateOptions) -> Resources:
    return build_routes(scope)


#: The sidecar generators by type URL, in push order (clusters and endpoints first).
GENERATORS: Mapping[str, Generator] = MappingProxyType(
    {CLUSTER: _clusters, ENDPOINT: _endpoints, LISTENER: _listeners, ROUTE: _routes}
)
#: The types a sidecar gets, in push order.
SIDECAR_TYPES: tuple[str, ...] = tuple(GENERATORS)
#: A gateway also gets the Secrets its servers name (``credentialName``) over ADS.
GATEWAY_TYPES: tuple[str, ...] = (*SIDECAR_TYPES, SECRET)


def generate(
    proxy: Proxy,
    snapshot: MeshSnapshot,
    types: Iterable[str] | None = None,
    options: TranslateOptions = DEFAULT_OPTIONS,
) -> dict[str, Resources]:
    """Envoy resources for ``proxy`` keyed by type URL (only ``types`` when given)."""
    if proxy.type == "router":
        wanted = GATEWAY_TYPES if types is None else tuple(types)
        resources = translate_gateway(proxy, snapshot, options)
        built = {t: resources[t] for t in wanted if t in resources}
    else:
        wanted = SIDECAR_TYPES if types is None else tuple(types)
        scope = build_scope(proxy, snapshot)
        built = {t: GENERATORS[t](scope, options) for t in wanted if t in GENERATORS}
    return apply_envoy_filters(proxy, snapshot, built, options)


def generate_for_hosts(
    scope: ProxyScope,
    type_url: str,
    hosts: frozenset[str],
    options: TranslateOptions = DEFAULT_OPTIONS,
) -> Resources:
    """The outbound clusters (``CLUSTER``) or their endpoints (``ENDPOINT``) of the service
    ``hosts`` only, exactly as the full generator builds them."""
    specs = [spec for spec in cluster_specs(scope) if spec.service.hostname in hosts]
    if type_url == CLUSTER:
        return {spec.name: outbound_cluster(scope, spec, options) for spec in specs}
    if type_url == ENDPOINT:
        return {
            spec.name: load_assignment(
                spec.name, spec_endpoints(scope, spec), locality=locality_context(scope, spec)
            )
            for spec in specs
            if spec.discovery == "EDS"
        }
    raise ValueError(f"no per-host generation for {type_url}")


def inbound_clusters(scope: ProxyScope) -> Resources:
    """The proxy's ``inbound|<port>||`` clusters: what of CDS depends on its own workload."""
    return {
        names.inbound_cluster(port.port): inbound_cluster(scope, port)
        for port in inbound_ports(scope)
    }


def is_inbound_cluster(name: str) -> bool:
    return name.startswith(_INBOUND_PREFIX)


_INBOUND_PREFIX = names.inbound_cluster(0).split("|", 1)[0] + "|"


def routes_read_destination_rules(snapshot: MeshSnapshot) -> bool:
    """Whether routes depend on the snapshot's DestinationRules (only through
    ``consistentHash``; otherwise a DestinationRule change leaves routes as they are)."""
    return any(uses_consistent_hash(r) for r in snapshot.of_kind("DestinationRule"))
