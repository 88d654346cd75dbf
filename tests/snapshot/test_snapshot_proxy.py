"""Proxy: node ids both ways, identity, and node ids that are not Istio's shape."""

from __future__ import annotations

import pytest

from sailmesh.errors import SailmeshError
from sailmesh.snapshot.proxy import NodeIdError, Proxy

NODE = "sidecar~10.244.0.14~productpage-v1.default~default.svc.cluster.local"


def test_from_node_reads_each_part() -> None:
    proxy = Proxy.from_node(NODE, labels={"app": "productpage"}, service_account="bookinfo-pp")
    assert (proxy.type, proxy.ip, proxy.pod_name, proxy.namespace) == (
        "sidecar",
        "10.244.0.14",
        "productpage-v1",
        "default",
    )
    assert dict(proxy.labels) == {"app": "productpage"}
    assert proxy.service_account == "bookinfo-pp"
    assert proxy.interception == "REDIRECT"
    assert proxy.id == NODE


def test_defaults_when_no_metadata_is_given() -> None:
    proxy = Proxy.from_node(NODE)
    assert dict(proxy.labels) == {}
    assert proxy.service_account == "default"
    assert proxy.identity == "spiffe://cluster.local/ns/default/sa/default"


def test_router_with_a_dotted_pod_name_splits_at_the_last_dot() -> None:
    proxy = Proxy.from_node(
        "router~10.0.0.5~ingress.gw.1.istio-system~istio-system.svc.cluster.local",
        interception="NONE",
    )
    assert proxy.type == "router"
    assert proxy.pod_name == "ingress.gw.1"
    assert proxy.namespace == "istio-system"
    assert proxy.interception == "NONE"
    assert proxy.id == "router~10.0.0.5~ingress.gw.1.istio-system~istio-system.svc.cluster.local"


def test_identity_is_the_spiffe_id_of_namespace_and_service_account() -> None:
    proxy = Proxy("sidecar", "10.0.0.1", "r-1", "shop", service_account="reviews")
    assert proxy.identity == "spiffe://cluster.local/ns/shop/sa/reviews"


@pytest.mark.parametrize(
    ("node_id", "message"),
    [
        ("", "expected <sidecar|router>"),
        ("sidecar~10.0.0.1~pod.ns", "expected <sidecar|router>"),  # three parts
        ("sidecar~10.0.0.1~pod.ns~ns.svc~extra", "expected <sidecar|router>"),  # five parts
        ("ingress~10.0.0.1~pod.ns~ns.svc.cluster.local", "expected <sidecar|router>"),
        ("sidecar~10.0.0.1~podonly~ns.svc.cluster.local", "third part must be <pod>.<namespace>"),
        ("sidecar~10.0.0.1~.ns~ns.svc.cluster.local", "third part must be <pod>.<namespace>"),
        ("sidecar~10.0.0.1~pod.~ns.svc.cluster.local", "third part must be <pod>.<namespace>"),
    ],
)
def test_bad_node_ids_raise_node_id_error(node_id: str, message: str) -> None:
    with pytest.raises(NodeIdError, match=message) as raised:
        Proxy.from_node(node_id)
    assert isinstance(raised.value, SailmeshError)
    assert isinstance(raised.value, ValueError)
    assert repr(node_id) in str(raised.value)


def test_proxies_are_hashable_values() -> None:
    a = Proxy.from_node(NODE, labels={"app": "x"})
    b = Proxy.from_node(NODE, labels={"app": "x"})
    assert a == b and hash(a) == hash(b)
    assert len({a, b, Proxy.from_node(NODE, labels={"app": "y"})}) == 2
