"""The view of the mesh that analyzers read, built from the analyzed resources only.

Services come from Kubernetes Services (``<name>.<ns>.svc.cluster.local``) and ServiceEntry
hosts; workloads from Deployments (one per Deployment with replicas > 0, labelled like its pod
template), Pods and WorkloadEntries; when a running mesh is analyzed (``live``), from its
running Pods and WorkloadEntries only. Hosts resolve as Istio resolves them: a short name is
qualified with the referring namespace; wildcards (``*.example.com``) match by suffix.

Checks that need facts absent from the inputs are skipped rather than guessed: host lookups
need at least one Service or ServiceEntry, selector checks at least one workload.

Objects without ``exportTo`` are visible where the meshConfig of an analyzed IstioOperator
says (``defaultServiceExportTo``, ``defaultVirtualServiceExportTo``,
``defaultDestinationRuleExportTo``; everywhere by default), as the translator sees them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sailmesh.config.resource import Resource

CLUSTER_DOMAIN = "svc.cluster.local"
ROOT_NAMESPACE = "istio-system"
MESH_GATEWAY = "mesh"
EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo"
#: The meshConfig field giving the exportTo of each kind's objects that set none.
_DEFAULT_EXPORT_FIELDS = {
    "Service": "defaultServiceExportTo",
    "ServiceEntry": "defaultServiceExportTo",
    "VirtualService": "defaultVirtualServiceExportTo",
    "DestinationRule": "defaultDestinationRuleExportTo",
}


@dataclass(frozen=True)
class Port:
    number: int
    name: str = ""
    protocol: str = ""
    target_port: int | str | None = None


@dataclass(frozen=True, eq=False)
class MeshService:
    """One host of the mesh: a Kubernetes Service or one host of a ServiceEntry."""

    host: str
    namespace: str
    ports: tuple[Port, ...]
    export_to: frozenset[str]
    resource: Resource
    selector: Mapping[str, str] | None = None

    @property
    def wildcard(self) -> bool:
        return self.host.startswith("*")

    def visible_in(self, scopes: Iterable[str]) -> bool:
        return "*" in self.export_to or not self.export_to.isdisjoint(scopes)


@dataclass(frozen=True, eq=False)
class Workload:
    """A pod (or VM) the mesh would run: from a Deployment template, a Pod or a WorkloadEntry."""

    name: str
    namespace: str
    labels: Mapping[str, str]
    service_account: str
    resource: Resource


def fqdn(host: str, namespace: str) -> str:
    """Istio's short-name rule: ``reviews`` in ``ns`` is ``reviews.ns.svc.cluster.local``."""
    if host.startswith("*") or "." in host:
        return host
    return f"{host}.{namespace}.{CLUSTER_DOMAIN}"


def host_matches(a: str, b: str) -> bool:
    """Istio's ``host.Name.Matches``: equal, or one is a wildcard whose suffix the other has."""
    if a.startswith("*"):
        if b.startswith("*"):
            short, long = sorted((a[1:], b[1:]), key=len)
            return long.endswith(short)
        return b.endswith(a[1:])
    if b.startswith("*"):
        return a.endswith(b[1:])
    return a == b


def selector_matches(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    """A Kubernetes equality selector; an empty selector matches everything."""
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def selector_string(selector: Mapping[str, str] | None) -> str:
    """Like ``labels.SelectorFromSet(...).String()``: ``app=a,version=v1`` (sorted)."""
    return ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items()))


def split_namespaced(ref: str, namespace: str) -> tuple[str, str]:
    """``ns/name`` or ``name`` (in ``namespace``) as (namespace, name)."""
    ns, sep, name = ref.partition("/")
    return (ns, name) if sep else (namespace, ref)


def _mesh_config(resources: Iterable[Resource]) -> Mapping[str, Any]:
    """``spec.meshConfig`` of the first analyzed IstioOperator setting one (the rule of
    :func:`sailmesh.config.meshconfig.mesh_config_document`, a layer above)."""
    for r in resources:
        found = getattr(r.spec, "mesh_config", None) if r.kind == "IstioOperator" else None
        if isinstance(found, Mapping) and found:
            return found
    return {}


def _export_scopes(export_to: Sequence[str] | None, namespace: str) -> frozenset[str]:
    if not export_to:
        return frozenset({"*"})
    return frozenset(namespace if e == "." else e for e in export_to)


@dataclass
class AnalysisContext:
    """Resources by kind and identity, plus the services and workloads they describe."""

    resources: Sequence[Resource]
    root_namespace: str = ROOT_NAMESPACE
    #: Analyzing a running mesh: its Pods are the running pods (and the only workloads, as
    #: Istio reads pods from a cluster); Deployments only describe them.
    live: bool = False
    by_kind: dict[str, list[Resource]] = field(init=False)
    by_key: dict[tuple[str, str, str], Resource] = field(init=False)
    services: list[MeshService] = field(init=False)
    workloads: list[Workload] = field(init=False)
    namespaces: set[str] = field(init=False)
    #: The meshConfig's ``default*ExportTo`` lists by kind (``["*"]`` when not set).
    default_exports: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        mesh = _mesh_config(self.resources)
        self.default_exports = {}
        for kind, key in _DEFAULT_EXPORT_FIELDS.items():
            value = mesh.get(key)
            strings = (
                [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []
            )
            self.default_exports[kind] = strings or ["*"]
        self.by_kind = defaultdict(list)
        self.by_key = {}
        for r in self.resources:  # a later document with the same identity replaces an earlier one
            self.by_key[r.key] = r
        for r in self.by_key.values():
            self.by_kind[r.kind].append(r)
        self.namespaces = {r.name for r in self.of_kind("Namespace")}
        self.namespaces |= {r.namespace for r in self.resources if r.namespace}
        self.namespaces.add(self.root_namespace)
        self.services = [*self._kube_services(), *self._service_entry_services()]
        deployments = [] if self.live else list(self._deployment_workloads())
        self.workloads = [*deployments, *self._pod_workloads(), *self._wle()]
        self._workloads_by_ns: dict[str, list[Workload]] = defaultdict(list)
        for w in self.workloads:
            self._workloads_by_ns[w.namespace].append(w)
        self.memo: dict[str, Any] = {}  # analyzers' per-run indexes

    # --- lookups -----------------------------------------------------------------------------

    @property
    def has_registry(self) -> bool:
        """Whether any Service or ServiceEntry is among the inputs (host checks need one)."""
        return bool(self.services)

    def of_kind(self, kind: str) -> list[Resource]:
        return self.by_kind.get(kind, [])

    def get(self, kind: str, namespace: str, name: str) -> Resource | None:
        return self.by_key.get((kind, namespace, name))

    def export_to(self, resource: Resource) -> list[str]:
        """A VirtualService's or DestinationRule's exportTo, else the mesh's default for it."""
        own = getattr(resource.spec, "export_to", None)
        return list(own) if own else self.default_exports.get(resource.kind, ["*"])

    def exported_to(self, resource: Resource, namespace: str) -> bool:
        """Whether ``resource`` (VirtualService, DestinationRule) is visible in ``namespace``."""
        export = self.export_to(resource)
        if "~" in export:
            return False
        return "*" in export or namespace in {resource.namespace if e == "." else e for e in export}

    def find_service(
        self, host: str, namespace: str, export_to: Sequence[str] | None = None
    ) -> MeshService | None:
        """The service ``host`` names when used in ``namespace`` (Istio's GetDestinationHost)."""
        name = self.resolve_host(host, namespace)
        scopes = {namespace} if not export_to else {namespace if e == "." else e for e in export_to}
        for s in self.services:
            if not s.wildcard and s.host == name and s.visible_in({"*", *scopes}):
                return s
        bare = name.lstrip("*")
        for s in self.services:
            if s.wildcard and s.visible_in({"*", namespace}) and bare.endswith(s.host[1:]):
                return s
        return None

    def resolve_host(self, host: str, namespace: str) -> str:
        """``reviews`` -> FQDN in ``namespace``; ``reviews.ns`` -> FQDN when ``ns`` is known."""
        full = fqdn(host, namespace)
        name, dot, rest = host.partition(".")
        if dot and "." not in rest and rest in self.namespaces and not host.startswith("*"):
            candidate = f"{name}.{rest}.{CLUSTER_DOMAIN}"
            if any(s.host == candidate for s in self.services):
                return candidate
        return full

    def services_matching(self, host: str, namespace: str) -> list[MeshService]:
        """Services visible in ``namespace`` whose host matches ``host`` (wildcards either side)."""
        name = self.resolve_host(host, namespace)
        scopes = {"*", namespace}
        return [s for s in self.services if host_matches(name, s.host) and s.visible_in(scopes)]

    def workloads_matching(
        self, selector: Mapping[str, str] | None, namespace: str | None = None
    ) -> list[Workload]:
        """Workloads in ``namespace`` (any when None) whose labels satisfy ``selector``."""
        pool = self.workloads if namespace is None else self._workloads_by_ns.get(namespace, [])
        return [w for w in pool if selector_matches(selector, w.labels)]

    def workloads_of(self, service: MeshService) -> list[Workload]:
        """The workloads a service selects (none when it has no selector)."""
        if not service.selector:
            return []
        return self.workloads_matching(service.selector, service.namespace)

    def gateway_for(self, ref: str, namespace: str) -> Resource | None:
        ns, name = split_namespaced(ref, namespace)
        return self.get("Gateway", ns, name)

    # --- building ----------------------------------------------------------------------------

    def _kube_services(self) -> Iterator[MeshService]:
        for r in self.of_kind("Service"):
            spec: Any = r.spec
            ports = tuple(
                Port(p.port or 0, p.name or "", p.protocol or "TCP", p.target_port)
                for p in (getattr(spec, "ports", None) or [])
            )
            anno = r.annotations.get(EXPORT_TO_ANNOTATION, "")
            export = [e.strip() for e in anno.split(",") if e.strip()]
            yield MeshService(
                f"{r.name}.{r.namespace}.{CLUSTER_DOMAIN}",
                r.namespace,
                ports,
                _export_scopes(export or self.default_exports["Service"], r.namespace),
                r,
                getattr(spec, "selector", None) or None,
            )

    def _service_entry_services(self) -> Iterator[MeshService]:
        for r in self.of_kind("ServiceEntry"):
            spec: Any = r.spec
            ports = tuple(
                Port(p.number or 0, p.name or "", p.protocol or "", p.target_port)
                for p in (spec.ports or [])
            )
            selector = spec.workload_selector.labels if spec.workload_selector else None
            for h in spec.hosts or []:
                yield MeshService(
                    fqdn(h, r.namespace),
                    r.namespace,
                    ports,
                    _export_scopes(
                        spec.export_to or self.default_exports["ServiceEntry"], r.namespace
                    ),
                    r,
                    selector or None,
                )

    def _deployment_workloads(self) -> Iterator[Workload]:
        for r in self.of_kind("Deployment"):
            spec: Any = r.spec
            if spec is None or spec.effective_replicas <= 0 or spec.template is None:
                continue
            labels = dict(spec.template.metadata.labels or {})
            pod = spec.template.spec
            sa = pod.service_account_name or pod.service_account or "default"
            yield Workload(r.name, r.namespace, labels, sa, r)

    def _pod_workloads(self) -> Iterator[Workload]:
        for r in self.of_kind("Pod"):
            pod: Any = r.spec
            sa = (pod.service_account_name or pod.service_account) if pod else None
            yield Workload(r.name, r.namespace, dict(r.labels), sa or "default", r)

    def _wle(self) -> Iterator[Workload]:
        for r in self.of_kind("WorkloadEntry"):
            spec: Any = r.spec
            labels = dict(spec.labels or {})
            yield Workload(r.name, r.namespace, labels, spec.service_account or "default", r)
