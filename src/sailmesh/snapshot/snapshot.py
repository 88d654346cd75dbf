"""The frozen mesh snapshot that translation reads, with the lookups Istio's semantics need."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

from sailmesh.config.resource import Resource
from sailmesh.registry.model import Service, selector_matches
from sailmesh.registry.registry import RegistryView
from sailmesh.snapshot.hosts import fqdn, host_matches, visible
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.proxy import Proxy

MESH_GATEWAY = "mesh"


@dataclass(frozen=True)
class MeshSnapshot:
    """Config objects by kind, the registry view and mesh settings, frozen together."""

    configs: MappingProxyType[str, tuple[Resource, ...]]
    registry: RegistryView
    mesh: MeshConfig = field(default_factory=MeshConfig)
    revision: int = 0

    @classmethod
    def build(
        cls,
        resources: Iterable[Resource],
        registry: RegistryView,
        mesh: MeshConfig | None = None,
        revision: int = 0,
    ) -> MeshSnapshot:
        by_kind: dict[str, list[Resource]] = {}
        for r in resources:
            by_kind.setdefault(r.kind, []).append(r)
        ordered = {k: tuple(sorted(v, key=_age_order)) for k, v in by_kind.items()}
        return cls(MappingProxyType(ordered), registry, mesh or MeshConfig(), revision)

    def of_kind(self, kind: str) -> tuple[Resource, ...]:
        return self.configs.get(kind, ())

    @cached_property
    def version(self) -> str:
        """A content hash of what translation reads (stable across control-plane restarts)."""
        h = hashlib.sha256()
        for kind in sorted(self.configs):
            for r in self.configs[kind]:
                h.update(repr((r.key, r.labels, r.body.model_dump(mode="json"))).encode())
        h.update(repr((self.registry.services, self.registry.workloads, self.mesh)).encode())
        return h.hexdigest()[:16]

    # --- exportTo ------------------------------------------------------------------------
    def service_visible(self, svc: Service, viewer_namespace: str) -> bool:
        """``svc``'s exportTo, else the mesh's ``defaultServiceExportTo``, admits the viewer."""
        exported = svc.export_to or self.mesh.default_service_export_to
        return visible(exported, svc.namespace, viewer_namespace)

    def config_visible(self, resource: Resource, viewer_namespace: str) -> bool:
        """A VirtualService's or DestinationRule's exportTo, else the mesh's
        ``defaultVirtualServiceExportTo``/``defaultDestinationRuleExportTo``, admits the viewer."""
        exported = getattr(resource.spec, "export_to", None)
        if not exported:
            mesh = self.mesh
            is_vs = resource.kind == "VirtualService"
            exported = (
                mesh.default_virtual_service_export_to
                if is_vs
                else mesh.default_destination_rule_export_to
            )
        return visible(exported, resource.namespace, viewer_namespace)

    # --- services ------------------------------------------------------------------------
    def services_for(self, proxy: Proxy) -> list[Service]:
        """Services the proxy's namespace can see (exportTo), one per hostname."""
        seen: dict[str, Service] = {}
        for svc in self.registry.services:
            if not self.service_visible(svc, proxy.namespace):
                continue
            current = seen.get(svc.hostname)
            if current is None or (
                svc.namespace == proxy.namespace and current.namespace != proxy.namespace
            ):
                seen[svc.hostname] = svc
        return list(seen.values())

    def service(self, hostname: str, viewer_namespace: str) -> Service | None:
        candidates = [
            s
            for s in self.registry.services_named(hostname)
            if self.service_visible(s, viewer_namespace)
        ]
        local = [s for s in candidates if s.namespace == viewer_namespace]
        found = local or candidates
        return found[0] if found else None

    # --- VirtualServices -----------------------------------------------------------------
    def virtual_services(
        self, viewer_namespace: str, gateway: str = MESH_GATEWAY
    ) -> list[Resource]:
        """VirtualServices visible from ``viewer_namespace`` and bound to ``gateway`` (``ns/name`` or mesh)."""
        return [
            vs
            for vs in self.of_kind("VirtualService")
            if self.config_visible(vs, viewer_namespace) and gateway in self.gateways_of(vs)
        ]

    @staticmethod
    def gateways_of(vs: Resource) -> set[str]:
        names = vs.spec.gateways or [MESH_GATEWAY]
        return {resolve_gateway_name(g, vs.namespace) for g in names}

    @staticmethod
    def vs_hosts(vs: Resource) -> list[str]:
        return [fqdn(h, vs.namespace) for h in (vs.spec.hosts or [])]

    # --- DestinationRules ----------------------------------------------------------------
    def destination_rule(
        self,
        viewer_namespace: str,
        hostname: str,
        labels: Mapping[str, str] | None = None,
    ) -> Resource | None:
        """The DestinationRule for ``hostname`` as seen from ``viewer_namespace`` by a workload
        with ``labels``.

        Istio's precedence: the viewer's namespace, then the service's namespace, then the root
        namespace; a rule whose ``workloadSelector`` selects the workload beats one without
        (such a rule applies only to workloads of its own namespace that it selects); an exact
        host beats a wildcard; the oldest object wins ties. Rules are indexed per viewer
        namespace by host, so a lookup does not scan every rule.
        """
        index = self._rule_index(viewer_namespace)
        svc = self.service(hostname, viewer_namespace)
        order = [viewer_namespace, svc.namespace if svc else None, self.mesh.root_namespace]
        best: tuple[int, int, int, int] | None = None
        chosen: Resource | None = None
        for position, host, dr in [*index.exact.get(hostname, []), *index.wildcard]:
            if host != hostname and not host_matches(host, hostname):
                continue
            selector = selector_labels(dr)
            if selector is not None and (
                dr.namespace != viewer_namespace or not selector_matches(selector, labels or {})
            ):
                continue
            rank = order.index(dr.namespace) if dr.namespace in order else len(order)
            specific = 0 if host == hostname else len(hostname) - len(host)
            key = (rank, 0 if selector is not None else 1, specific, position)
            if best is None or key < best:
                best, chosen = key, dr
        return chosen

    def _rule_index(self, viewer_namespace: str) -> RuleIndex:
        found = self._rule_indexes.get(viewer_namespace)
        if found is None:
            found = self._rule_indexes[viewer_namespace] = RuleIndex(self, viewer_namespace)
        return found

    @cached_property
    def _rule_indexes(self) -> dict[str, RuleIndex]:
        return {}

    # --- workload-scoped objects ---------------------------------------------------------
    def sidecar_for(self, proxy: Proxy) -> Resource | None:
        """The Sidecar resource of a sidecar proxy (its selector's, else its namespace's, else
        the root namespace's); gateways have none (Istio applies Sidecars to sidecars only)."""
        if proxy.type == "router":
            return None
        local = [s for s in self.of_kind("Sidecar") if s.namespace == proxy.namespace]
        for s in local:
            sel = s.spec.workload_selector
            if sel is not None and selector_matches(sel.labels, proxy.labels):
                return s
        for s in local:
            if s.spec.workload_selector is None:
                return s
        for s in self.of_kind("Sidecar"):
            if s.namespace == self.mesh.root_namespace and s.spec.workload_selector is None:
                return s
        return None

    def policies_for(self, kind: str, proxy: Proxy) -> list[Resource]:
        """Objects of ``kind`` (PeerAuthentication, AuthorizationPolicy, RequestAuthentication,
        Telemetry, WasmPlugin, EnvoyFilter) that apply to ``proxy``: mesh-wide in the root
        namespace, namespace-wide, and those whose selector matches its labels."""
        out = []
        for r in self.of_kind(kind):
            if r.namespace not in (proxy.namespace, self.mesh.root_namespace):
                continue
            labels = selector_labels(r)
            if labels is None or (
                r.namespace == proxy.namespace and selector_matches(labels, proxy.labels)
            ):
                out.append(r)
        return out


class RuleIndex:
    """DestinationRules visible from one namespace, by FQDN host (wildcard hosts kept apart),
    each with its position in the snapshot's age order."""

    def __init__(self, snapshot: MeshSnapshot, viewer_namespace: str) -> None:
        self.exact: dict[str, list[tuple[int, str, Resource]]] = {}
        self.wildcard: list[tuple[int, str, Resource]] = []
        for position, dr in enumerate(snapshot.of_kind("DestinationRule")):
            if not snapshot.config_visible(dr, viewer_namespace):
                continue
            host = fqdn(dr.spec.host or "", dr.namespace)
            entry = (position, host, dr)
            if "*" in host:
                self.wildcard.append(entry)
            else:
                self.exact.setdefault(host, []).append(entry)


def resolve_gateway_name(name: str, vs_namespace: str) -> str:
    """``gw`` -> ``<vs ns>/gw``; ``ns/gw`` stays; legacy ``gw.ns.svc.cluster.local`` -> ``ns/gw``."""
    if name == MESH_GATEWAY or "/" in name:
        return name
    if "." in name:
        parts = name.split(".")
        return f"{parts[1]}/{parts[0]}"
    return f"{vs_namespace}/{name}"


def selector_labels(resource: Resource | None) -> dict[str, str] | None:
    """The workload labels an object selects by (``selector.matchLabels``,
    ``workloadSelector.labels``, or a Gateway's plain ``selector`` map); None when it has no
    selector or an empty one (it then applies namespace-wide)."""
    spec = resource.spec if resource is not None else None
    for attr in ("selector", "workload_selector"):
        sel = getattr(spec, attr, None)
        if sel is None:
            continue
        if isinstance(sel, dict):
            return dict(sel) or None
        labels = getattr(sel, "match_labels", None)
        if labels is None:
            labels = getattr(sel, "labels", None)
        return dict(labels) if labels else None
    return None


def _age_order(resource: Resource) -> tuple[str, str, str]:
    created = str(resource.meta.creation_timestamp or "")
    return (created, resource.namespace, resource.name)
