"""Policy attachment: whether a policy's ``selector`` or ``targetRef(s)`` picks a proxy.

In: the policy (namespace, selector labels, target references), the proxy's namespace and
labels, and the mesh's root namespace. Out: yes or no. AuthorizationPolicy,
RequestAuthentication and EnvoyFilter all attach by these rules (Istio's):

- A policy applies only to proxies of its own namespace, or to every namespace's proxies when
  it lives in the root namespace (meshConfig ``rootNamespace``).
- Without selector and targets it applies namespace-wide (mesh-wide from the root namespace).
- With selector labels it applies to the proxies carrying them (in every namespace when the
  policy is in the root namespace).
- ``targetRef(s)`` replace the selector. Only a Kubernetes Gateway API ``Gateway`` (group
  ``gateway.networking.k8s.io``) selects proxies here: the pods Istio deploys for it, labelled
  ``gateway.networking.k8s.io/gateway-name: <name>``, in the policy's own namespace, even for
  a root-namespace policy. A reference's ``namespace`` must be empty (Istio's CRD refuses it:
  "cross namespace referencing is not currently supported"); validation refuses it too, and a
  reference naming another namespace selects nothing. ``Service``, ``ServiceEntry`` and
  ``GatewayClass`` targets attach to waypoint proxies (ambient mode), which sailmesh does not
  run: they select nothing, and the not-enforced table says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sailmesh.registry.model import selector_matches

GATEWAY_API_GROUP = "gateway.networking.k8s.io"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"


def target_refs(spec: Any) -> list[Any]:
    """``targetRefs``, or ``[targetRef]`` when only the single form is set (either may be
    absent from a kind's spec)."""
    refs = list(getattr(spec, "target_refs", None) or ())
    single = getattr(spec, "target_ref", None)
    return refs or ([single] if single is not None else [])


def targets_gateway(
    ref: Any, policy_namespace: str, namespace: str, labels: Mapping[str, str]
) -> bool:
    """Whether one target reference names the Gateway API gateway whose pods these are."""
    name = getattr(ref, "name", None)
    return (
        getattr(ref, "kind", None) == "Gateway"
        and (getattr(ref, "group", None) or "") == GATEWAY_API_GROUP
        and bool(name)
        and (getattr(ref, "namespace", None) or policy_namespace) == policy_namespace
        and namespace == policy_namespace
        and labels.get(GATEWAY_NAME_LABEL) == name
    )


def attaches(
    *,
    policy_namespace: str,
    selector: Mapping[str, str] | None,
    refs: Sequence[Any],
    namespace: str,
    labels: Mapping[str, str],
    root_namespace: str,
) -> bool:
    """Whether a policy (by the module's rules) applies to a proxy of ``namespace`` carrying
    ``labels``. ``selector`` is None or empty for a namespace-wide policy."""
    if policy_namespace not in (namespace, root_namespace):
        return False
    if refs:
        return any(targets_gateway(r, policy_namespace, namespace, labels) for r in refs)
    return not selector or selector_matches(selector, labels)
