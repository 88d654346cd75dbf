"""Registry sync: applied Services, ServiceEntries and WorkloadEntries into the service registry.

In: changed and deleted resources from the config store. Out: registry updates (Kubernetes
Services with their virtual IPs; the ServiceEntry/WorkloadEntry set as a whole). Workloads of
running pods reach the registry from the runtime, not from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from sailmesh.config.resource import Resource
from sailmesh.config.store import ConfigStore
from sailmesh.controlplane.vips import VipAllocator
from sailmesh.registry.registry import ServiceRegistry

#: Kinds whose whole set feeds the registry's mesh-config services.
MESH_CONFIG_KINDS = frozenset({"ServiceEntry", "WorkloadEntry"})


class RegistrySync:
    def __init__(self, store: ConfigStore, registry: ServiceRegistry, vips: VipAllocator) -> None:
        self.store, self.registry, self.vips = store, registry, vips

    def sync(self, changed: Sequence[Resource], deleted: Sequence[Resource] = ()) -> None:
        """Bring the registry up to date with ``changed`` and ``deleted`` resources."""
        for r in deleted:
            if r.kind == "Service":
                self.registry.remove_kubernetes_service(r.namespace, r.name)
                self.vips.release(r.namespace, r.name)
        deleted_keys = {r.key for r in deleted}
        for r in changed:
            if r.kind == "Service" and r.key not in deleted_keys:
                vip = self.vips.allocate(r.namespace, r.name, r.body.spec.cluster_ip)  # type: ignore[attr-defined]
                self.registry.set_kubernetes_service(r, vip)
        if {r.kind for r in changed} & MESH_CONFIG_KINDS:
            self.registry.set_mesh_config(
                self.store.list(kind="ServiceEntry"), self.store.list(kind="WorkloadEntry")
            )
