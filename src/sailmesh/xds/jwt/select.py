"""Which RequestAuthentication objects apply to a proxy (Istio's policy attachment rules).

In: a :class:`~sailmesh.snapshot.proxy.Proxy` and the snapshot. Out: the policies, in the
snapshot's age order. A policy applies when it is in the proxy's namespace or the mesh's root
namespace and

- has neither ``selector`` nor ``targetRef(s)``: namespace-wide (mesh-wide in the root
  namespace);
- has a ``selector`` whose labels the proxy carries (a root-namespace selector picks matching
  workloads of every namespace, as Istio does for request authentication and authorization);
- has ``targetRef(s)``: it then applies only to the Kubernetes Gateway API gateways named
  (kind ``Gateway``), i.e. proxies labelled ``gateway.networking.k8s.io/gateway-name: <name>``
  in the policy's own namespace (a reference to another namespace matches nothing, as in
  Istio, even from the root namespace). ``Service``, ``ServiceEntry`` and ``GatewayClass``
  targets attach a policy to waypoint proxies (ambient mode), which sidecars and gateways
  ignore and sailmesh does not run: such a reference selects nothing (reported as not
  enforced).
"""

from __future__ import annotations

from typing import Any

from sailmesh.config.resource import Resource
from sailmesh.registry.model import selector_matches
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot, selector_labels
from sailmesh.xds.gateway_api import GATEWAY_API_GROUP, GATEWAY_NAME_LABEL

KIND = "RequestAuthentication"


def policies_for(proxy: Proxy, snapshot: MeshSnapshot) -> list[Resource]:
    """The RequestAuthentication objects that apply to ``proxy``."""
    root = snapshot.mesh.root_namespace
    return [r for r in snapshot.of_kind(KIND) if applies(r, proxy, root)]


def applies(policy: Resource, proxy: Proxy, root_namespace: str) -> bool:
    """Whether ``policy`` (RequestAuthentication or AuthorizationPolicy) attaches to ``proxy``."""
    if policy.namespace not in (proxy.namespace, root_namespace):
        return False
    refs = target_refs(policy.spec)
    if refs:
        return any(_targets(ref, policy.namespace, proxy) for ref in refs)
    labels = selector_labels(policy)
    return labels is None or selector_matches(labels, proxy.labels)


def target_refs(spec: Any) -> list[Any]:
    """``targetRefs``, or ``[targetRef]`` when only the single form is set."""
    refs = list(getattr(spec, "target_refs", None) or [])
    single = getattr(spec, "target_ref", None)
    return refs or ([single] if single is not None else [])


def _targets(ref: Any, policy_namespace: str, proxy: Proxy) -> bool:
    return (
        (ref.group or "") == GATEWAY_API_GROUP
        and ref.kind == "Gateway"
        and bool(ref.name)
        and proxy.namespace == policy_namespace
        and (ref.namespace or policy_namespace) == policy_namespace
        and proxy.labels.get(GATEWAY_NAME_LABEL) == ref.name
    )
