"""Which EnvoyFilters apply to a proxy, and in which order (Istio's rules).

In: a :class:`~sailmesh.snapshot.proxy.Proxy` and the snapshot. Out: the EnvoyFilter objects
that patch it, in application order: first those of the config root namespace, then those of
the proxy's namespace; within each, by ``priority`` (lower first, default 0), then by age
(creation time, then name: the snapshot's order).

Selection (the EnvoyFilter's namespace or the root namespace, ``workloadSelector``,
``targetRefs``) follows the rules shared with authorization and request authentication in
:mod:`sailmesh.snapshot.attachment`.
"""

from __future__ import annotations

from sailmesh.config.resource import Resource
from sailmesh.snapshot.attachment import attaches, target_refs
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot


def envoy_filters_for(proxy: Proxy, snapshot: MeshSnapshot) -> list[Resource]:
    """The EnvoyFilters patching ``proxy``, in the order their patches are applied."""
    root = snapshot.mesh.root_namespace
    chosen = [ef for ef in snapshot.of_kind("EnvoyFilter") if _applies(ef, proxy, root)]
    if not chosen:
        return []
    # sorted() is stable: equal priorities keep the snapshot's age order.
    in_root = sorted((ef for ef in chosen if ef.namespace == root), key=_priority)
    local = sorted((ef for ef in chosen if ef.namespace != root), key=_priority)
    return in_root + local


def _priority(ef: Resource) -> int:
    return int(ef.spec.priority or 0)


def _applies(ef: Resource, proxy: Proxy, root: str) -> bool:
    selector = ef.spec.workload_selector
    return attaches(
        policy_namespace=ef.namespace,
        selector=selector.labels if selector is not None else None,
        refs=target_refs(ef.spec),
        namespace=proxy.namespace,
        labels=proxy.labels,
        root_namespace=root,
    )
