"""Turning Kubernetes Services, ServiceEntries and WorkloadEntries into registry values."""

from __future__ import annotations

import pytest
from registry_builders import (
    EXTERNAL_ENTRY,
    INLINE_ENTRY,
    REVIEWS_SERVICE,
    SELECTING_ENTRY,
    VM_ENTRY,
    one,
)

from sailmesh.registry.convert import (
    endpoint_for,
    kubernetes_service,
    service_entry_inline_workloads,
    service_entry_services,
    service_fqdn,
    workload_entry,
)
from sailmesh.registry.model import FrozenMap, Service, ServicePort, Workload, frozen_map


def test_service_fqdn() -> None:
    assert service_fqdn("reviews", "shop") == "reviews.shop.svc.cluster.local"
    assert service_fqdn("reviews", "shop", "example.org") == "reviews.shop.svc.example.org"


def test_kubernetes_service() -> None:
    svc = kubernetes_service(one(REVIEWS_SERVICE), "10.96.0.13")
    assert svc.hostname == "reviews.default.svc.cluster.local"
    assert (svc.name, svc.namespace, svc.vip, svc.origin) == (
        "reviews",
        "default",
        "10.96.0.13",
        "kubernetes",
    )
    assert svc.selector == {"app": "reviews"} and svc.labels == {"app": "reviews"}
    assert svc.ports == (
        ServicePort("http", 9080, "HTTP", 8080),
        ServicePort("grpc-api", 9090, "HTTP2", None),  # appProtocol beats the name
        ServicePort("metrics", 15020, "AUTO", "metrics"),
        ServicePort("dns", 53, "UDP", None),  # UDP whatever the name says
    )
    assert (svc.resolution, svc.mesh_external, svc.export_to) == ("STATIC", False, ())


def test_kubernetes_service_without_selector_or_vip() -> None:
    svc = kubernetes_service(
        one("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 1}]}\n"),
        None,
    )
    assert svc.selector is None and svc.vip is None
    assert svc.ports == (ServicePort("", 1, "AUTO", None),)


def test_kubernetes_service_export_to_annotation() -> None:
    text = (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n"
        "  annotations: {networking.istio.io/exportTo: '., shop'}\nspec: {ports: [{port: 1}]}\n"
    )
    assert kubernetes_service(one(text), None).export_to == (".", "shop")


def test_service_entry_gives_one_service_per_host() -> None:
    services = service_entry_services(one(EXTERNAL_ENTRY))
    assert [s.hostname for s in services] == ["api.example.com", "www.example.com"]
    for svc in services:
        assert svc.namespace == "default" and svc.name == "external"
        assert svc.vip == "240.0.0.1"
        assert svc.resolution == "DNS"
        assert svc.mesh_external is True
        assert svc.export_to == (".",)
        assert svc.origin == "serviceentry/default/external"
        assert svc.labels == {"team": "a"} and svc.selector is None
        assert svc.ports == (
            ServicePort("https", 443, "TLS", None),
            ServicePort("web", 80, "HTTP", None),  # the protocol field, not the name
        )


@pytest.mark.parametrize(
    ("addresses", "vip", "ranges"),
    [
        ("[240.0.0.1]", "240.0.0.1", ()),
        ("[240.0.0.0/24, 240.0.1.7/32]", "240.0.1.7", ("240.0.0.0/24",)),  # the first single
        ("[240.0.0.0/24]", None, ("240.0.0.0/24",)),
        ("['2001:db8::1/128']", "2001:db8::1", ()),
        ("[240.0.0.1, 240.0.0.9, 240.0.0.1]", "240.0.0.1", ("240.0.0.9/32",)),  # each address
        ("[]", None, ()),
    ],
)
def test_service_entry_vip_is_its_first_single_address(
    addresses: str, vip: str | None, ranges: tuple[str, ...]
) -> None:
    text = (
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: e}\n"
        f"spec: {{hosts: [e.example.com], addresses: {addresses}, resolution: STATIC,"
        " ports: [{number: 80, name: http, protocol: HTTP}]}\n"
    )
    loaded = service_entry_services(one(text))
    assert [(s.vip, s.cidrs) for s in loaded] == [(vip, ranges)]


def test_service_entry_defaults_and_workload_selector() -> None:
    (svc,) = service_entry_services(one(SELECTING_ENTRY))
    assert svc.selector == {"app": "vm"}
    assert svc.mesh_external is False and svc.resolution == "STATIC"
    assert svc.vip is None and svc.export_to == ()  # not set: the mesh default applies


def test_service_entry_inline_endpoints_are_workloads_of_the_entry() -> None:
    first, second = service_entry_inline_workloads(one(INLINE_ENTRY))
    assert first == Workload(
        name="db-0",
        namespace="data",
        address="10.1.0.1",
        labels=frozen_map({"role": "primary"}),
        locality="us/east",
        weight=3,
        origin="serviceentry",
        service_entry="serviceentry/data/db",
        service_account="",  # none named: no identity to check (as in Istio)
    )
    assert first.identity == ""
    assert (second.name, second.address, second.service_account) == ("db-1", "10.1.0.2", "db")
    assert second.identity == "spiffe://cluster.local/ns/data/sa/db"
    assert second.ports == {"tcp-pg": 25432} and second.weight == 1


def test_workload_entry() -> None:
    w = workload_entry(one(VM_ENTRY))
    assert w == Workload(
        name="vm-1",
        namespace="default",
        address="10.2.0.1",
        labels=frozen_map({"app": "vm"}),
        service_account="vm-sa",
        ports=FrozenMap({"http": 18080}),
        locality="eu/west/a",
        weight=5,
        network="net-2",
        origin="workloadentry",
    )
    assert w.identity == "spiffe://cluster.local/ns/default/sa/vm-sa"


SVC = Service("r.default.svc.cluster.local", "default", ())
POD = Workload(
    "r-1",
    "default",
    "10.0.0.1",
    labels=frozen_map({"app": "r"}),
    service_account="r-sa",
    ports=FrozenMap({"metrics": 9100, "http": 8080}),
    locality="us/east/a",
    weight=2,
)


@pytest.mark.parametrize(
    ("port", "workload", "target"),
    [
        (ServicePort("http", 80, "HTTP", 8080), POD, 8080),  # numeric targetPort
        (ServicePort("http", 80, "HTTP", None), POD, 80),  # no targetPort: the port
        (ServicePort("http", 80, "HTTP", 0), POD, 80),
        (ServicePort("m", 15020, "HTTP", "metrics"), POD, 9100),  # named targetPort
        (ServicePort("m", 15020, "HTTP", "missing"), POD, None),  # cannot serve it
        (
            ServicePort("http", 80, "HTTP", 8080),
            Workload("r-1", "default", "10.0.0.1", port_map=FrozenMap({8080: 31000})),
            31000,  # the runtime's own host port
        ),
        (
            ServicePort("http", 80, "HTTP", 8080),
            Workload(
                "vm",
                "default",
                "10.0.0.2",
                ports=FrozenMap({"http": 18080}),
                origin="workloadentry",
            ),
            18080,  # WorkloadEntry ports by service port name win
        ),
        (
            ServicePort("http", 80, "HTTP", 8080),
            Workload(
                "vm", "default", "10.0.0.2", ports=FrozenMap({"other": 1}), origin="workloadentry"
            ),
            8080,
        ),
        (
            ServicePort("http", 80, "HTTP", 8080),
            Workload("p", "default", "10.0.0.2", ports=FrozenMap({"http": 18080})),
            8080,  # a pod's named ports only serve named targetPorts
        ),
    ],
)
def test_endpoint_port(port: ServicePort, workload: Workload, target: int | None) -> None:
    ep = endpoint_for(SVC, port, workload)
    assert (ep.port if ep else None) == target


def test_endpoint_carries_the_workloads_identity_and_placement() -> None:
    port = ServicePort("http", 80, "HTTP", 8080)
    ep = endpoint_for(SVC, port, POD)
    assert ep is not None
    assert (ep.hostname, ep.service_port, ep.address) == (SVC.hostname, port, "10.0.0.1")
    assert ep.labels == {"app": "r"}
    assert ep.service_account == "spiffe://cluster.local/ns/default/sa/r-sa"
    assert (ep.locality, ep.weight, ep.healthy) == ("us/east/a", 2, True)
    assert (ep.workload, ep.namespace) == ("r-1", "default")
