"""What changed, and which proxies and xDS types a change affects (Istio's push scoping)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sailmesh.registry.model import selector_matches
from sailmesh.snapshot.proxy import Proxy

XdsType = Literal["CDS", "EDS", "LDS", "RDS", "SDS"]
ALL_TYPES: frozenset[XdsType] = frozenset({"CDS", "EDS", "LDS", "RDS", "SDS"})
ConfigKey = tuple[str, str, str]  # (kind, namespace, name)

# Which xDS types a change of each kind can alter, for any proxy. The control plane also reuses
# the previous push's translations of the other types (``controlplane.pushcache``), so a type
# missing here is a stale config on Envoy: when unsure, include it. What :mod:`sailmesh.xds`
# reads: clusters and endpoints come from services and DestinationRules (subsets, policy);
# listeners from services and VirtualServices (tcp/tls routes); routes from services,
# VirtualServices and DestinationRules (consistentHash -> hash_policy); Sidecar scopes all.
# PeerAuthentication: the inbound chains of the workloads it selects (LDS) and the auto-mTLS
# clusters of every client of the namespace's services (CDS, see _CLIENT_TYPES).
_TYPES_BY_KIND: dict[str, frozenset[XdsType]] = {
    "VirtualService": frozenset({"LDS", "RDS"}),
    "Gateway": frozenset({"LDS", "RDS", "SDS"}),
    "DestinationRule": frozenset({"CDS", "EDS", "RDS"}),
    "ServiceEntry": ALL_TYPES - {"SDS"},
    "WorkloadEntry": frozenset({"EDS"}),
    "Sidecar": ALL_TYPES - {"SDS"},
    "PeerAuthentication": frozenset({"CDS", "LDS"}),
    "AuthorizationPolicy": frozenset({"LDS"}),
    "RequestAuthentication": frozenset({"LDS"}),
    "Telemetry": frozenset({"LDS"}),
    "WasmPlugin": frozenset({"LDS"}),
    "EnvoyFilter": ALL_TYPES,
    "RateLimitPolicy": frozenset({"LDS"}),
    "Secret": frozenset({"SDS"}),
    "Service": ALL_TYPES - {"SDS"},
}
_WORKLOAD_SCOPED = {
    "Sidecar",
    "PeerAuthentication",
    "AuthorizationPolicy",
    "RequestAuthentication",
    "Telemetry",
    "WasmPlugin",
    "EnvoyFilter",
    "RateLimitPolicy",
}

#: What a namespace-wide change of a workload-scoped kind alters for proxies it does not
#: select: clients infer a service's mutual TLS mode from the namespace-wide (or mesh-wide)
#: PeerAuthentication of its namespace (auto mTLS turns off under DISABLE).
_CLIENT_TYPES: dict[str, frozenset[XdsType]] = {"PeerAuthentication": frozenset({"CDS"})}


def types_of_kind(kind: str) -> frozenset[XdsType]:
    """The xDS types a change of a config object of ``kind`` can alter (all for unknown kinds)."""
    return _TYPES_BY_KIND.get(kind, ALL_TYPES)


@dataclass(frozen=True)
class ScopedChange:
    """A changed config object, with the selector labels it had (before or after the change)."""

    key: ConfigKey
    selectors: tuple[dict[str, str] | None, ...] = (None,)


@dataclass(frozen=True)
class PushRequest:
    """A debounced batch of changes. ``full`` means everything may have changed."""

    full: bool = False
    changes: tuple[ScopedChange, ...] = ()
    endpoints_only: bool = False
    reason: str = ""
    root_namespace: str = field(default="istio-system", compare=False)

    def merge(self, other: PushRequest) -> PushRequest:
        return PushRequest(
            full=self.full or other.full,
            changes=self.changes + other.changes,
            endpoints_only=self.endpoints_only and other.endpoints_only,
            reason=", ".join(r for r in (self.reason, other.reason) if r),
            root_namespace=self.root_namespace,
        )

    def affected_types(self, proxy: Proxy) -> frozenset[XdsType]:
        """The xDS types ``proxy`` must be sent again (empty: the change does not concern it)."""
        if self.full:
            return ALL_TYPES
        if self.endpoints_only and not self.changes:
            return frozenset({"EDS"})
        types: set[XdsType] = set()
        for change in self.changes:
            kind, namespace, _ = change.key
            if kind in _WORKLOAD_SCOPED and not self._selects(change, namespace, proxy):
                if None in change.selectors:
                    types |= _CLIENT_TYPES.get(kind, frozenset())
                continue
            types |= types_of_kind(kind)
        if self.endpoints_only:
            types.add("EDS")
        return frozenset(types)

    def changed_types(self) -> frozenset[XdsType]:
        """The xDS types the batch can alter for some proxy (all of them when ``full``)."""
        if self.full:
            return ALL_TYPES
        types = {t for change in self.changes for t in types_of_kind(change.key[0])}
        if self.endpoints_only:
            types.add("EDS")
        return frozenset(types)

    def _selects(self, change: ScopedChange, namespace: str, proxy: Proxy) -> bool:
        if namespace == self.root_namespace:
            return True
        if namespace != proxy.namespace:
            return False
        return any(sel is None or selector_matches(sel, proxy.labels) for sel in change.selectors)

    def affected(self, proxies: Iterable[Proxy]) -> dict[Proxy, frozenset[XdsType]]:
        out = {}
        for p in proxies:
            types = self.affected_types(p)
            if types:
                out[p] = types
        return out
