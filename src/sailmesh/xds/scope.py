"""What one sidecar sees: services, VirtualServices bound to the mesh, and who owns which host.

A :class:`ProxyScope` is computed once per translation and shared by the per-type translators.
It applies the proxy's Sidecar resource (``egress[].hosts`` as ``namespace/dnsName``, its
``outboundTrafficPolicy`` with the ``egressProxy`` that unknown destinations go to under
ALLOW_ANY instead of ``PassthroughCluster``) on top of exportTo visibility (done by the
snapshot).

Host ownership follows Istio: a service host is routed by the oldest VirtualService naming it
exactly; hosts no exact VirtualService names go to the oldest VirtualService with a matching
wildcard host. VirtualService hosts that name no service still get virtual hosts of their own.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Literal

from sailmesh.config.resource import Resource
from sailmesh.registry.model import HTTP_PROTOCOLS, Service, ServicePort, selector_matches
from sailmesh.registry.registry import RegistryView
from sailmesh.snapshot.hosts import fqdn, host_matches
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MESH_GATEWAY, MeshSnapshot
from sailmesh.xds import names

PortKind = Literal["http", "auto", "tcp", "tls", "udp"]
TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})


def port_kind(port: ServicePort) -> PortKind:
    """How a service port is proxied: HTTP (HCM), sniffed (AUTO), opaque TCP, TLS (SNI) or UDP."""
    if port.protocol in HTTP_PROTOCOLS:
        return "http"
    if port.protocol == "AUTO":
        return "auto"
    if port.protocol in TLS_PROTOCOLS:
        return "tls"
    if port.protocol == "UDP":
        return "udp"
    return "tcp"


def egress_allows(patterns: list[tuple[str, str]], namespace: str, host: str, own_ns: str) -> bool:
    for ns, dns in patterns:
        ns_ok = ns == "*" or ns == namespace or (ns == "." and namespace == own_ns)
        if ns_ok and (host_matches(dns, host) or host_matches(host, dns)):
            return True
    return False


def host_patterns(hosts: list[str]) -> list[tuple[str, str]]:
    """``namespace/dnsName`` egress hosts as ``(namespace, dnsName)`` (``~/`` imports nothing)."""
    patterns: list[tuple[str, str]] = []
    for entry in hosts:
        ns, sep, dns = entry.partition("/")
        if sep and ns != "~":
            patterns.append((ns, dns or "*"))
    return patterns


def _egress_patterns(sidecar: Resource | None) -> list[tuple[str, str]] | None:
    if sidecar is None or not sidecar.spec.egress:
        return None
    return [p for listener in sidecar.spec.egress for p in host_patterns(listener.hosts or [])]


@dataclass
class ProxyScope:
    """The services and routing objects one sidecar proxy is configured with."""

    proxy: Proxy
    snapshot: MeshSnapshot
    services: list[Service]
    virtual_services: list[Resource]
    outbound_policy: str
    owner: dict[str, Resource] = field(default_factory=dict)
    vs_only_hosts: list[tuple[str, Resource]] = field(default_factory=list)
    _rules: dict[str, Resource | None] = field(default_factory=dict)
    _by_host: dict[str, list[Service]] | None = None
    #: Memo for values derived from the scope (e.g. the cluster plan), keyed by their producer.
    memo: dict[str, Any] = field(default_factory=dict)
    #: The cluster of the Sidecar's ``outboundTrafficPolicy.egressProxy`` (ALLOW_ANY only).
    egress_proxy_cluster: str | None = None

    @property
    def fallback_cluster(self) -> str:
        """Where traffic to unknown destinations goes: ``BlackHoleCluster`` (REGISTRY_ONLY),
        the egress proxy's cluster when the Sidecar names one, else ``PassthroughCluster``."""
        if self.outbound_policy == "REGISTRY_ONLY":
            return names.BLACKHOLE_CLUSTER
        return self.egress_proxy_cluster or names.PASSTHROUGH_CLUSTER

    def destination_rule(self, hostname: str) -> Resource | None:
        """The DestinationRule for ``hostname`` as seen from the proxy's namespace (memoized;
        :meth:`MeshSnapshot.destination_rule` owns the precedence rules and the index)."""
        if hostname not in self._rules:
            self._rules[hostname] = self.snapshot.destination_rule(
                self.proxy.namespace, hostname, self.proxy.labels
            )
        return self._rules[hostname]

    def virtual_service_for(self, hostname: str) -> Resource | None:
        return self.owner.get(hostname)

    def service(self, hostname: str) -> Service | None:
        """The service called ``hostname`` the proxy sees (its own namespace's first)."""
        if self._by_host is None:
            self._by_host = {}
            ns = self.proxy.namespace
            for svc in self.snapshot.registry.services:
                if self.snapshot.service_visible(svc, ns):
                    self._by_host.setdefault(svc.hostname, []).append(svc)
        found = self._by_host.get(hostname)
        if not found:
            return None
        local = [s for s in found if s.namespace == self.proxy.namespace]
        return (local or found)[0]

    def inbound_services(self) -> list[Service]:
        """Services in the proxy's namespace whose selector matches its labels."""
        by_label = _selecting_services(self.snapshot.registry).get(self.proxy.namespace)
        if not by_label:
            return []
        labels = self.proxy.labels
        found = [
            entry
            for item in labels.items()
            for entry in by_label.get(item, ())
            if selector_matches(entry[1].selector, labels)
        ]
        return [svc for _, svc in sorted(found, key=lambda e: e[0])]


_SelectorIndex = dict[str, dict[tuple[str, str], list[tuple[int, Service]]]]
_SELECTOR_INDEXES: dict[int, tuple[weakref.ref[Any], _SelectorIndex]] = {}


def _selecting_services(registry: RegistryView) -> _SelectorIndex:
    """Services with a selector, by namespace and by one ``(key, value)`` of their selector
    (a selector matches only labels that contain each of its items), with their position in
    ``registry.services``; built once per (immutable) registry view."""
    key = id(registry)
    entry = _SELECTOR_INDEXES.get(key)
    if entry is not None and entry[0]() is registry:
        return entry[1]
    index: _SelectorIndex = {}
    for position, svc in enumerate(registry.services):
        if svc.selector:
            item = min(svc.selector.items())
            index.setdefault(svc.namespace, {}).setdefault(item, []).append((position, svc))

    def forget(ref: weakref.ref[Any]) -> None:
        current = _SELECTOR_INDEXES.get(key)
        if current is not None and current[0] is ref:
            del _SELECTOR_INDEXES[key]

    _SELECTOR_INDEXES[key] = (weakref.ref(registry, forget), index)
    return index


def build_scope(proxy: Proxy, snapshot: MeshSnapshot) -> ProxyScope:
    """Compute the scope of ``proxy`` (pure; cheap compared with translation)."""
    sidecar = snapshot.sidecar_for(proxy)
    patterns = _egress_patterns(sidecar)
    services = sorted(snapshot.services_for(proxy), key=lambda s: s.hostname)
    vss = snapshot.virtual_services(proxy.namespace, MESH_GATEWAY)
    if patterns is not None:
        services = [
            s for s in services if egress_allows(patterns, s.namespace, s.hostname, proxy.namespace)
        ]
        vss = [
            vs
            for vs in vss
            if any(
                egress_allows(patterns, vs.namespace, h, proxy.namespace)
                for h in snapshot.vs_hosts(vs)
            )
        ]
    policy = snapshot.mesh.outbound_traffic_policy
    egress_proxy: str | None = None
    if sidecar is not None and sidecar.spec.outbound_traffic_policy is not None:
        own = sidecar.spec.outbound_traffic_policy
        policy = own.mode or policy
        egress_proxy = _egress_proxy_cluster(own.egress_proxy) if policy == "ALLOW_ANY" else None
    scope = ProxyScope(proxy, snapshot, services, vss, policy, egress_proxy_cluster=egress_proxy)
    assign_owners(scope)
    return scope


def _egress_proxy_cluster(destination: Any) -> str | None:
    """``outbound|<port>|<subset>|<host>`` of an egress proxy, its host taken as written (as
    Istio's ``GetDestinationCluster`` without a service: name the FQDN or ServiceEntry host)."""
    if destination is None or not destination.host or destination.port is None:
        return None
    number = destination.port.number
    if not number:
        return None
    return names.outbound_cluster(int(number), destination.subset or "", destination.host)


def assign_owners(scope: ProxyScope) -> None:
    names = {s.hostname for s in scope.services}
    for vs in scope.virtual_services:
        for host in scope.snapshot.vs_hosts(vs):
            if "*" in host:
                continue
            if host not in scope.owner:
                scope.owner[host] = vs
                if host not in names:
                    scope.vs_only_hosts.append((host, vs))
    for vs in scope.virtual_services:
        wildcards = [h for h in scope.snapshot.vs_hosts(vs) if "*" in h]
        for pattern in wildcards:
            for name in sorted(names):
                if name not in scope.owner and host_matches(pattern, name):
                    scope.owner[name] = vs


def destination_host(host: str | None, vs: Resource) -> str:
    """A route destination's host as a FQDN (short names resolve in the VirtualService's ns)."""
    return fqdn(host or "", vs.namespace)
