"""The mutable registry and its frozen views.

The runtime feeds live workloads (``set_workload``/``remove_workload``); the control plane feeds
Kubernetes Services and the ServiceEntry/WorkloadEntry objects from the config store. ``view()``
returns an immutable :class:`RegistryView` with endpoints computed by label selection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

from sailmesh.config.resource import Resource
from sailmesh.registry import convert
from sailmesh.registry.model import Endpoint, Service, Workload, selector_matches

Listener = Callable[[], None]


@dataclass(frozen=True)
class RegistryView:
    """An immutable picture of services, workloads and endpoints."""

    services: tuple[Service, ...]
    workloads: tuple[Workload, ...]
    endpoints: MappingProxyType[tuple[str, int], tuple[Endpoint, ...]]

    def services_named(self, hostname: str) -> list[Service]:
        return list(self._by_hostname.get(hostname, ()))

    @cached_property
    def _by_hostname(self) -> dict[str, list[Service]]:
        index: dict[str, list[Service]] = {}
        for service in self.services:
            index.setdefault(service.hostname, []).append(service)
        return index

    def endpoints_for(self, hostname: str, port: int) -> tuple[Endpoint, ...]:
        return self.endpoints.get((hostname, port), ())

    def workload_at(self, address: str) -> Workload | None:
        return self._by_address.get(address)

    @cached_property
    def _by_address(self) -> dict[str, Workload]:
        """The first workload at each address (what a linear scan would find)."""
        found: dict[str, Workload] = {}
        for w in self.workloads:
            found.setdefault(w.address, w)
        return found


def compute_view(services: Iterable[Service], workloads: Iterable[Workload]) -> RegistryView:
    services = tuple(sorted(services, key=lambda s: (s.hostname, s.namespace)))
    workloads = tuple(sorted(workloads, key=lambda w: (w.namespace, w.name)))
    index = _WorkloadIndex(workloads)
    endpoints: dict[tuple[str, int], list[Endpoint]] = {}
    for svc in services:
        members = index.members(svc)
        for port in svc.ports:
            found = endpoints.setdefault((svc.hostname, port.port), [])
            for w in members:
                ep = convert.endpoint_for(svc, port, w)
                if ep is not None and ep.address:
                    found.append(ep)
    return RegistryView(
        services, workloads, MappingProxyType({k: tuple(v) for k, v in endpoints.items()})
    )


class _WorkloadIndex:
    """Workloads by ServiceEntry origin and by (namespace, label, value), in their order, so
    finding a service's members does not test every workload (same result as :func:`_serves`)."""

    def __init__(self, workloads: tuple[Workload, ...]) -> None:
        self._by_entry: dict[str, list[tuple[int, Workload]]] = {}
        self._by_label: dict[tuple[str, str, str], list[tuple[int, Workload]]] = {}
        for i, w in enumerate(workloads):
            if w.service_entry:
                self._by_entry.setdefault(w.service_entry, []).append((i, w))
                continue
            for k, v in w.labels.items():
                self._by_label.setdefault((w.namespace, k, v), []).append((i, w))

    def members(self, svc: Service) -> list[Workload]:
        """The workloads ``svc`` selects, in workload order."""
        found = list(self._by_entry.get(svc.origin, ()))
        if svc.selector:
            k, v = min(
                svc.selector.items(),
                key=lambda kv: len(self._by_label.get((svc.namespace, kv[0], kv[1]), ())),
            )
            candidates = self._by_label.get((svc.namespace, k, v), ())
            found += [(i, w) for i, w in candidates if _serves(svc, w)]
        found.sort(key=lambda iw: iw[0])
        return [w for _, w in found]


def _serves(service: Service, workload: Workload) -> bool:
    if workload.service_entry:
        return service.origin == workload.service_entry
    if workload.namespace != service.namespace:
        return False
    return selector_matches(service.selector, workload.labels)


class ServiceRegistry:
    """Thread-safe registry; listeners are called (without arguments) after every change."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._kube: dict[tuple[str, str], Service] = {}
        self._entries: list[Service] = []
        self._entry_workloads: list[Workload] = []
        self._pods: dict[tuple[str, str], Workload] = {}
        self._listeners: list[Listener] = []
        self._view: RegistryView | None = None

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        self._view = None
        for listener in list(self._listeners):
            listener()

    def set_kubernetes_service(self, resource: Resource, vip: str | None) -> Service:
        svc = convert.kubernetes_service(resource, vip)
        with self._lock:
            if self._kube.get((resource.namespace, resource.name)) == svc:
                return svc
            self._kube[(resource.namespace, resource.name)] = svc
        self._changed()
        return svc

    def remove_kubernetes_service(self, namespace: str, name: str) -> None:
        with self._lock:
            if self._kube.pop((namespace, name), None) is None:
                return
        self._changed()

    def set_workload(self, workload: Workload) -> None:
        with self._lock:
            if self._pods.get((workload.namespace, workload.name)) == workload:
                return
            self._pods[(workload.namespace, workload.name)] = workload
        self._changed()

    def remove_workload(self, namespace: str, name: str) -> None:
        with self._lock:
            if self._pods.pop((namespace, name), None) is None:
                return
        self._changed()

    def set_mesh_config(
        self, service_entries: Iterable[Resource], workload_entries: Iterable[Resource]
    ) -> None:
        """Replace everything derived from ServiceEntry and WorkloadEntry objects."""
        entries: list[Service] = []
        extra: list[Workload] = []
        for se in service_entries:
            entries += convert.service_entry_services(se)
            extra += convert.service_entry_inline_workloads(se)
        extra += [convert.workload_entry(we) for we in workload_entries]
        with self._lock:
            if entries == self._entries and extra == self._entry_workloads:
                return
            self._entries, self._entry_workloads = entries, extra
        self._changed()

    def view(self) -> RegistryView:
        with self._lock:
            if self._view is None:
                self._view = compute_view(
                    [*self._kube.values(), *self._entries],
                    [*self._pods.values(), *self._entry_workloads],
                )
            return self._view
