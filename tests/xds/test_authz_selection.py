"""Which AuthorizationPolicies apply to a proxy (:mod:`sailmesh.xds.authz.selection`)."""

from __future__ import annotations

import pytest
import xds_fixtures as fx

from config_support.manifests import manifests
from sailmesh.registry.model import frozen_map
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.proxy import Proxy
from sailmesh.xds.authz.selection import applied_policies

POLICIES = manifests("""
AuthorizationPolicy istio-system/mesh-wide
  action: DENY
  rules: [{}]
---
AuthorizationPolicy istio-system/root-selects-reviews
  selector: {matchLabels: {app: reviews}}
  rules: [{}]
---
AuthorizationPolicy default/namespace-wide
  action: AUDIT
  rules: [{}]
---
AuthorizationPolicy default/empty-selector
  selector: {matchLabels: {}}
  rules: [{}]
---
AuthorizationPolicy default/for-reviews
  selector: {matchLabels: {app: reviews}}
  action: CUSTOM
  provider: {name: p}
  rules: [{}]
---
AuthorizationPolicy default/gateway-api
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  rules: [{}]
---
AuthorizationPolicy default/waypoint
  targetRef: {kind: Service, group: "", name: reviews}
  rules: [{}]
---
AuthorizationPolicy shop/other-namespace
  rules: [{}]
""")
DRY_RUN = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: dry, namespace: default, annotations: {istio.io/dry-run: "true"}}
spec: {action: %s, provider: %s, rules: [{}]}
"""


def proxy(namespace: str, **labels: str) -> Proxy:
    return Proxy("sidecar", "10.0.0.9", "pod", namespace, labels=frozen_map(labels))


def names(namespace: str, root: str = "istio-system", **labels: str) -> dict[str, list[str]]:
    snapshot = fx.snapshot(fx.config(POLICIES), mesh=MeshConfig(root_namespace=root))
    applied = applied_policies(snapshot, proxy(namespace, **labels))
    groups = {"custom": applied.custom, "deny": applied.deny, "allow": applied.allow,
              "audit": applied.audit}  # fmt: skip
    return {k: sorted(p.name for p in v) for k, v in groups.items() if v}


def test_a_selected_workload_gets_mesh_namespace_and_selector_policies() -> None:
    assert names("default", app="reviews") == {
        "custom": ["for-reviews"],
        "deny": ["mesh-wide"],
        "allow": ["empty-selector", "root-selects-reviews"],
        "audit": ["namespace-wide"],
    }


def test_root_namespace_selectors_match_in_every_namespace() -> None:
    assert names("shop", app="reviews") == {
        "deny": ["mesh-wide"],
        "allow": ["other-namespace", "root-selects-reviews"],
    }
    assert names("team") == {"deny": ["mesh-wide"]}


def test_the_root_namespace_comes_from_mesh_config() -> None:
    assert names("team", root="shop") == {"allow": ["other-namespace"]}


def test_gateway_targets_select_the_gateways_pods_and_waypoint_targets_nothing() -> None:
    edge = names("default", **{"gateway.networking.k8s.io/gateway-name": "edge", "app": "reviews"})
    assert "gateway-api" in edge["allow"] and "waypoint" not in edge["allow"]
    assert "gateway-api" not in names("default", app="reviews")["allow"]


@pytest.mark.parametrize(
    ("action", "provider", "group"),
    [
        ("ALLOW", "null", "allow_dry_run"),
        ("DENY", "null", "deny_dry_run"),
        ("CUSTOM", "{name: p}", None),
    ],
)
def test_dry_run_policies_are_kept_apart(action: str, provider: str, group: str | None) -> None:
    snapshot = fx.snapshot(fx.config(DRY_RUN % (action, provider)))
    applied = applied_policies(snapshot, proxy("default"))
    if group is None:  # a dry-run CUSTOM policy is not sent to its provider at all
        assert applied.empty
    else:
        assert [p.name for p in getattr(applied, group)] == ["dry"]
        assert not (applied.allow or applied.deny)
