"""CLUSTER patches (Istio's cluster_patch semantics).

In: the proxy's clusters (``{name: Cluster}``, copies the caller may change), a function giving
each cluster's context, and the compiled patches. Out: the clusters left. MERGE (a
``transport_socket`` of the same name is merged typed-config into typed-config), REMOVE, and
ADD (in the proxy's main context: SIDECAR_OUTBOUND or GATEWAY, or a patch context of ANY or
SIDECAR_INBOUND on a sidecar).

Matches: ``cluster.name`` (alone decides when set), else ``portNumber``, ``service`` (the FQDN
host) and ``subset`` as parsed from ``outbound|<port>|<subset>|<host>``; ``inbound|<port>||``
clusters have a port and no service or subset.
"""

from __future__ import annotations

from collections.abc import Callable

from envoy.config.cluster.v3 import cluster_pb2

from sailmesh.xds import names
from sailmesh.xds.envoyfilter.merge import merge, merge_any
from sailmesh.xds.envoyfilter.patches import Patch, Patches, clone, context_matches


def patch_clusters(
    clusters: dict[str, cluster_pb2.Cluster],
    patches: Patches,
    context_of: Callable[[cluster_pb2.Cluster], str],
    main_context: str,
) -> dict[str, cluster_pb2.Cluster]:
    out: dict[str, cluster_pb2.Cluster] = {}
    for name, cluster in clusters.items():
        if _patch_cluster(cluster, patches, context_of(cluster)):
            out[name] = cluster
    for patch in patches.of("CLUSTER"):
        if patch.operation != "ADD" or patch.value is None:
            continue
        if patch.context in ("ANY", main_context) or (
            main_context == "SIDECAR_OUTBOUND" and patch.context == "SIDECAR_INBOUND"
        ):
            added: cluster_pb2.Cluster = clone(patch.value)
            out[added.name] = added
    return out


def _patch_cluster(cluster: cluster_pb2.Cluster, patches: Patches, context: str) -> bool:
    for patch in patches.of("CLUSTER"):
        if not (context_matches(patch, context) and _cluster_matches(patch, cluster)):
            continue
        if patch.operation == "REMOVE":
            return False
        if patch.operation == "MERGE" and patch.value is not None:
            _merge_cluster(cluster, patch.value, patch.replace_lists)
    return True


def _cluster_matches(patch: Patch, cluster: cluster_pb2.Cluster) -> bool:
    match = patch.match.cluster if patch.match is not None else None
    if match is None:
        return True
    if match.name:
        return bool(match.name == cluster.name)
    parsed = names.parse_cluster(cluster.name)
    _direction, port, subset, host = parsed if parsed is not None else ("", 0, "", "")
    if match.subset and match.subset != subset:
        return False
    if match.service and match.service != host:
        return False
    return not (match.port_number and match.port_number != port)


def _merge_cluster(
    cluster: cluster_pb2.Cluster, value: cluster_pb2.Cluster, replace_lists: bool
) -> None:
    if (
        value.HasField("transport_socket")
        and cluster.HasField("transport_socket")
        and value.transport_socket.name == cluster.transport_socket.name
    ):
        merge_any(cluster.transport_socket.typed_config, value.transport_socket.typed_config)
        value = clone(value)
        value.ClearField("transport_socket")
    merge(cluster, value, replace_lists)
