"""Translation shared between proxies (``sailmesh.controlplane.pushcache``).

Sharing must never change what a proxy gets: every test compares the shared result with a
translation of that proxy alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, ResourceSnapshot
from sailmesh.config.load import load_text
from sailmesh.controlplane.pushcache import LabelDependence, PushContext
from sailmesh.registry.model import Service, ServicePort, Workload, frozen_map
from sailmesh.registry.registry import compute_view
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.translate import translate

TYPES = (CLUSTER, ENDPOINT, LISTENER, ROUTE)
APPS = ("productpage", "reviews", "ratings", "details")

REVIEWS_DR = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
"""
SOURCE_LABELS_VS = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{sourceLabels: {app: productpage}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
"""
SELECTED_SIDECAR = """
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ratings-only-details, namespace: default}
spec:
  workloadSelector: {labels: {app: ratings}}
  egress: [{hosts: [./details.default.svc.cluster.local]}]
"""
SELECTED_POLICY = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-ratings, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  action: DENY
  rules: [{}]
"""
GATEWAY = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
"""


def _services() -> list[Service]:
    return [
        Service(
            hostname=f"{app}.default.svc.cluster.local",
            name=app,
            namespace="default",
            ports=(ServicePort("http", 9080, "HTTP"),),
            vip=f"10.96.0.{i + 10}",
            selector=frozen_map({"app": app}),
        )
        for i, app in enumerate(APPS)
    ]


def _workloads() -> list[Workload]:
    out = []
    for i, app in enumerate(APPS):
        for version in ("v1", "v2"):
            out.append(
                Workload(
                    name=f"{app}-{version}",
                    namespace="default",
                    address=f"10.244.{i}.{1 if version == 'v1' else 2}",
                    labels=frozen_map({"app": app, "version": version}),
                )
            )
    return out


def _snapshot(*texts: str) -> MeshSnapshot:
    resources = []
    for text in texts:
        loaded = load_text(text)
        assert loaded.ok, loaded.problems
        resources += loaded.resources
    return MeshSnapshot.build(resources, compute_view(_services(), _workloads()))


def _proxy(app: str, n: int = 1, namespace: str = "default", **kw: object) -> Proxy:
    return Proxy(
        type="sidecar",
        ip=f"10.250.{APPS.index(app) if app in APPS else 9}.{n}",
        pod_name=f"{app}-{n}",
        namespace=namespace,
        labels=frozen_map({"app": app, "version": "v1"}),
        **kw,  # type: ignore[arg-type]
    )


def _alone(proxy: Proxy, snapshot: MeshSnapshot, options: TranslateOptions) -> ResourceSnapshot:
    return ResourceSnapshot.build(translate(proxy, snapshot, options=options))


def _assert_same_as_alone(ctx: PushContext, proxy: Proxy, options: TranslateOptions) -> None:
    shared = ctx.resources(proxy, options)
    alone = _alone(proxy, ctx.snapshot, options)
    for t in TYPES:
        assert shared.version(t) == alone.version(t), (proxy.pod_name, t)
        assert dict(shared.of(t).versions) == dict(alone.of(t).versions)


def test_proxies_with_the_same_scope_share_one_translation() -> None:
    ctx = PushContext(_snapshot(REVIEWS_DR))
    options = TranslateOptions()
    a, b = _proxy("reviews", 1), _proxy("reviews", 2)
    first, second = ctx.resources(a, options), ctx.resources(b, options)
    assert ctx.translations == 1
    for t in TYPES:
        assert first.of(t) is second.of(t)
    _assert_same_as_alone(ctx, a, options)
    _assert_same_as_alone(ctx, b, options)


def test_inbound_side_is_per_label_set_outbound_side_is_shared() -> None:
    ctx = PushContext(_snapshot(REVIEWS_DR))
    options = TranslateOptions()
    reviews, ratings = _proxy("reviews"), _proxy("ratings")
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
    page, details = _proxy("productpage"), _proxy("details")
    assert ctx.resources(page, options).version(ROUTE) != ctx.resources(details, options).version(
        ROUTE
    )
    for proxy in (page, details, _proxy("productpage", 2), _proxy("details", 2)):
        _assert_same_as_alone(ctx, proxy, options)
    # two productpage pods still share their routes
    assert ctx.resources(page, options).of(ROUTE) is ctx.resources(
        _proxy("productpage", 2), options
    ).of(ROUTE)


def test_sidecar_with_workload_selector_applies_to_the_selected_proxy_only() -> None:
    ctx = PushContext(_snapshot(REVIEWS_DR, SELECTED_SIDECAR))
    options = TranslateOptions()
    ratings, details = _proxy("ratings"), _proxy("details")
    ratings_clusters = ctx.resources(ratings, options).of(CLUSTER).packed
    details_clusters = ctx.resources(details, options).of(CLUSTER).packed
    assert "outbound|9080||reviews.default.svc.cluster.local" not in ratings_clusters
    assert "outbound|9080||reviews.default.svc.cluster.local" in details_clusters
    assert ctx.resources(ratings, options).version(ENDPOINT) != ctx.resources(
        details, options
    ).version(ENDPOINT)
    for proxy in (ratings, details, _proxy("ratings", 2)):
        _assert_same_as_alone(ctx, proxy, options)


def test_label_dependence_is_per_namespace_and_ignores_gateway_selectors() -> None:
    plain = LabelDependence.scan(_snapshot(REVIEWS_DR, GATEWAY))
    assert not plain.applies(_proxy("reviews"))
    policy = LabelDependence.scan(_snapshot(REVIEWS_DR, SELECTED_POLICY))
    assert policy.applies(_proxy("reviews"))
    assert not policy.applies(_proxy("reviews", namespace="other"))


def test_keys_separate_namespace_interception_and_options() -> None:
    ctx = PushContext(_snapshot(REVIEWS_DR, SELECTED_SIDECAR))
    proxies = [
        _proxy("reviews"),
        _proxy("reviews", namespace="other"),
        _proxy("reviews", interception="NONE"),
        _proxy("reviews", service_account="bookinfo-reviews"),
        _proxy("ratings"),
        _proxy("unknown"),
    ]
    for options in (TranslateOptions(), TranslateOptions(explicit_port=15999)):
        for proxy in proxies:
            _assert_same_as_alone(ctx, proxy, options)
    explicit = ctx.resources(_proxy("reviews", interception="NONE"), TranslateOptions())
    other_port = ctx.resources(
        _proxy("reviews", interception="NONE"), TranslateOptions(explicit_port=15999)
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
    snapshot = MeshSnapshot.build([], compute_view([*_services(), named], [*_workloads(), *pods]))
    ctx = PushContext(snapshot)
    options = TranslateOptions()
    one, two = _proxy("named", 1), _proxy("named", 2)
    assert ctx.resources(one, options).version(CLUSTER) != ctx.resources(two, options).version(
        CLUSTER
    )
    _assert_same_as_alone(ctx, one, options)
    _assert_same_as_alone(ctx, two, options)


# --- through the control plane ------------------------------------------------------------
MESH = """
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec:
  selector: {app: ratings}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-1, namespace: default}
spec: {address: 10.0.0.1, labels: {app: reviews, version: v1}}
"""
CHANGE = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings]
  http: [{timeout: 3s, route: [{destination: {host: ratings}}]}]
"""


def _node(app: str, n: int) -> Any:
    from envoy.config.core.v3 import base_pb2

    node = base_pb2.Node(id=f"sidecar~10.250.0.{n}~{app}-{n}.default~default.svc.cluster.local")
    node.metadata.update({"LABELS": {"app": app}, "NAMESPACE": "default"})
    return node


def test_control_plane_shares_per_push_and_a_change_reaches_everyone() -> None:
    from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings

    async def scenario() -> None:
        cp = ControlPlane(ControlPlaneSettings(debounce_quiet=0.01, debounce_max=0.1))
        cp.apply_yaml(MESH, "mesh.yaml", "default")
        await cp.start()
        try:
            nodes = [_node("reviews", n) for n in range(1, 6)] + [_node("ratings", 6)]
            for node in nodes:
                cp._on_connect(node)
            ctx = cp._context
            assert ctx is not None and ctx.translations == 2  # one per label set
            before = {n.id: cp.cache.get(n.id) for n in nodes}
            first = before[nodes[0].id]
            assert first is not None
            assert all(s is not None and s.of(ROUTE) is first.of(ROUTE) for s in before.values())

            pushes = cp.pushes
            cp.apply_yaml(CHANGE, "change.yaml", "default")
            for _ in range(200):
                if cp.pushes > pushes:
                    break
                await asyncio.sleep(0.01)
            assert cp.pushes > pushes
            snapshot = cp.snapshot()
            for node in nodes:
                now = cp.cache.get(node.id)
                old = before[node.id]
                assert now is not None and old is not None
                assert now.version(ROUTE) != old.version(ROUTE)
                proxy = cp.connected[node.id]
                alone = _alone(proxy, snapshot, TranslateOptions())
                assert all(now.version(t) == alone.version(t) for t in TYPES)
        finally:
            await cp.stop()

    asyncio.run(scenario())
