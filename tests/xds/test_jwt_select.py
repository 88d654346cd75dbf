"""Which RequestAuthentication objects apply to a proxy (xds/jwt/select.py)."""

from __future__ import annotations

import pytest
import xds_fixtures as fx

from config_support.manifests import manifests
from sailmesh.registry.model import frozen_map
from sailmesh.snapshot.attachment import GATEWAY_NAME_LABEL
from sailmesh.snapshot.proxy import Proxy
from sailmesh.xds.jwt.select import policies_for

RULES = "  jwtRules: [{issuer: i, jwksUri: 'http://keys/jwks'}]"
GW = "group: gateway.networking.k8s.io"

POLICIES = manifests(f"""
RequestAuthentication istio-system/mesh-wide
{RULES}
---
RequestAuthentication istio-system/root-selector
  selector: {{matchLabels: {{app: productpage}}}}
{RULES}
---
RequestAuthentication default/namespace-wide
{RULES}
---
RequestAuthentication default/productpage
  selector: {{matchLabels: {{app: productpage}}}}
{RULES}
---
RequestAuthentication default/reviews
  selector: {{matchLabels: {{app: reviews}}}}
{RULES}
---
RequestAuthentication other/elsewhere
{RULES}
---
RequestAuthentication default/edge-gateway
  targetRef: {{{GW}, kind: Gateway, name: edge}}
{RULES}
---
RequestAuthentication default/edge-in-list
  targetRefs: [{{{GW}, kind: Gateway, name: other}}, {{{GW}, kind: Gateway, name: edge}}]
{RULES}
---
RequestAuthentication default/other-gateway
  targetRef: {{{GW}, kind: Gateway, name: other}}
{RULES}
---
RequestAuthentication istio-system/edge-from-root
  targetRef: {{{GW}, kind: Gateway, name: edge}}
{RULES}
---
RequestAuthentication istio-system/class
  targetRef: {{{GW}, kind: GatewayClass, name: istio}}
{RULES}
---
RequestAuthentication default/class-outside-root
  targetRef: {{{GW}, kind: GatewayClass, name: istio}}
{RULES}
---
RequestAuthentication default/waypoint
  targetRef: {{group: "", kind: Service, name: productpage}}
{RULES}
""")

EDGE = Proxy(
    type="router",
    ip="10.244.0.50",
    pod_name="edge-1",
    namespace="default",
    labels=frozen_map({GATEWAY_NAME_LABEL: "edge"}),
)


def applied(proxy: Proxy) -> list[str]:
    snap = fx.snapshot(fx.config(POLICIES))
    return sorted(f"{p.namespace}/{p.name}" for p in policies_for(proxy, snap))


def test_a_sidecar_gets_mesh_namespace_and_selected_policies() -> None:
    assert applied(fx.productpage_proxy()) == [
        "default/namespace-wide",
        "default/productpage",
        "istio-system/mesh-wide",
        "istio-system/root-selector",  # a root selector picks workloads of every namespace
    ]


def test_targeted_policies_attach_to_the_named_gateway_of_their_namespace_only() -> None:
    # not: another gateway's, another namespace's (even the root's), waypoint targets
    # (GatewayClass, Service)
    assert applied(EDGE) == [
        "default/edge-gateway",
        "default/edge-in-list",
        "default/namespace-wide",
        "istio-system/mesh-wide",
    ]


@pytest.mark.parametrize(
    "labels",
    [{GATEWAY_NAME_LABEL: "edge"}, {}],
    ids=["gateway-api-gateway", "istio-gateway"],
)
def test_a_gateway_in_another_namespace_gets_only_mesh_wide_policies(
    labels: dict[str, str],
) -> None:
    proxy = Proxy(type="router", ip="10.0.0.9", pod_name="gw-1", namespace="gateways",
                  labels=frozen_map(labels))  # fmt: skip
    assert applied(proxy) == ["istio-system/mesh-wide"]
