"""Envoy routes from VirtualService HTTP routes, and the default route of a service."""

from __future__ import annotations

from typing import Any

import xds_fixtures as fx

from sailmesh.xds.route_build import default_route, destination_cluster, vs_routes
from sailmesh.xds.scope import ProxyScope, build_scope

REVIEWS = "reviews.default.svc.cluster.local"


def scope_with(*resources: Any) -> ProxyScope:
    snap = fx.snapshot([*resources, *fx.config(files=("destination-rule-all.yaml",))])
    return build_scope(fx.productpage_proxy(), snap)


def routes(http: str) -> list[Any]:
    vs = fx.resource("VirtualService", f"hosts: [reviews]\nhttp:\n{http}", name="reviews")
    return vs_routes(scope_with(vs), vs, REVIEWS, 9080)


def test_default_route() -> None:
    route = default_route(scope_with(), REVIEWS, 9080)
    assert (route.name, route.match.prefix) == ("default", "/")
    assert route.route.cluster == f"outbound|9080||{REVIEWS}"
    assert route.route.timeout.seconds == 0  # no timeout, like Istio
    assert route.route.retry_policy.num_retries.value == 2
    assert route.decorator.operation == f"{REVIEWS}:9080/*"


def test_destination_cluster_port() -> None:
    vs = fx.resource(
        "VirtualService",
        "hosts: [reviews]\nhttp:\n- route:\n"
        "  - {destination: {host: reviews, subset: v2}, weight: 50}\n"
        "  - {destination: {host: api.example.com, port: {number: 8443}}, weight: 50}\n",
        name="reviews",
        namespace="default",
    )
    scope = scope_with(vs)
    by_service, explicit = (d.destination for d in vs.spec.http[0].route)
    # The service's only port, whatever the listener port; an explicit port wins.
    assert destination_cluster(scope, by_service, vs, 80) == (
        f"outbound|9080|v2|{REVIEWS}",
        REVIEWS,
        9080,
    )
    assert destination_cluster(scope, explicit, vs, 80) == (
        "outbound|8443||api.example.com",
        "api.example.com",
        8443,
    )


def test_one_route_per_applying_match_block_named_after_both() -> None:
    found = routes(
        "- name: api\n"
        "  match: [{name: get, method: {exact: GET}}, {name: other-port, port: 1}, {uri: {prefix: /x}}]\n"
        "  route: [{destination: {host: reviews, subset: v1}}]\n"
    )
    assert [r.name for r in found] == ["api.get", "api"]
    assert all(r.route.cluster == f"outbound|9080|v1|{REVIEWS}" for r in found)
    assert found[0].decorator.operation == f"{REVIEWS}:9080/api"
    assert found[0].metadata.filter_metadata["istio"]["config"] == (
        "/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews"
    )


def test_weighted_destinations_merge_and_drop_zero_weights() -> None:
    (route,) = routes(
        "- route:\n"
        "  - {destination: {host: reviews, subset: v1}, weight: 30}\n"
        "  - {destination: {host: reviews, subset: v1}, weight: 30}\n"
        "  - {destination: {host: reviews, subset: v2}, weight: 40}\n"
        "  - {destination: {host: reviews, subset: v3}, weight: 0}\n"
    )
    weights = [(c.name, c.weight.value) for c in route.route.weighted_clusters.clusters]
    assert weights == [(f"outbound|9080|v1|{REVIEWS}", 60), (f"outbound|9080|v2|{REVIEWS}", 40)]


def test_forwarding_options() -> None:
    (route,) = routes(
        "- timeout: 3s\n"
        "  rewrite: {uri: /v2/, authority: reviews.internal}\n"
        "  mirror: {host: ratings}\n"
        "  mirrorPercentage: {value: 5}\n"
        "  retries: {attempts: 0}\n"
        "  route: [{destination: {host: reviews, subset: v1}}]\n"
    )
    action = route.route
    assert (
        action.timeout.seconds == 3
        and action.max_grpc_timeout.seconds == 3
        and not action.HasField("max_stream_duration")  # it would void the route timeout
    )
    assert (action.prefix_rewrite, action.host_rewrite_literal) == ("/v2/", "reviews.internal")
    (mirror,) = action.request_mirror_policies
    assert mirror.cluster == "outbound|9080||ratings.default.svc.cluster.local"
    assert mirror.runtime_fraction.default_value.numerator == 50_000
    assert not action.HasField("retry_policy")


def test_redirects_and_direct_responses() -> None:
    redirect, direct = routes(
        "- match: [{uri: {exact: /old}}]\n  redirect: {uri: /new}\n"
        "- match: [{uri: {exact: /ping}}]\n  directResponse: {status: 204}\n"
    )
    assert redirect.redirect.path_redirect == "/new"
    assert direct.direct_response.status == 204
