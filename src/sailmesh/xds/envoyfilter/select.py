"""Which EnvoyFilters apply to a proxy, and in which order (Istio's rules).

In: a :class:`~sailmesh.snapshot.proxy.Proxy` and the snapshot. Out: the EnvoyFilter objects
that patch it, in application order: first those of the config root namespace, then those of
the proxy's namespace; within each, by ``priority`` (lower first, default 0), then by age
(creation time, then name: the snapshot's order).

Selection: without ``workloadSelector``/``targetRefs`` an EnvoyFilter applies to every proxy
of its namespace (every proxy of the mesh in the root namespace); ``workloadSelector.labels``
to the proxies with those labels (in any namespace when the EnvoyFilter is in the root
namespace); ``targetRefs`` of kind ``Gateway`` (group ``gateway.networking.k8s.io``) to the
proxies of that Gateway in the EnvoyFilter's namespace (pods labelled
``gateway.networking.k8s.io/gateway-name: <name>``, as Istio's deployment controller labels
them). Other target kinds (GatewayClass, Service for waypoints) select nothing here and are
listed as not enforced.
"""

from __future__ import annotations

from sailmesh.config.resource import Resource
from sailmesh.registry.model import selector_matches
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.gateway_api import GATEWAY_API_GROUP, GATEWAY_NAME_LABEL


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
    if ef.namespace not in (root, proxy.namespace):
        return False
    spec = ef.spec
    if spec.target_refs:
        return ef.namespace == proxy.namespace and any(
            _targets(ref, proxy) for ref in spec.target_refs
        )
    selector = spec.workload_selector
    if selector is None or not selector.labels:
        return True
    return selector_matches(selector.labels, proxy.labels)


def _targets(ref: object, proxy: Proxy) -> bool:
    group = getattr(ref, "group", None) or GATEWAY_API_GROUP
    if getattr(ref, "kind", None) != "Gateway" or group != GATEWAY_API_GROUP:
        return False
    return proxy.labels.get(GATEWAY_NAME_LABEL) == getattr(ref, "name", None)
