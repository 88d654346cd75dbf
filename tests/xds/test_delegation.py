"""VirtualService delegation: Istio's example (a root VirtualService on a gateway delegating
``/productpage`` and ``/reviews`` to delegates in two other namespaces), simulated on the
gateway and a sidecar, and the merge and conflict rules."""

from __future__ import annotations

from typing import Any

import pytest
import xds_fixtures as fx

from sailmesh.xds.delegation import conflicts, merge_matches, merge_route
from sailmesh.xds.simulate import Call, simulate
from sailmesh.xds.translate import translate

PRODUCTPAGE = "productpage.default.svc.cluster.local"
REVIEWS_B = "reviews.nsb.svc.cluster.local"

EXAMPLE = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: mygateway, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo, namespace: default}
spec:
  hosts: [bookinfo.com]
  gateways: [mygateway, mesh]
  http:
  - match: [{uri: {prefix: /productpage}}]
    delegate: {name: productpage, namespace: nsa}
  - match: [{uri: {prefix: /reviews}}]
    delegate: {name: reviews, namespace: nsb}
    timeout: 3s
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: productpage, namespace: nsa}
spec:
  http:
  - match: [{uri: {prefix: /productpage/v1/}}]
    route: [{destination: {host: productpage.default.svc.cluster.local, subset: v1}}]
  - match: [{uri: {exact: /elsewhere}}]
    route: [{destination: {host: productpage.default.svc.cluster.local, subset: v1}}]
  - route: [{destination: {host: productpage.default.svc.cluster.local}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: nsb}
spec:
  exportTo: ["*"]
  http:
  - route: [{destination: {host: reviews}}]
"""


def _snapshot(text: str = EXAMPLE) -> Any:
    reviews_b = fx.service("reviews", 9080, namespace="nsb")
    return fx.snapshot(fx.config(text), extra_services=[reviews_b])


def _gateway() -> Any:
    return fx.productpage_proxy(
        type="router", pod_name="gw-1", namespace="istio-system",
        labels=fx.frozen_map({"istio": "ingressgateway"}),
    )  # fmt: skip


@pytest.mark.parametrize("proxy", ["gateway", "sidecar"])
def test_istio_delegation_example(proxy: str) -> None:
    snap = _snapshot()
    if proxy == "gateway":
        resources, port = translate(_gateway(), snap), 8080
    else:
        resources, port = translate(fx.productpage_proxy(), snap), 9080

    def call(path: str) -> Any:
        return simulate(resources, Call("bookinfo.com", port, path=path))

    v1 = call("/productpage/v1/page")
    assert v1.cluster == f"outbound|9080|v1|{PRODUCTPAGE}"
    assert v1.route_message.metadata.filter_metadata["istio"]["config"].endswith("/bookinfo")
    assert call("/productpage").cluster == f"outbound|9080||{PRODUCTPAGE}"
    reviews = call("/reviews/1")  # the short host resolves in the delegate's namespace
    assert reviews.cluster == f"outbound|9080||{REVIEWS_B}"
    assert reviews.route_message.route.timeout.seconds == 3  # inherited from the root route
    assert call("/elsewhere").error  # outside the root's /productpage: a conflict, dropped
    assert call("/other").error


def test_delegates_must_be_visible_and_hostless() -> None:
    hidden = EXAMPLE.replace('exportTo: ["*"]', 'exportTo: ["."]')
    resources = translate(_gateway(), _snapshot(hidden))
    assert simulate(resources, Call("bookinfo.com", 8080, path="/reviews/1")).error
    with_hosts = EXAMPLE.replace('exportTo: ["*"]', "hosts: [reviews]")
    resources = translate(_gateway(), _snapshot(with_hosts))
    assert simulate(resources, Call("bookinfo.com", 8080, path="/reviews/1")).error


def _match(block: str) -> Any:
    return fx.http_routes(f"- match: [{block}]\n  route: [{{destination: {{host: r}}}}]\n")[
        0
    ].match[0]


@pytest.mark.parametrize(
    ("root", "leaf", "conflict"),
    [
        ("{uri: {prefix: /a}}", "{uri: {prefix: /a/b}}", False),
        ("{uri: {prefix: /a/b}}", "{uri: {prefix: /a}}", True),
        ("{uri: {prefix: /a}}", "{uri: {exact: /a/x}}", False),
        ("{uri: {exact: /a}}", "{uri: {exact: /a}}", False),
        ("{uri: {exact: /a}}", "{uri: {prefix: /a}}", True),
        ("{uri: {regex: /a.*}}", "{uri: {prefix: /a}}", True),
        ("{uri: {prefix: /a}}", "{headers: {x: {exact: '1'}}}", False),
        ("{headers: {x: {exact: '1'}}}", "{headers: {x: {exact: '2'}}}", True),
        ("{port: 80}", "{port: 81}", True),
        ("{sourceNamespace: a}", "{sourceNamespace: b}", True),
        ("{sourceLabels: {app: a}}", "{sourceLabels: {app: b}}", True),
        ("{gateways: [g1, g2]}", "{gateways: [g1]}", False),
        ("{gateways: [g1]}", "{gateways: [g3]}", True),
        ("{uri: {prefix: /a}, ignoreUriCase: true}", "{uri: {prefix: /a}}", True),
    ],
)
def test_conflicts(root: str, leaf: str, conflict: bool) -> None:
    assert conflicts(_match(root), _match(leaf)) is conflict


def test_merged_blocks_and_routes_keep_both_sides_conditions() -> None:
    root = fx.http_routes(
        "- name: root\n  match: [{name: m, uri: {prefix: /a}, headers: {x: {exact: '1'}}}]\n"
        "  timeout: 2s\n  route: [{destination: {host: r}}]\n"
    )[0]
    leaf = fx.http_routes(
        "- name: leaf\n  match: [{name: n, uri: {prefix: /a/b}, queryParams: {q: {exact: '2'}}}]\n"
        "  route: [{destination: {host: r}}]\n"
    )[0]
    merged = merge_route(root, leaf)
    assert merged is not None and merged.name == "root-leaf"
    assert merged.timeout == root.timeout
    (block,) = merged.match
    assert (block.name, block.uri.prefix) == ("m-n", "/a/b")
    assert set(block.headers) == {"x"} and set(block.query_params) == {"q"}
    assert merge_matches([], list(leaf.match)) == list(leaf.match)
    assert merge_matches(list(root.match), []) == list(root.match)
