"""Gateway ``tls.mode: AUTO_PASSTHROUGH``: SNI routing to the mesh's services (SNI-DNAT).

In: a gateway proxy's scope and its AUTO_PASSTHROUGH servers (Istio's east-west gateway:
``protocol: TLS``, ``hosts: ["*.local"]``). Out: per service port and subset the server's
``hosts`` admit, a filter chain matching the SNI ``outbound_.<port>_.<subset>_.<host>`` (what a
sidecar's Istio mutual TLS sends, :func:`sailmesh.xds.names.outbound_sni`) whose ``tcp_proxy``
forwards to a cluster of that same name, and those clusters and their endpoints.

The clusters are the outbound clusters of the service port/subset (same endpoints, load
balancing and connection pool) without any transport socket: the gateway forwards the client's
TLS untouched, so the destination's sidecar terminates it and checks the client's own identity
(the gateway never sees the plaintext, as Istio's ``sni-dnat`` clusters). Services outside the
mesh (``MESH_EXTERNAL``) and original-destination clusters are not exposed: Istio's
cross-network gateway only carries mesh traffic, and an original destination would be the
gateway itself. No VirtualService applies: the SNI names the cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2

from sailmesh.registry.model import Service
from sailmesh.snapshot.hosts import host_matches
from sailmesh.xds import names
from sailmesh.xds.clusters import outbound_cluster
from sailmesh.xds.endpoints import load_assignment, locality_context, spec_endpoints
from sailmesh.xds.gateway_servers import BoundServer, PortServers
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.plan import ClusterSpec, cluster_specs
from sailmesh.xds.scope import ProxyScope

AUTO_PASSTHROUGH = "AUTO_PASSTHROUGH"


def is_auto_passthrough(bound: BoundServer) -> bool:
    settings = bound.server.tls
    return settings is not None and settings.mode == AUTO_PASSTHROUGH


def _admits(bound: BoundServer, service: Service) -> bool:
    """Whether the server's ``hosts`` (``[ns/]host``) admit ``service``."""
    for entry in bound.server.hosts or []:
        ns, _, pattern = entry.rpartition("/")
        own = ns == "." and service.namespace == bound.gateway.namespace
        if ns and ns not in ("*", service.namespace) and not own:
            continue
        if host_matches(pattern, service.hostname):
            return True
    return False


def sni_dnat_specs(scope: ProxyScope, bound: BoundServer) -> list[ClusterSpec]:
    """The clusters an AUTO_PASSTHROUGH server routes to, each named by its SNI."""
    return [
        replace(spec, name=names.outbound_sni(spec.port.port, spec.subset, spec.service.hostname))
        for spec in cluster_specs(scope)
        if not spec.service.mesh_external
        and spec.discovery != "ORIGINAL_DST"
        and _admits(bound, spec.service)
    ]


def _auto_passthrough_servers(ports: Iterable[PortServers]) -> list[BoundServer]:
    return [b for p in ports if p.kind == "tls" for b in p.servers if is_auto_passthrough(b)]


def _all_specs(scope: ProxyScope, ports: Sequence[PortServers]) -> dict[str, ClusterSpec]:
    out: dict[str, ClusterSpec] = {}
    for bound in _auto_passthrough_servers(ports):
        for spec in sni_dnat_specs(scope, bound):
            out.setdefault(spec.name, spec)
    return out


def sni_dnat_clusters(
    scope: ProxyScope, ports: Sequence[PortServers], options: TranslateOptions
) -> dict[str, cluster_pb2.Cluster]:
    """The SNI-named clusters of the gateway's AUTO_PASSTHROUGH servers (none without one)."""
    out: dict[str, cluster_pb2.Cluster] = {}
    for name, spec in _all_specs(scope, ports).items():
        cluster = outbound_cluster(scope, spec, options)
        cluster.ClearField("transport_socket")  # the client's TLS passes through
        del cluster.transport_socket_matches[:]
        out[name] = cluster
    return out


def sni_dnat_endpoints(
    scope: ProxyScope, ports: Sequence[PortServers]
) -> dict[str, endpoint_pb2.ClusterLoadAssignment]:
    """EDS resources of the SNI-named clusters that take their endpoints over EDS."""
    return {
        name: load_assignment(name, spec_endpoints(scope, spec), {}, locality_context(scope, spec))
        for name, spec in _all_specs(scope, ports).items()
        if spec.discovery == "EDS"
    }
