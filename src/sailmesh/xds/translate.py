"""Entry points: ``translate(proxy, snapshot)`` and one function per xDS type.

Each per-type function takes the proxy and the snapshot (or a precomputed
:class:`~sailmesh.xds.scope.ProxyScope`, to share the work between types), so the control plane
can rebuild only the types a change affects. Results are ``{name: message}``; ``translate``
keys them by the type URLs of :mod:`sailmesh.ads.resources`.

Gateway (``router``) proxies are translated by :mod:`sailmesh.xds.gateway`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.typeurls import CLUSTER, ENDPOINT, LISTENER, ROUTE
from sailmesh.xds.clusters import build_clusters
from sailmesh.xds.endpoints import build_endpoints
from sailmesh.xds.gateway import translate_gateway
from sailmesh.xds.listeners import build_listeners
from sailmesh.xds.options import DEFAULT_OPTIONS, TranslateOptions
from sailmesh.xds.routes import build_routes
from sailmesh.xds.scope import ProxyScope, build_scope

Resources = dict[str, Any]

#: The types this module produces, in push order (clusters and endpoints first).
SIDECAR_TYPES: tuple[str, ...] = (CLUSTER, ENDPOINT, LISTENER, ROUTE)


def _scope(proxy: Proxy, snapshot: MeshSnapshot, scope: ProxyScope | None) -> ProxyScope:
    return scope if scope is not None else build_scope(proxy, snapshot)


def clusters(proxy: Proxy, snapshot: MeshSnapshot, scope: ProxyScope | None = None) -> Resources:
    """CDS: ``{cluster name: Cluster}``."""
    return build_clusters(_scope(proxy, snapshot, scope))


def endpoints(proxy: Proxy, snapshot: MeshSnapshot, scope: ProxyScope | None = None) -> Resources:
    """EDS: ``{cluster name: ClusterLoadAssignment}`` for every EDS cluster."""
    return build_endpoints(_scope(proxy, snapshot, scope))


def routes(proxy: Proxy, snapshot: MeshSnapshot, scope: ProxyScope | None = None) -> Resources:
    """RDS: ``{route config name: RouteConfiguration}``."""
    return build_routes(_scope(proxy, snapshot, scope))


def listeners(
    proxy: Proxy,
    snapshot: MeshSnapshot,
    scope: ProxyScope | None = None,
    options: TranslateOptions = DEFAULT_OPTIONS,
) -> Resources:
    """LDS: ``{listener name: Listener}``."""
    return build_listeners(_scope(proxy, snapshot, scope), options)


def translate(
    proxy: Proxy,
    snapshot: MeshSnapshot,
    types: Iterable[str] | None = None,
    options: TranslateOptions = DEFAULT_OPTIONS,
) -> dict[str, Resources]:
    """Envoy resources for ``proxy`` keyed by type URL (only ``types`` when given)."""
    if proxy.type == "router":
        resources = translate_gateway(proxy, snapshot, options)
        return {
            t: resources[t] for t in (SIDECAR_TYPES if types is None else types) if t in resources
        }
    wanted = list(SIDECAR_TYPES if types is None else types)
    scope = build_scope(proxy, snapshot)
    builders: dict[str, Callable[[], Resources]] = {
        CLUSTER: lambda: build_clusters(scope),
        ENDPOINT: lambda: build_endpoints(scope),
        LISTENER: lambda: build_listeners(scope, options),
        ROUTE: lambda: build_routes(scope),
    }
    return {t: builders[t]() for t in wanted if t in builders}
