"""Which AuthorizationPolicies apply to a proxy, grouped by action (Istio's selection rules).

In: the proxy (namespace, labels) and the snapshot. Out: :class:`AppliedPolicies`, the
policies of each action in the snapshot's order (oldest first), dry-run ones apart.

- Attachment (the policy's namespace or the root namespace, ``selector``, ``targetRef(s)``)
  follows the rules shared with request authentication and EnvoyFilter in
  :mod:`sailmesh.snapshot.attachment`.
- The annotation ``istio.io/dry-run: "true"`` makes an ALLOW or DENY policy a shadow policy
  (evaluated, counted in stats, never enforced). A dry-run CUSTOM policy is not sent to its
  provider at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sailmesh.config.resource import Resource
from sailmesh.snapshot.attachment import attaches, target_refs
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot, selector_labels

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


def selects(
    policy: Resource, namespace: str, labels: Mapping[str, str], root_namespace: str
) -> bool:
    """Whether ``policy`` applies to a workload of ``namespace`` with ``labels`` (see the
    module docstring)."""
    return attaches(
        policy_namespace=policy.namespace,
        selector=selector_labels(policy),
        refs=target_refs(policy.spec),
        namespace=namespace,
        labels=labels,
        root_namespace=root_namespace,
    )


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
