"""Translation shared between proxies whose configuration is identical.

A :class:`PushContext` holds one :class:`~sailmesh.snapshot.snapshot.MeshSnapshot` and the
packed resources (:class:`~sailmesh.ads.resources.TypeResources`) already translated from it,
keyed per xDS type by everything that type's translation reads about a proxy. Proxies with the
same key get the very same packed objects (so the same versions), and translation runs once per
distinct key instead of once per proxy.

What a sidecar's translation reads about its proxy (see :mod:`sailmesh.xds`), hence the key:

- always: proxy type, namespace, interception mode, service account (conservatively), the
  translate options and the Sidecar resource that applies;
- the labels, for every type, when some config in the snapshot selects proxies by labels in the
  proxy's namespace or the root namespace (Sidecar/policy ``selector``/``workloadSelector``),
  or when any VirtualService matches on ``sourceLabels``;
- for CDS and LDS (inbound clusters and ``virtualInbound``): the labels (services selecting
  the workload) and the named ports of the workload at the proxy's IP.

CDS is the expensive type and differs between workloads only by their ``inbound|<port>||``
clusters, so a second workload with the same outbound key reuses the packed outbound clusters
and only builds its inbound ones (with the :mod:`sailmesh.xds` functions ``build_clusters``
uses); the tests compare every shared result with a translation of the proxy alone.

Gateways (``router`` proxies) and proxies served while a test ``resource_hook`` is set are not
shared: they are translated on their own, exactly as before.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from google.protobuf import any_pb2

from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ResourceSnapshot, TypeResources
from sailmesh.config.resource import Resource
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot, selector_labels
from sailmesh.xds import names
from sailmesh.xds.clusters import inbound_cluster
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.plan import inbound_ports
from sailmesh.xds.scope import build_scope
from sailmesh.xds.translate import SIDECAR_TYPES, translate

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
_INBOUND_PREFIX = names.inbound_cluster(0).split("|", 1)[0] + "|"


def _has_selector(resource: Resource) -> bool:
    return selector_labels(resource) is not None


def _matches_source_labels(vs: Resource) -> bool:
    spec = vs.spec
    if spec is None:
        return False
    routes = [*(spec.http or []), *(spec.tcp or []), *(spec.tls or [])]
    return any(m.source_labels for route in routes for m in (route.match or []))


@dataclass(frozen=True)
class LabelDependence:
    """Where a proxy's labels can change its translation, for one snapshot."""

    everywhere: bool
    namespaces: frozenset[str]

    @classmethod
    def scan(cls, snapshot: MeshSnapshot) -> LabelDependence:
        root = snapshot.mesh.root_namespace
        everywhere = False
        namespaces: set[str] = set()
        for kind, resources in snapshot.configs.items():
            if kind in _NOT_PROXY_SELECTORS:
                continue
            for r in resources:
                if _has_selector(r):
                    namespaces.add(r.namespace)
                if kind == "VirtualService" and _matches_source_labels(r):
                    everywhere = True
        return cls(everywhere or root in namespaces, frozenset(namespaces))

    def applies(self, proxy: Proxy) -> bool:
        return self.everywhere or proxy.namespace in self.namespaces


class PushContext:
    """One snapshot and the translations made from it, shared by proxies with equal keys."""

    def __init__(self, snapshot: MeshSnapshot) -> None:
        self.snapshot = snapshot
        self.labels = LabelDependence.scan(snapshot)
        self._types: dict[tuple[str, Hashable], TypeResources] = {}
        #: Packed clusters other than ``inbound|...`` by outbound key (the EDS key).
        self._outbound: dict[Hashable, dict[str, any_pb2.Any]] = {}
        #: How many CDS sets were composed from shared clusters plus inbound ones.
        self.composed = 0
        #: How many times translation ran (for tests and metrics).
        self.translations = 0

    def keys(self, proxy: Proxy, options: TranslateOptions) -> dict[str, Hashable]:
        """The sharing key of each sidecar xDS type for ``proxy``."""
        sidecar = self.snapshot.sidecar_for(proxy)
        base = (
            proxy.type,
            proxy.namespace,
            proxy.interception,
            proxy.service_account,
            options,
            sidecar.key if sidecar is not None else None,
        )
        own = frozenset(proxy.labels.items())
        labels = own if self.labels.applies(proxy) else None
        workload = self.snapshot.registry.workload_at(proxy.ip)
        inbound = (own, frozenset(workload.ports.items()) if workload is not None else None)
        return {
            t: (base, labels, inbound) if t in _INBOUND_TYPES else (base, labels)
            for t in SIDECAR_TYPES
        }

    def resources(self, proxy: Proxy, options: TranslateOptions) -> ResourceSnapshot:
        """The resource snapshot of a sidecar, built from shared per-type translations."""
        keys = self.keys(proxy, options)
        missing = [t for t in SIDECAR_TYPES if (t, keys[t]) not in self._types]
        if CLUSTER in missing:
            outbound = self._outbound.get(keys[ENDPOINT])
            if outbound is not None:
                self._types[(CLUSTER, keys[CLUSTER])] = _with_inbound(outbound, proxy, self)
                missing.remove(CLUSTER)
        if missing:
            translated = translate(proxy, self.snapshot, types=missing, options=options)
            self.translations += 1
            for t in missing:
                self._types[(t, keys[t])] = TypeResources.build(t, translated.get(t, {}))
            if CLUSTER in missing:
                packed = self._types[(CLUSTER, keys[CLUSTER])].packed
                self._outbound[keys[ENDPOINT]] = {
                    name: value for name, value in packed.items() if not _is_inbound(name)
                }
        return ResourceSnapshot(
            types=MappingProxyType({t: self._types[(t, keys[t])] for t in SIDECAR_TYPES})
        )


def _is_inbound(cluster_name: str) -> bool:
    return cluster_name.startswith(_INBOUND_PREFIX)


def _with_inbound(
    outbound: Mapping[str, any_pb2.Any], proxy: Proxy, ctx: PushContext
) -> TypeResources:
    """CDS of ``proxy`` from the shared clusters of its outbound key plus its own
    ``inbound|<port>||`` clusters (the only clusters that depend on the proxy's workload)."""
    scope = build_scope(proxy, ctx.snapshot)
    own = {
        names.inbound_cluster(port.port): inbound_cluster(scope, port)
        for port in inbound_ports(scope)
    }
    ctx.composed += 1
    return TypeResources.build(CLUSTER, {**outbound, **own})
