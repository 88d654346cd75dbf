"""Entry points for tests and tools: ``translate(proxy, snapshot)`` and one function per xDS type.

Each per-type function takes the proxy and the snapshot (or a precomputed
:class:`~sailmesh.xds.scope.ProxyScope`, to share the work between types). Results are
``{name: message}``; ``translate`` keys them by the type URLs of :mod:`sailmesh.typeurls`
through the generator table of :mod:`sailmesh.xds.generate`.

Gateway (``router``) proxies are translated by :mod:`sailmesh.xds.gateway`.
"""

from __future__ import annotations

from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.clusters import build_clusters
from sailmesh.xds.endpoints import build_endpoints
from sailmesh.xds.generate import SIDECAR_TYPES, Resources
from sailmesh.xds.generate import generate as translate
from sailmesh.xds.listeners import build_listeners
from sailmesh.xds.options import DEFAULT_OPTIONS, TranslateOptions
from sailmesh.xds.routes import build_routes
from sailmesh.xds.scope import ProxyScope, build_scope

__all__ = [
    "SIDECAR_TYPES",
    "Resources",
    "clusters",
    "endpoints",
    "listeners",
    "routes",
    "translate",
]


def _scope(proxy: Proxy, snapshot: MeshSnapshot, scope: ProxyScope | None) -> ProxyScope:
    return scope if scope is not None else build_scope(proxy, snapshot)


def clusters(
    proxy: Proxy,
    snapshot: MeshSnapshot,
    scope: ProxyScope | None = None,
    options: TranslateOptions = DEFAULT_OPTIONS,
) -> Resources:
    """CDS: ``{cluster name: Cluster}``."""
    return build_clusters(_scope(proxy, snapshot, scope), options)


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
