"""The mutable ServiceRegistry, its change notifications, and its frozen views."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest
import registry_builders as rb

from sailmesh.registry.model import FrozenMap, Service, ServicePort, Workload, frozen_map
from sailmesh.registry.registry import RegistryView, ServiceRegistry, compute_view

REVIEWS = "reviews.default.svc.cluster.local"


def pod(name: str, address: str, namespace: str = "default", **labels: str) -> Workload:
    return Workload(
        name, namespace, address, labels=frozen_map(labels), ports=FrozenMap({"metrics": 9100})
    )


def svc(name: str, namespace: str = "default", **selector: str) -> Service:
    return Service(
        hostname=f"{name}.{namespace}.svc.cluster.local",
        namespace=namespace,
        ports=(ServicePort("http", 80, "HTTP", 8080), ServicePort("m", 9000, "HTTP", "metrics")),
        name=name,
        selector=frozen_map(selector) if selector else None,
    )


def addresses(view: RegistryView, hostname: str, port: int) -> list[tuple[str, int]]:
    return [(ep.address, ep.port) for ep in view.endpoints_for(hostname, port)]


# --- compute_view --------------------------------------------------------------------------


def test_endpoints_come_from_label_selection_in_the_services_namespace() -> None:
    view = compute_view(
        [svc("reviews", app="reviews"), svc("reviews", "shop", app="reviews")],
        [
            pod("reviews-v2", "10.0.0.2", app="reviews", version="v2"),
            pod("reviews-v1", "10.0.0.1", app="reviews", version="v1"),
            pod("ratings-v1", "10.0.0.3", app="ratings"),
            pod("reviews-shop", "10.0.1.1", "shop", app="reviews"),
        ],
    )
    assert addresses(view, REVIEWS, 80) == [("10.0.0.1", 8080), ("10.0.0.2", 8080)]
    assert addresses(view, REVIEWS, 9000) == [("10.0.0.1", 9100), ("10.0.0.2", 9100)]
    assert addresses(view, "reviews.shop.svc.cluster.local", 80) == [("10.0.1.1", 8080)]
    assert view.endpoints_for(REVIEWS, 1234) == ()


def test_selector_needs_every_label() -> None:
    view = compute_view(
        [svc("reviews", app="reviews", version="v2")],
        [
            pod("a", "10.0.0.1", app="reviews", version="v1"),
            pod("b", "10.0.0.2", app="reviews", version="v2"),
        ],
    )
    assert addresses(view, REVIEWS, 80) == [("10.0.0.2", 8080)]


def test_services_without_selector_or_address_get_no_endpoints() -> None:
    view = compute_view(
        [svc("headless"), svc("reviews", app="reviews")],
        [pod("a", "", app="reviews"), pod("b", "10.0.0.2", app="reviews")],
    )
    assert view.endpoints_for("headless.default.svc.cluster.local", 80) == ()
    assert addresses(view, REVIEWS, 80) == [("10.0.0.2", 8080)]  # no address: skipped


def test_views_are_sorted_and_indexed() -> None:
    a_shop, a_default = svc("a", "shop"), svc("a", "default")
    w1, w2, w3 = pod("z", "10.0.0.1"), pod("b", "10.0.0.1"), pod("a", "10.0.0.9", "shop")
    view = compute_view([a_shop, svc("b"), a_default], [w3, w1, w2])
    assert [(s.name, s.namespace) for s in view.services] == [
        ("a", "default"),
        ("a", "shop"),
        ("b", "default"),
    ]
    assert [w.name for w in view.workloads] == ["b", "z", "a"]  # by namespace, then name
    assert view.services_named("a.shop.svc.cluster.local") == [a_shop]
    assert view.services_named("missing") == []
    assert view.workload_at("10.0.0.1") is w2  # the first in order at that address
    assert view.workload_at("10.0.0.7") is None


def test_views_are_frozen() -> None:
    view = compute_view([svc("reviews", app="reviews")], [pod("a", "10.0.0.1", app="reviews")])
    with pytest.raises(FrozenInstanceError):
        view.services = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        view.endpoints[(REVIEWS, 1)] = ()  # type: ignore[index]
    assert isinstance(view.services, tuple) and isinstance(view.workloads, tuple)
    assert isinstance(view.endpoints[(REVIEWS, 80)], tuple)


# --- ServiceRegistry -------------------------------------------------------------------------


def counting(registry: ServiceRegistry) -> list[int]:
    calls: list[int] = []
    registry.subscribe(lambda: calls.append(len(calls) + 1))
    return calls


def test_kubernetes_services_and_pods_feed_the_view() -> None:
    registry = ServiceRegistry()
    calls = counting(registry)
    service = registry.set_kubernetes_service(rb.one(rb.REVIEWS_SERVICE), "10.96.0.13")
    registry.set_workload(pod("reviews-v1", "10.0.0.1", app="reviews"))
    view = registry.view()
    assert view.services == (service,)
    assert addresses(view, REVIEWS, 9080) == [("10.0.0.1", 8080)]
    assert addresses(view, REVIEWS, 15020) == [("10.0.0.1", 9100)]  # named targetPort
    assert calls == [1, 2]


def test_listeners_are_called_only_for_real_changes() -> None:
    registry = ServiceRegistry()
    calls = counting(registry)
    also: list[str] = []
    registry.subscribe(lambda: also.append("x"))
    resource = rb.one(rb.REVIEWS_SERVICE)
    registry.set_kubernetes_service(resource, "10.96.0.13")
    registry.set_kubernetes_service(resource, "10.96.0.13")  # the same: no notification
    registry.set_kubernetes_service(resource, "10.96.0.99")
    w = pod("reviews-v1", "10.0.0.1", app="reviews")
    registry.set_workload(w)
    registry.set_workload(w)
    registry.remove_workload("default", "reviews-v1")
    registry.remove_workload("default", "reviews-v1")  # already gone
    registry.remove_kubernetes_service("default", "reviews")
    registry.remove_kubernetes_service("default", "reviews")
    assert calls == [1, 2, 3, 4, 5]
    assert also == ["x"] * 5
    assert registry.view().services == () and registry.view().workloads == ()


def test_view_is_cached_until_something_changes() -> None:
    registry = ServiceRegistry()
    registry.set_kubernetes_service(rb.one(rb.REVIEWS_SERVICE), None)
    first = registry.view()
    assert registry.view() is first
    registry.set_kubernetes_service(rb.one(rb.REVIEWS_SERVICE), None)  # unchanged
    assert registry.view() is first
    registry.set_workload(pod("reviews-v1", "10.0.0.1", app="reviews"))
    second = registry.view()
    assert second is not first
    assert first.workloads == ()  # an earlier view keeps what it saw
    assert len(second.workloads) == 1


def test_service_entries_and_workload_entries() -> None:
    registry = ServiceRegistry()
    calls = counting(registry)
    entries = [rb.one(rb.EXTERNAL_ENTRY), rb.one(rb.INLINE_ENTRY), rb.one(rb.SELECTING_ENTRY)]
    registry.set_mesh_config(entries, [rb.one(rb.VM_ENTRY)])
    view = registry.view()
    assert [s.hostname for s in view.services] == [
        "api.example.com",
        "db.internal",
        "vm.example.internal",
        "www.example.com",
    ]
    # Inline endpoints: port by name when given, else the targetPort.
    assert addresses(view, "db.internal", 5432) == [("10.1.0.1", 15432), ("10.1.0.2", 25432)]
    # A WorkloadEntry selected by the ServiceEntry's workloadSelector, port by name.
    (vm,) = view.endpoints_for("vm.example.internal", 8080)
    assert (vm.address, vm.port, vm.locality, vm.weight) == ("10.2.0.1", 18080, "eu/west/a", 5)
    assert vm.service_account == "spiffe://cluster.local/ns/default/sa/vm-sa"
    assert view.endpoints_for("api.example.com", 443) == ()  # DNS entry without endpoints
    registry.set_mesh_config(entries, [rb.one(rb.VM_ENTRY)])  # the same again
    assert calls == [1]
    registry.set_mesh_config([], [])
    assert registry.view().services == () and calls == [1, 2]


def test_inline_endpoints_serve_only_their_own_entry() -> None:
    other = rb.INLINE_ENTRY.replace("name: db,", "name: db2,").replace(
        "db.internal", "db2.internal"
    )
    other = other.replace("10.1.0.", "10.9.0.")
    registry = ServiceRegistry()
    registry.set_mesh_config([rb.one(rb.INLINE_ENTRY), rb.one(other)], [])
    view = registry.view()
    assert [a for a, _ in addresses(view, "db.internal", 5432)] == ["10.1.0.1", "10.1.0.2"]
    assert [a for a, _ in addresses(view, "db2.internal", 5432)] == ["10.9.0.1", "10.9.0.2"]


def test_pods_and_entries_together() -> None:
    registry = ServiceRegistry()
    registry.set_mesh_config([rb.one(rb.SELECTING_ENTRY)], [rb.one(rb.VM_ENTRY)])
    registry.set_workload(pod("vm-pod", "10.0.0.5", app="vm"))
    view = registry.view()
    assert addresses(view, "vm.example.internal", 8080) == [("10.2.0.1", 18080), ("10.0.0.5", 8080)]
    assert view.workload_at("10.2.0.1") is not None
    assert view.workload_at("10.0.0.5") == pod("vm-pod", "10.0.0.5", app="vm")
