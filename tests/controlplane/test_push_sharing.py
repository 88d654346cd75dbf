"""Translation shared between proxies (``sailmesh.controlplane.pushcache``).

Sharing must never change what a proxy gets: every test compares the shared result with a
translation of that proxy alone.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from push_mesh import (
    REVIEWS_DR,
    TYPES,
    alone,
    apply_and_wait_push,
    assert_served_as_translated_alone,
    connected_control_plane,
    load,
    node,
    proxy,
    services,
    workloads,
)

from config_support.manifests import manifests
from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE
from sailmesh.controlplane.pushcache import LabelDependence, PushContext
from sailmesh.registry.model import Service, ServicePort, Workload, frozen_map
from sailmesh.registry.registry import compute_view
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.options import TranslateOptions

SOURCE_LABELS_VS = manifests("""
VirtualService default/reviews
  hosts: [reviews]
  http:
  - match: [{sourceLabels: {app: productpage}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
""")
SELECTED_SIDECAR = manifests("""
Sidecar default/ratings-only-details
  workloadSelector: {labels: {app: ratings}}
  egress: [{hosts: [./details.default.svc.cluster.local]}]
""")
SELECTED_POLICY = manifests("""
AuthorizationPolicy default/deny-ratings
  selector: {matchLabels: {app: ratings}}
  action: DENY
  rules: [{}]
""")
ROOT_SELECTED_POLICY = manifests("""
AuthorizationPolicy istio-system/deny-ratings-everywhere
  selector: {matchLabels: {app: ratings}}
  action: DENY
  rules: [{to: [{operation: {paths: [/admin]}}]}]
""")
TARGETED_POLICY = manifests("""
AuthorizationPolicy default/deny-edge-gateway
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  action: DENY
  rules: [{}]
""")
GATEWAY = manifests("""
Gateway default/ingress
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
""")


def _snapshot(*texts: str) -> MeshSnapshot:
    return MeshSnapshot.build(load(*texts), compute_view(services(), workloads()))


def _assert_same_as_alone(ctx: PushContext, one: Proxy, options: TranslateOptions) -> None:
    shared = ctx.resources(one, options)
    expected = alone(one, ctx.snapshot, options)
    for t in TYPES:
        assert shared.version(t) == expected.version(t), (one.pod_name, t)
        assert dict(shared.of(t).versions) == dict(expected.of(t).versions)


def test_proxies_with_the_same_scope_share_one_translation() -> None:
    ctx = PushContext(_snapshot(REVIEWS_DR))
    options = TranslateOptions()
    a, b = proxy("reviews", 1), proxy("reviews", 2)
    first, second = ctx.resources(a, options), ctx.resources(b, options)
    assert ctx.translations == 1
    for t in TYPES:
        assert first.of(t) is second.of(t)
    _assert_same_as_alone(ctx, a, options)
    _assert_same_as_alone(ctx, b, options)


def test_inbound_side_is_per_label_set_outbound_side_is_shared() -> None:
    ctx = PushContext(_snapshot(REVIEWS_DR))
    options = TranslateOptions()
    reviews, ratings = proxy("reviews"), proxy("ratings")
    r1, r2 = ctx.resources(reviews, options), ctx.resources(ratings, options)
    assert r1.of(ENDPOINT) is r2.of(ENDPOINT) and r1.of(ROUTE) is r2.of(ROUTE)
    assert r1.version(CLUSTER) != r2.version(CLUSTER)  # inbound|9080|| differs by service
    assert r1.version(LISTENER) != r2.version(LISTENER)
    _assert_same_as_alone(ctx, reviews, options)
    _assert_same_as_alone(ctx, ratings, options)


def test_virtual_service_with_source_labels_gives_the_matched_proxy_its_own_routes() -> None:
    ctx = PushContext(_snapshot(REVIEWS_DR, SOURCE_LABELS_VS))
    assert ctx.labels.everywhere
    options = TranslateOptions()
    page, details = proxy("productpage"), proxy("details")
    assert ctx.resources(page, options).version(ROUTE) != ctx.resources(details, options).version(
        ROUTE
    )
    for one in (page, details, proxy("productpage", 2), proxy("details", 2)):
        _assert_same_as_alone(ctx, one, options)
    # two productpage pods still share their routes
    assert ctx.resources(page, options).of(ROUTE) is ctx.resources(
        proxy("productpage", 2), options
    ).of(ROUTE)


def test_sidecar_with_workload_selector_applies_to_the_selected_proxy_only() -> None:
    ctx = PushContext(_snapshot(REVIEWS_DR, SELECTED_SIDECAR))
    options = TranslateOptions()
    ratings, details = proxy("ratings"), proxy("details")
    ratings_clusters = ctx.resources(ratings, options).of(CLUSTER).packed
    details_clusters = ctx.resources(details, options).of(CLUSTER).packed
    assert "outbound|9080||reviews.default.svc.cluster.local" not in ratings_clusters
    assert "outbound|9080||reviews.default.svc.cluster.local" in details_clusters
    assert ctx.resources(ratings, options).version(ENDPOINT) != ctx.resources(
        details, options
    ).version(ENDPOINT)
    for one in (ratings, details, proxy("ratings", 2)):
        _assert_same_as_alone(ctx, one, options)


def test_label_dependence_is_per_namespace_and_ignores_gateway_selectors() -> None:
    plain = LabelDependence.scan(_snapshot(REVIEWS_DR, GATEWAY))
    assert not plain.applies(proxy("reviews"))
    policy = LabelDependence.scan(_snapshot(REVIEWS_DR, SELECTED_POLICY))
    assert policy.applies(proxy("reviews"))
    assert not policy.applies(proxy("reviews", namespace="other"))


def test_authorization_policies_reach_only_the_proxies_they_select() -> None:
    ctx = PushContext(_snapshot(REVIEWS_DR, SELECTED_POLICY, ROOT_SELECTED_POLICY))
    options = TranslateOptions()
    ratings, reviews = proxy("ratings"), proxy("reviews")
    other_ratings, other_reviews = (proxy(app, namespace="other") for app in ("ratings", "reviews"))
    versions = {p.pod_name + p.namespace: ctx.resources(p, options).version(LISTENER)
                for p in (ratings, reviews, other_ratings, other_reviews)}  # fmt: skip
    assert len(set(versions.values())) == 4  # both ratings pods differ from reviews, and each other
    for one in (ratings, reviews, other_ratings, other_reviews, proxy("ratings", 2)):
        _assert_same_as_alone(ctx, one, options)


def test_target_refs_make_a_namespace_label_dependent() -> None:
    assert LabelDependence.scan(_snapshot(REVIEWS_DR, TARGETED_POLICY)).applies(proxy("reviews"))
    ctx = PushContext(_snapshot(REVIEWS_DR, TARGETED_POLICY))
    options = TranslateOptions()
    labels = {"app": "reviews", "gateway.networking.k8s.io/gateway-name": "edge"}
    edge = replace(proxy("reviews", 2), labels=frozen_map(labels))
    assert ctx.resources(edge, options).version(LISTENER) != ctx.resources(
        proxy("reviews"), options
    ).version(LISTENER)
    for one in (edge, proxy("reviews")):
        _assert_same_as_alone(ctx, one, options)


def test_keys_separate_namespace_interception_and_options() -> None:
    ctx = PushContext(_snapshot(REVIEWS_DR, SELECTED_SIDECAR))
    proxies = [
        proxy("reviews"),
        proxy("reviews", namespace="other"),
        proxy("reviews", interception="NONE"),
        proxy("reviews", service_account="bookinfo-reviews"),
        proxy("ratings"),
        proxy("unknown"),
    ]
    for options in (TranslateOptions(), TranslateOptions(explicit_port=15999)):
        for one in proxies:
            _assert_same_as_alone(ctx, one, options)
    explicit = ctx.resources(proxy("reviews", interception="NONE"), TranslateOptions())
    other_port = ctx.resources(
        proxy("reviews", interception="NONE"), TranslateOptions(explicit_port=15999)
    )
    assert explicit.version(LISTENER) != other_port.version(LISTENER)


def test_workload_at_the_proxy_address_is_part_of_the_inbound_key() -> None:
    named = Service(
        hostname="named.default.svc.cluster.local",
        name="named",
        namespace="default",
        ports=(ServicePort("http", 80, "HTTP", target_port="web"),),
        vip="10.96.1.1",
        selector=frozen_map({"app": "named"}),
    )
    pods = [
        Workload(
            name=f"named-{i}",
            namespace="default",
            address=f"10.250.9.{i}",
            labels=frozen_map({"app": "named", "version": "v1"}),
            ports=frozen_map({"web": 8000 + i}),
        )
        for i in (1, 2)
    ]
    snapshot = MeshSnapshot.build([], compute_view([*services(), named], [*workloads(), *pods]))
    ctx = PushContext(snapshot)
    options = TranslateOptions()
    one, two = proxy("named", 1), proxy("named", 2)
    assert ctx.resources(one, options).version(CLUSTER) != ctx.resources(two, options).version(
        CLUSTER
    )
    _assert_same_as_alone(ctx, one, options)
    _assert_same_as_alone(ctx, two, options)


# --- through the control plane ------------------------------------------------------------
CHANGE = manifests("""
VirtualService default/ratings
  hosts: [ratings]
  http: [{timeout: 3s, route: [{destination: {host: ratings}}]}]
""")


def test_control_plane_shares_per_push_and_a_change_reaches_everyone() -> None:
    async def scenario() -> None:
        nodes = [node("reviews", n) for n in range(1, 6)] + [node("ratings", 6)]
        async with connected_control_plane(nodes) as cp:
            ctx = cp.push_context
            assert ctx is not None and ctx.translations == 2  # one per label set
            before = {n.id: cp.cache.get(n.id) for n in nodes}
            first = before[nodes[0].id]
            assert first is not None
            assert all(s is not None and s.of(ROUTE) is first.of(ROUTE) for s in before.values())

            await apply_and_wait_push(cp, CHANGE)
            for one in nodes:
                now = cp.cache.get(one.id)
                old = before[one.id]
                assert now is not None and old is not None
                assert now.version(ROUTE) != old.version(ROUTE)
            assert_served_as_translated_alone(cp, nodes, TranslateOptions())

    asyncio.run(scenario())
