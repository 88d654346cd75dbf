"""Registry sync: Services (with VIPs), ServiceEntries and WorkloadEntries reach the registry."""

from __future__ import annotations

from push_mesh import load

from config_support.manifests import manifests
from sailmesh.config.store import ConfigStore
from sailmesh.controlplane.registry_sync import RegistrySync
from sailmesh.controlplane.vips import VipAllocator
from sailmesh.registry.registry import ServiceRegistry

SERVICE = manifests("""
Service default/reviews
  clusterIP: 10.96.1.1
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
""")
SERVICE_ENTRY = manifests("""
ServiceEntry default/httpbin
  hosts: [httpbin.org]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
""")


def _sync() -> tuple[ConfigStore, ServiceRegistry, VipAllocator, RegistrySync]:
    store, registry, vips = ConfigStore(), ServiceRegistry(), VipAllocator()
    return store, registry, vips, RegistrySync(store, registry, vips)


def test_a_service_is_registered_with_its_cluster_ip_and_removed_on_delete() -> None:
    _, registry, vips, sync = _sync()
    (service,) = load(SERVICE)
    sync.sync([service])
    (registered,) = registry.view().services_named("reviews.default.svc.cluster.local")
    assert registered.vip == "10.96.1.1"
    sync.sync([service], deleted=[service])
    assert registry.view().services_named("reviews.default.svc.cluster.local") == []
    # the VIP was released: another service can now be given that address
    assert vips.allocate("default", "other", "10.96.1.1") == "10.96.1.1"


def test_service_entries_are_read_from_the_store_as_a_whole() -> None:
    store, registry, _, sync = _sync()
    entries = load(SERVICE_ENTRY)
    store.apply(entries)
    sync.sync(entries)
    hosts = {s.hostname for s in registry.view().services}
    assert "httpbin.org" in hosts


def test_unrelated_kinds_leave_the_registry_alone() -> None:
    _, registry, _, sync = _sync()
    notified: list[bool] = []
    registry.subscribe(lambda: notified.append(True))
    rule = load(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
        "metadata: {name: r, namespace: default}\nspec: {host: reviews}\n"
    )
    sync.sync(rule)
    assert notified == [] and registry.view().services == ()
