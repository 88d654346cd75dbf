"""ProxyScope: what one sidecar sees (Sidecar egress, outbound policy, VirtualService owners)."""

from __future__ import annotations

import pytest
import xds_fixtures as fx

from sailmesh.registry.model import ServicePort, frozen_map
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.xds.scope import build_scope, destination_host, port_kind

REVIEWS = "reviews.default.svc.cluster.local"
BOOKINFO = [
    "details.default.svc.cluster.local",
    "productpage.default.svc.cluster.local",
    "ratings.default.svc.cluster.local",
    REVIEWS,
]
SHOP_CART = fx.service("cart", 80, namespace="shop")


@pytest.mark.parametrize(
    ("protocol", "kind"),
    [
        ("HTTP", "http"),
        ("GRPC", "http"),
        ("HTTP2", "http"),
        ("AUTO", "auto"),
        ("HTTPS", "tls"),
        ("TLS", "tls"),
        ("UDP", "udp"),
        ("TCP", "tcp"),
        ("MONGO", "tcp"),
    ],
)
def test_port_kind(protocol: str, kind: str) -> None:
    assert port_kind(ServicePort("p", 1, protocol)) == kind  # type: ignore[arg-type]


def hosts(*texts: str, mesh: MeshConfig | None = None) -> list[str]:
    snap = fx.snapshot(fx.config(*texts), extra_services=[SHOP_CART], mesh=mesh)
    return [s.hostname for s in build_scope(fx.productpage_proxy(), snap).services]


def sidecar(egress: str, extra: str = "") -> str:
    return (
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default}\n"
        f"spec: {{egress: [{{hosts: {egress}}}]{extra}}}\n"
    )


def test_without_a_sidecar_every_visible_service_sorted_by_host() -> None:
    assert hosts() == ["cart.shop.svc.cluster.local", *BOOKINFO]


@pytest.mark.parametrize(
    ("egress", "expected"),
    [
        ('["./*"]', BOOKINFO),
        ('["shop/*"]', ["cart.shop.svc.cluster.local"]),
        ('["*/reviews.default.svc.cluster.local"]', [REVIEWS]),
        (
            '["./*.default.svc.cluster.local", "shop/cart.shop.svc.cluster.local"]',
            ["cart.shop.svc.cluster.local", *BOOKINFO],
        ),
        ('["~/*"]', []),
    ],
)
def test_sidecar_egress_limits_services(egress: str, expected: list[str]) -> None:
    assert hosts(sidecar(egress)) == expected


def test_outbound_policy_from_mesh_or_sidecar() -> None:
    proxy = fx.productpage_proxy()
    mesh = MeshConfig(outbound_traffic_policy="REGISTRY_ONLY")
    assert build_scope(proxy, fx.snapshot([])).outbound_policy == "ALLOW_ANY"
    assert build_scope(proxy, fx.snapshot([], mesh=mesh)).outbound_policy == "REGISTRY_ONLY"
    allow = fx.config(sidecar('["*/*"]', ", outboundTrafficPolicy: {mode: ALLOW_ANY}"))
    assert build_scope(proxy, fx.snapshot(allow, mesh=mesh)).outbound_policy == "ALLOW_ANY"


VIRTUAL_SERVICES = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a-first, creationTimestamp: '2024-01-01T00:00:00Z'}
spec: {hosts: [reviews, ext.example.com], http: [{route: [{destination: {host: reviews}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b-second, creationTimestamp: '2024-01-02T00:00:00Z'}
spec: {hosts: [reviews, "*.default.svc.cluster.local"], http: [{route: [{destination: {host: ratings}}]}]}
"""


def test_the_oldest_virtual_service_owns_a_host_and_wildcards_fill_the_rest() -> None:
    scope = build_scope(fx.productpage_proxy(), fx.snapshot(fx.config(VIRTUAL_SERVICES)))
    owners = {host: vs.name for host, vs in scope.owner.items()}
    assert owners == {
        REVIEWS: "a-first",
        "ext.example.com": "a-first",
        "details.default.svc.cluster.local": "b-second",
        "productpage.default.svc.cluster.local": "b-second",
        "ratings.default.svc.cluster.local": "b-second",
    }
    assert [(h, vs.name) for h, vs in scope.vs_only_hosts] == [("ext.example.com", "a-first")]
    assert scope.virtual_service_for("nothing.example.com") is None


def test_inbound_services_and_service_lookup() -> None:
    scope = build_scope(fx.productpage_proxy(), fx.snapshot([], extra_services=[SHOP_CART]))
    assert [s.name for s in scope.inbound_services()] == ["productpage"]
    found = scope.service("cart.shop.svc.cluster.local")
    assert found is SHOP_CART
    assert scope.service("missing.example.com") is None
    cart_proxy = fx.productpage_proxy(namespace="shop", labels=frozen_map({"app": "cart"}))
    cart_scope = build_scope(cart_proxy, fx.snapshot([], extra_services=[SHOP_CART]))
    assert cart_scope.inbound_services() == [SHOP_CART]


def test_destination_rule_is_memoized_per_host() -> None:
    snap = fx.snapshot(fx.config(files=("destination-rule-all.yaml",)))
    scope = build_scope(fx.productpage_proxy(), snap)
    rule = scope.destination_rule(REVIEWS)
    assert rule is not None and rule.name == "reviews"
    assert scope.destination_rule(REVIEWS) is rule
    assert scope.destination_rule("x.example.com") is None


def test_destination_host_resolves_short_names_in_the_virtual_services_namespace() -> None:
    (vs,) = fx.config(
        VIRTUAL_SERVICES.replace(
            "metadata: {name: a-first,", "metadata: {name: a-first, namespace: shop,"
        ).split("---")[0]
    )
    assert destination_host("reviews", vs) == "reviews.shop.svc.cluster.local"
    assert destination_host("api.example.com", vs) == "api.example.com"
