"""Registry values: FrozenMap, ports, services, workloads and the label selector."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from sailmesh.registry.model import (
    EMPTY,
    FrozenMap,
    Service,
    ServicePort,
    Workload,
    frozen_map,
    selector_matches,
)


def test_frozen_map_is_a_read_only_mapping() -> None:
    source = {"app": "reviews"}
    labels = FrozenMap(source)
    source["app"] = "changed"  # a copy was taken
    assert labels["app"] == "reviews"
    assert list(labels) == ["app"] and len(labels) == 1
    assert repr(labels) == "FrozenMap({'app': 'reviews'})"
    with pytest.raises(TypeError):
        labels["app"] = "x"  # type: ignore[index]


def test_frozen_map_equality_and_hash() -> None:
    a = FrozenMap({"app": "r", "version": "v1"})
    b = FrozenMap({"version": "v1", "app": "r"})
    assert a == b and hash(a) == hash(b)
    assert a == {"app": "r", "version": "v1"}  # equal to any mapping with the same items
    assert a != FrozenMap({"app": "r"})
    assert a != [("app", "r"), ("version", "v1")]
    assert {a: 1}[b] == 1


def test_frozen_map_of_nothing_is_the_shared_empty_map() -> None:
    assert frozen_map(None) is EMPTY
    assert frozen_map({}) is EMPTY
    assert frozen_map({"a": "b"}) == {"a": "b"}
    assert FrozenMap() == {} and len(FrozenMap(None)) == 0


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({"app": "reviews"}, {"app": "reviews", "version": "v1"}, True),
        ({"app": "reviews", "version": "v2"}, {"app": "reviews", "version": "v1"}, False),
        ({"app": "reviews"}, {}, False),
        ({}, {"app": "reviews"}, False),  # an empty selector selects nothing
        (None, {"app": "reviews"}, False),
        (FrozenMap({"a": "1"}), FrozenMap({"a": "1"}), True),
    ],
)
def test_selector_matches(
    selector: dict[str, str] | None, labels: dict[str, str], expected: bool
) -> None:
    assert selector_matches(selector, labels) is expected


@pytest.mark.parametrize(
    ("protocol", "is_http"),
    [
        ("HTTP", True),
        ("HTTP2", True),
        ("GRPC", True),
        ("GRPC-WEB", True),
        ("HTTPS", False),
        ("TCP", False),
        ("TLS", False),
        ("AUTO", False),
    ],
)
def test_service_port_is_http(protocol: str, is_http: bool) -> None:
    assert ServicePort("p", 80, protocol).is_http is is_http  # type: ignore[arg-type]


def test_service_port_lookups() -> None:
    http, grpc = ServicePort("http", 9080, "HTTP"), ServicePort("grpc", 9090, "GRPC")
    svc = Service("r.default.svc.cluster.local", "default", (http, grpc))
    assert svc.port(9090) is grpc
    assert svc.port(1) is None
    assert svc.port_named("http") is http
    assert svc.port_named("tcp") is None
    assert (svc.resolution, svc.export_to, svc.origin, svc.mesh_external) == (
        "STATIC",
        (),
        "kubernetes",
        False,
    )


def test_workload_identity_and_defaults() -> None:
    w = Workload("reviews-v1", "shop", "10.0.0.1", service_account="bookinfo-reviews")
    assert w.identity == "spiffe://cluster.local/ns/shop/sa/bookinfo-reviews"
    assert (w.weight, w.healthy, w.origin, w.service_entry) == (1, True, "pod", "")
    assert dict(w.ports) == {} and dict(w.port_map) == {}
    with pytest.raises(FrozenInstanceError):
        w.address = "10.0.0.2"  # type: ignore[misc]


def test_values_are_hashable() -> None:
    w = Workload("a", "default", "10.0.0.1", labels=frozen_map({"app": "a"}))
    same = Workload("a", "default", "10.0.0.1", labels=frozen_map({"app": "a"}))
    assert len({w, same}) == 1
