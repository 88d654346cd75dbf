"""Translation shared between proxies whose configuration is identical.

A :class:`PushContext` holds one :class:`~sailmesh.snapshot.snapshot.MeshSnapshot` and the
packed resources (:class:`~sailmesh.ads.resources.TypeResources`) already translated from it,
keyed per xDS type by everything that type's translation reads about a proxy. Proxies with the
same key get the very same packed objects (so the same versions), and translation runs once per
distinct key instead of once per proxy.

What a sidecar's translation reads about its proxy (see :mod:`sailmesh.xds`), hence the key:

- always: proxy type, namespace, interception mode, service account (conservatively), the
  translate options, the Sidecar resource that applies and the proxy's locality (locality
  load balancing);
- the labels, for every type, when some config in the snapshot selects proxies by labels in the
  proxy's namespace or the root namespace (Sidecar/policy ``selector``/``workloadSelector``,
  policy ``targetRef(s)``), or when any VirtualService matches on ``sourceLabels`` or any
  DestinationRule sets ``failoverPriority`` (or the mesh's ``localityLbSetting`` does);
- for CDS and LDS (inbound clusters and ``virtualInbound``): the labels (services selecting
  the workload), the named ports of the workload at the proxy's IP, and that IP itself when
  the Sidecar has ingress listeners (``defaultEndpoint: 0.0.0.0:<port>`` and bound listeners
  name it).

CDS is the expensive type and differs between workloads only by their ``inbound|<port>||``
clusters, so a second workload with the same outbound key reuses the packed outbound clusters
and only builds its inbound ones (:func:`sailmesh.xds.generate.inbound_clusters`); the tests compare every shared result with a translation of the proxy alone.

Gateways (``router`` proxies), proxies an EnvoyFilter selects and proxies served while a test
``resource_hook`` is set are not shared: they are translated on their own, exactly as before.

A push after a config change starts from the previous context (:class:`Carry`): the packed
results of the types the change cannot alter (:func:`sailmesh.snapshot.push.types_of_kind`) are
reused as they are (a key names the same inputs in both snapshots); when the only changes to
clusters and endpoints are DestinationRules of exact hosts, the CDS and EDS results are rebuilt
for those hosts only (:func:`sailmesh.xds.generate.generate_for_hosts`) and the other hosts' packed resources are reused. DestinationRules change
routes only through ``consistentHash``, so routes are reused after DestinationRule changes
while no rule of either snapshot sets one. The registry view and the
mesh settings must be the very same, else nothing is carried. The tests compare every carried
result with a translation from scratch.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sailmesh.ads.resources import (
    CLUSTER,
    ENDPOINT,
    LISTENER,
    ROUTE,
    SECRET,
    ResourceSnapshot,
    TypeResources,
)
from sailmesh.config.resource import Resource
from sailmesh.snapshot.hosts import fqdn
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.push import XdsType, types_of_kind
from sailmesh.snapshot.snapshot import MeshSnapshot, selector_labels
from sailmesh.xds import names
from sailmesh.xds.generate import (
    SIDECAR_TYPES,
    generate,
    generate_for_hosts,
    inbound_clusters,
    is_inbound_cluster,
    routes_read_destination_rules,
)
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.scope import ProxyScope, build_scope

#: Kinds whose selectors pick services' endpoints or gateway pods, not sidecar proxies.
_NOT_PROXY_SELECTORS = frozenset(
    {
        "Service",
        "ServiceEntry",
        "WorkloadEntry",
        "WorkloadGroup",
        "Gateway",
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Pod",
    }
)
#: Types whose translation includes the proxy's own inbound side.
_INBOUND_TYPES = frozenset({CLUSTER, LISTENER})


def _has_selector(resource: Resource) -> bool:
    """Whether ``resource`` picks proxies by their labels: a selector, or a ``targetRef(s)``
    (a Gateway target selects the pods labelled with the gateway's name)."""
    spec = resource.spec
    targets = getattr(spec, "target_ref", None) or getattr(spec, "target_refs", None)
    return selector_labels(resource) is not None or bool(targets)


def _matches_source_labels(vs: Resource) -> bool:
    spec = vs.spec
    if spec is None:
        return False
    routes = [*(spec.http or []), *(spec.tcp or []), *(spec.tls or [])]
    return any(m.source_labels for route in routes for m in (route.match or []))


def _uses_failover_priority(rule: Resource) -> bool:
    """Whether a DestinationRule sets ``failoverPriority`` (it compares the proxy's labels)."""
    spec = rule.spec
    policies = [spec.traffic_policy, *(s.traffic_policy for s in spec.subsets or [])]
    for policy in [p for p in policies if p is not None]:
        for part in [policy, *(policy.port_level_settings or [])]:
            lb = part.load_balancer
            setting = lb.locality_lb_setting if lb is not None else None
            if setting is not None and setting.failover_priority:
                return True
    return False


@dataclass(frozen=True)
class LabelDependence:
    """Where a proxy's labels can change its translation, for one snapshot."""

    everywhere: bool
    namespaces: frozenset[str]

    @classmethod
    def scan(cls, snapshot: MeshSnapshot) -> LabelDependence:
        root = snapshot.mesh.root_namespace
        mesh_locality = snapshot.mesh.locality_lb_setting
        everywhere = bool(mesh_locality is not None and mesh_locality.failover_priority)
        namespaces: set[str] = set()
        for kind, resources in snapshot.configs.items():
            if kind in _NOT_PROXY_SELECTORS:
                continue
            for r in resources:
                if _has_selector(r):
                    namespaces.add(r.namespace)
                if kind == "VirtualService" and _matches_source_labels(r):
                    everywhere = True
                if kind == "DestinationRule" and _uses_failover_priority(r):
                    everywhere = True
        return cls(everywhere or root in namespaces, frozenset(namespaces))

    def applies(self, proxy: Proxy) -> bool:
        return self.everywhere or proxy.namespace in self.namespaces


_TYPE_URLS: Mapping[XdsType, str] = MappingProxyType(
    {"CDS": CLUSTER, "EDS": ENDPOINT, "LDS": LISTENER, "RDS": ROUTE, "SDS": SECRET}
)
#: Types whose resources are named after one service host (``outbound|port|subset|host``).
_PER_HOST = frozenset({CLUSTER, ENDPOINT})


def _rule_hosts(*rules: Resource | None) -> frozenset[str] | None:
    """The FQDN hosts of DestinationRule versions (None when one is a wildcard or missing)."""
    hosts: set[str] = set()
    for rule in rules:
        if rule is None:
            continue
        host = getattr(rule.spec, "host", None)
        if not host or "*" in host:
            return None
        hosts.add(fqdn(host, rule.namespace))
    return frozenset(hosts)


@dataclass(frozen=True)
class Carry:
    """What a config change leaves valid of the previous push context.

    ``stale``: the type URLs to translate again (the others are reused whole). ``hosts``: when
    not None, clusters and endpoints changed only for these service hosts (DestinationRules of
    exact hosts), so only their resources are rebuilt. ``if_hashing``: types that are stale
    only if a DestinationRule of the old or new snapshot sets ``consistentHash`` (routes read
    nothing else of DestinationRules); see :meth:`resolve`.
    """

    stale: frozenset[str]
    hosts: frozenset[str] | None = frozenset()
    if_hashing: frozenset[str] = frozenset()

    @classmethod
    def of(cls, changes: Iterable[tuple[Resource | None, Resource | None]]) -> Carry:
        """From (old, new) versions of each changed object (either may be None)."""
        carry = cls(frozenset())
        for old, new in changes:
            current = new if new is not None else old
            if current is None:
                continue
            stale = frozenset(_TYPE_URLS[t] for t in types_of_kind(current.kind))
            hosts: frozenset[str] | None = frozenset()
            if_hashing: frozenset[str] = frozenset()
            if stale & _PER_HOST:
                hosts = _rule_hosts(old, new) if current.kind == "DestinationRule" else None
            if current.kind == "DestinationRule":
                if_hashing, stale = stale & {ROUTE}, stale - {ROUTE}
            carry = carry.merge(cls(stale, hosts, if_hashing))
        return carry

    def merge(self, other: Carry) -> Carry:
        hosts = None if self.hosts is None or other.hosts is None else self.hosts | other.hosts
        return Carry(self.stale | other.stale, hosts, self.if_hashing | other.if_hashing)

    def resolve(self, *snapshots: MeshSnapshot) -> Carry:
        """This carry between ``snapshots`` (old and new): ``if_hashing`` types become stale
        when a DestinationRule of either sets ``consistentHash``."""
        if not self.if_hashing - self.stale:
            return self
        if any(routes_read_destination_rules(snapshot) for snapshot in snapshots):
            return Carry(self.stale | self.if_hashing, self.hosts)
        return Carry(self.stale, self.hosts)


class PushContext:
    """One snapshot and the translations made from it, shared by proxies with equal keys.

    With ``previous`` and ``carry``, translations of ``previous`` that the change (``carry``)
    leaves valid are taken over on first use instead of being translated again (until
    :meth:`release`).
    """

    def __init__(
        self,
        snapshot: MeshSnapshot,
        previous: PushContext | None = None,
        carry: Carry | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.labels = LabelDependence.scan(snapshot)
        self._types: dict[tuple[str, Hashable], TypeResources] = {}
        #: Whole snapshots by key parts (see :meth:`_key_parts`).
        self._snapshots: dict[tuple[Hashable, ...], ResourceSnapshot] = {}
        #: The Sidecar resource of proxies by (namespace, labels): all it depends on.
        self._sidecars: dict[tuple[str, frozenset[tuple[str, str]]], Resource | None] = {}
        #: Packed clusters other than ``inbound|...`` by outbound key (the EDS key).
        self._outbound: dict[Hashable, TypeResources] = {}
        self._previous = previous if carry is not None else None
        if previous is not None and carry is not None:
            carry = carry.resolve(previous.snapshot, snapshot)
        self._carry = carry
        if previous is not None:
            previous.release()  # carried results come from one context back only
        #: How many CDS sets were composed from shared clusters plus inbound ones.
        self.composed = 0
        #: How many times translation ran (for tests and metrics).
        self.translations = 0
        #: How many per-type results were taken over from the previous context.
        self.reused = 0
        #: How many times clusters/endpoints were rebuilt for the changed hosts only.
        self.partial = 0

    def release(self) -> None:
        """Stop taking results over from the previous context (and let it be freed)."""
        self._previous = None
        self._carry = None

    def keys(self, proxy: Proxy, options: TranslateOptions) -> dict[str, Hashable]:
        """The sharing key of each sidecar xDS type for ``proxy``."""
        base, labels, inbound = self._key_parts(proxy, options)
        return {
            t: (base, labels, inbound) if t in _INBOUND_TYPES else (base, labels)
            for t in SIDECAR_TYPES
        }

    def _key_parts(self, proxy: Proxy, options: TranslateOptions) -> tuple[Hashable, ...]:
        """What the per-type keys are made of: (base, labels, inbound)."""
        own = frozenset(proxy.labels.items())
        sidecar_key = (proxy.namespace, own)
        if sidecar_key in self._sidecars:
            sidecar = self._sidecars[sidecar_key]
        else:
            sidecar = self._sidecars[sidecar_key] = self.snapshot.sidecar_for(proxy)
        base = (
            proxy.type,
            proxy.namespace,
            proxy.interception,
            proxy.service_account,
            options,
            sidecar.key if sidecar is not None else None,
            proxy.locality,
        )
        labels = own if self.labels.applies(proxy) else None
        workload = self.snapshot.registry.workload_at(proxy.ip)
        # Sidecar ingress listeners may forward to (or bind) the pod's own IP
        own_ip = proxy.ip if sidecar is not None and sidecar.spec.ingress else None
        ports = frozenset(workload.ports.items()) if workload is not None else None
        inbound = (own, ports, own_ip)
        return base, labels, inbound

    def resources(self, proxy: Proxy, options: TranslateOptions) -> ResourceSnapshot:
        """The resource snapshot of a sidecar, built from shared per-type translations (one
        object for all proxies with the same keys)."""
        parts = self._key_parts(proxy, options)
        found = self._snapshots.get(parts)
        if found is None:
            found = self._snapshots[parts] = self._build(proxy, options)
        return found

    def _build(self, proxy: Proxy, options: TranslateOptions) -> ResourceSnapshot:
        keys = self.keys(proxy, options)
        missing = [t for t in SIDECAR_TYPES if (t, keys[t]) not in self._types]
        scope = _Scope(proxy, self.snapshot, options)
        if missing and self._previous is not None:
            missing = self._take_over(scope, keys, missing)
        if CLUSTER in missing:
            outbound = self._outbound.get(keys[ENDPOINT])
            if outbound is not None:
                self._types[(CLUSTER, keys[CLUSTER])] = _with_inbound(outbound, scope.get())
                self.composed += 1
                missing.remove(CLUSTER)
        if missing:
            translated = generate(proxy, self.snapshot, types=missing, options=options)
            self.translations += 1
            for t in missing:
                self._types[(t, keys[t])] = TypeResources.build(t, translated.get(t, {}))
            if CLUSTER in missing:
                built = self._types[(CLUSTER, keys[CLUSTER])]
                self._outbound[keys[ENDPOINT]] = _without_inbound(built)
        return ResourceSnapshot(
            types=MappingProxyType({t: self._types[(t, keys[t])] for t in SIDECAR_TYPES})
        )

    def _take_over(self, scope: _Scope, keys: dict[str, Hashable], missing: list[str]) -> list[str]:
        """Fill what the previous context has and the change left valid; the types left."""
        previous, carry = self._previous, self._carry
        assert previous is not None and carry is not None
        left = []
        for t in missing:
            found = previous._types.get((t, keys[t]))
            if found is not None and t not in carry.stale:
                self._types[(t, keys[t])] = found
                self.reused += 1
            else:
                left.append(t)
        outbound_key = keys[ENDPOINT]
        if outbound_key not in self._outbound and CLUSTER not in carry.stale:
            outbound = previous._outbound.get(outbound_key)
            if outbound is not None:
                self._outbound[outbound_key] = outbound
        if carry.hosts is not None and carry.stale & _PER_HOST:
            self._rebuild_hosts(scope, keys, previous, carry.hosts, left)
        return [t for t in left if (t, keys[t]) not in self._types]

    def _rebuild_hosts(
        self,
        lazy_scope: _Scope,
        keys: dict[str, Hashable],
        previous: PushContext,
        hosts: frozenset[str],
        left: list[str],
    ) -> None:
        """Clusters and endpoints from the previous context's, with ``hosts`` rebuilt."""
        outbound_key, eds_key = keys[ENDPOINT], (ENDPOINT, keys[ENDPOINT])
        old_outbound = previous._outbound.get(outbound_key)
        old_endpoints = previous._types.get(eds_key)
        want_clusters = CLUSTER in left and outbound_key not in self._outbound
        want_endpoints = ENDPOINT in left and eds_key not in self._types
        if not (want_clusters or want_endpoints) or old_outbound is None or old_endpoints is None:
            return
        scope = lazy_scope.get()
        if want_clusters:
            fresh = TypeResources.build(
                CLUSTER, generate_for_hosts(scope, CLUSTER, hosts, lazy_scope.options)
            )
            kept = _other_hosts(old_outbound, hosts)
            self._outbound[outbound_key] = TypeResources.merge(CLUSTER, kept, fresh)
        if want_endpoints:
            fresh = TypeResources.build(ENDPOINT, generate_for_hosts(scope, ENDPOINT, hosts))
            kept = _other_hosts(old_endpoints, hosts)
            self._types[eds_key] = TypeResources.merge(ENDPOINT, kept, fresh)
        self.partial += 1


def _other_hosts(built: TypeResources, hosts: frozenset[str]) -> TypeResources:
    """The resources of ``built`` not named after one of ``hosts``."""

    def keep(name: str) -> bool:
        parsed = names.parse_cluster(name)
        return parsed is None or parsed[3] not in hosts

    return _subset(built, keep)


def _without_inbound(built: TypeResources) -> TypeResources:
    """The clusters of ``built`` other than ``inbound|...``."""
    return _subset(built, lambda name: not is_inbound_cluster(name))


def _subset(built: TypeResources, keep: Callable[[str], bool]) -> TypeResources:
    kept = [name for name in built.packed if keep(name)]
    return TypeResources(
        type_url=built.type_url,
        version="",  # a part, only merged into full sets (see TypeResources.merge)
        packed=MappingProxyType({n: built.packed[n] for n in kept}),
        versions=MappingProxyType({n: built.versions[n] for n in kept}),
    )


class _Scope:
    """The proxy's translation scope, built on first use (once per :meth:`PushContext.resources`)."""

    __slots__ = ("_built", "_proxy", "_snapshot", "options")

    def __init__(self, proxy: Proxy, snapshot: MeshSnapshot, options: TranslateOptions) -> None:
        self._proxy, self._snapshot, self.options = proxy, snapshot, options
        self._built: ProxyScope | None = None

    def get(self) -> ProxyScope:
        if self._built is None:
            self._built = build_scope(self._proxy, self._snapshot)
        return self._built


def _with_inbound(outbound: TypeResources, scope: ProxyScope) -> TypeResources:
    """CDS of the scope's proxy from the shared clusters of its outbound key plus its own
    ``inbound|<port>||`` clusters (the only clusters that depend on the proxy's workload)."""
    own = TypeResources.build(CLUSTER, inbound_clusters(scope))
    return TypeResources.merge(CLUSTER, outbound, own)
