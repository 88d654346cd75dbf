"""Which AuthorizationPolicies apply to a proxy, grouped by action (Istio's selection rules).

In: the proxy (namespace, labels) and the snapshot. Out: :class:`AppliedPolicies`, the
policies of each action in the snapshot's order (oldest first), dry-run ones apart.

- A policy in the root namespace (meshConfig ``rootNamespace``, ``istio-system`` by default)
  without ``selector`` applies to every workload of the mesh; with a ``selector``, to the
  workloads of every namespace whose labels match.
- A policy in the proxy's namespace without ``selector`` applies to all its workloads; with
  one (non-empty ``matchLabels``), to those whose labels match.
- ``targetRef``/``targetRefs`` replace the selector: a ``Gateway`` of
  ``gateway.networking.k8s.io`` selects the pods Istio deploys for it (label
  ``gateway.networking.k8s.io/gateway-name: <name>`` in the policy's namespace). ``Service``,
  ``ServiceEntry`` and ``GatewayClass`` targets bind a policy to waypoint proxies (ambient
  mode), which sidecars and gateways ignore, as in Istio: such a policy applies to no proxy
  here (the not-enforced table says so).
- The annotation ``istio.io/dry-run: "true"`` makes an ALLOW or DENY policy a shadow policy
  (evaluated, counted in stats, never enforced). A dry-run CUSTOM policy is not sent to its
  provider at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sailmesh.config.resource import Resource
from sailmesh.registry.model import selector_matches
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot, selector_labels
from sailmesh.xds.gateway_api import GATEWAY_API_GROUP, GATEWAY_NAME_LABEL

KIND = "AuthorizationPolicy"
DRY_RUN_ANNOTATION = "istio.io/dry-run"


@dataclass(frozen=True)
class AppliedPolicies:
    """The policies that apply to one proxy, by action; ``*_dry_run`` are shadow policies."""

    custom: tuple[Resource, ...] = ()
    deny: tuple[Resource, ...] = ()
    allow: tuple[Resource, ...] = ()
    audit: tuple[Resource, ...] = ()
    deny_dry_run: tuple[Resource, ...] = ()
    allow_dry_run: tuple[Resource, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.custom
            or self.deny
            or self.allow
            or self.audit
            or self.deny_dry_run
            or self.allow_dry_run
        )


def is_dry_run(policy: Resource) -> bool:
    return policy.annotations.get(DRY_RUN_ANNOTATION, "").strip().lower() in ("true", "1")


def _targets(policy: Resource) -> list[object]:
    spec = policy.spec
    refs = list(spec.target_refs or ())
    if spec.target_ref is not None:
        refs.append(spec.target_ref)
    return refs


def _targets_workload(policy: Resource, namespace: str, labels: Mapping[str, str]) -> bool:
    """Whether a ``targetRef(s)`` policy targets the workload (a Gateway API gateway's pods)."""
    for ref in _targets(policy):
        kind, group = getattr(ref, "kind", None), getattr(ref, "group", None) or ""
        name = getattr(ref, "name", None)
        if kind != "Gateway" or group != GATEWAY_API_GROUP or not name:
            continue
        if namespace == policy.namespace and labels.get(GATEWAY_NAME_LABEL) == name:
            return True
    return False


def selects(
    policy: Resource, namespace: str, labels: Mapping[str, str], root_namespace: str
) -> bool:
    """Whether ``policy`` applies to a workload of ``namespace`` with ``labels`` (see the
    module docstring)."""
    in_root = policy.namespace == root_namespace
    if policy.namespace != namespace and not in_root:
        return False
    if _targets(policy):
        return _targets_workload(policy, namespace, labels)
    selector = selector_labels(policy)
    return selector is None or selector_matches(selector, labels)


def applies_to(policy: Resource, proxy: Proxy, root_namespace: str) -> bool:
    """Whether ``policy`` selects ``proxy``."""
    return selects(policy, proxy.namespace, proxy.labels, root_namespace)


def applied_policies(snapshot: MeshSnapshot, proxy: Proxy) -> AppliedPolicies:
    """The AuthorizationPolicies of ``snapshot`` that apply to ``proxy``, by action."""
    root = snapshot.mesh.root_namespace
    groups: dict[str, list[Resource]] = {}
    for policy in snapshot.of_kind(KIND):
        if policy.spec is None or not applies_to(policy, proxy, root):
            continue
        action = policy.spec.action or "ALLOW"
        if is_dry_run(policy):
            if action == "CUSTOM":
                continue
            if action in ("ALLOW", "DENY"):
                action += "_dry_run"
        groups.setdefault(action, []).append(policy)
    return AppliedPolicies(
        custom=tuple(groups.get("CUSTOM", ())),
        deny=tuple(groups.get("DENY", ())),
        allow=tuple(groups.get("ALLOW", ())),
        audit=tuple(groups.get("AUDIT", ())),
        deny_dry_run=tuple(groups.get("DENY_dry_run", ())),
        allow_dry_run=tuple(groups.get("ALLOW_dry_run", ())),
    )
