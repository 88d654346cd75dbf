"""PeerAuthentication resolved the way Istio resolves it: which mutual TLS mode a workload's
sidecar accepts on each port, and which mode a client may assume for a service.

In: the snapshot's PeerAuthentication objects (oldest first, the snapshot's age order) and a
proxy (its namespace and labels) or a service's namespace. Out: :class:`PeerPolicy` (the mode
of the workload and of its ports) and :func:`namespace_mode` (the mode auto mTLS reads).

Scopes and precedence (Istio's ``ComposePeerAuthentication``):

- mesh-wide: a policy without selector in the root namespace (``meshConfig.rootNamespace``);
- namespace-wide: a policy without selector in the workload's namespace;
- workload: a policy whose ``selector.matchLabels`` match the workload's labels, in its
  namespace (selector policies in the root namespace are ignored, as in Istio).

In each scope the oldest policy wins (creation time, then name). The narrowest scope that sets
a mode wins; ``UNSET`` (or no ``mtls``) inherits from the next wider scope, and PERMISSIVE
applies when nothing sets a mode. ``portLevelMtls`` of the workload policy is keyed by the
workload's (container) port, and an ``UNSET`` port inherits the workload's mode.

Clients cannot see workload policies: auto mTLS uses only the namespace-wide (else mesh-wide)
mode of the service's namespace (Istio's ``BestEffortInferServiceMTLSMode``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sailmesh.config.resource import Resource
from sailmesh.registry.model import FrozenMap
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.snapshot import MeshSnapshot, selector_labels

MtlsMode = Literal["STRICT", "PERMISSIVE", "DISABLE"]
KIND = "PeerAuthentication"
DEFAULT_MODE: MtlsMode = "PERMISSIVE"


def _mode(mtls: Any) -> MtlsMode | None:
    """The mode an ``mtls`` block sets (None for UNSET or no block)."""
    mode = getattr(mtls, "mode", None)
    return mode if mode in ("STRICT", "PERMISSIVE", "DISABLE") else None


@dataclass(frozen=True)
class PeerPolicy:
    """The mutual TLS modes of one workload: ``mode`` and per-port overrides."""

    mode: MtlsMode = DEFAULT_MODE
    ports: FrozenMap[int, MtlsMode] = field(default_factory=FrozenMap)

    def for_port(self, port: int) -> MtlsMode:
        """The mode of the workload's ``port`` (its container port)."""
        return self.ports.get(port, self.mode)


@dataclass(frozen=True)
class _Scopes:
    mesh: Resource | None
    namespace: Resource | None
    workload: Resource | None


def _scopes(policies: list[Resource], root: str) -> _Scopes:
    """The oldest policy of each scope (``policies`` are in age order)."""
    mesh = namespace = workload = None
    for policy in policies:
        if selector_labels(policy) is None:
            if policy.namespace == root:
                mesh = mesh or policy
            else:
                namespace = namespace or policy
        elif policy.namespace != root:
            workload = workload or policy
    return _Scopes(mesh, namespace, workload)


def compose(policies: list[Resource], root: str) -> PeerPolicy:
    """The effective policy of the applicable ``policies`` (oldest first)."""
    scopes = _scopes(policies, root)
    mode: MtlsMode = DEFAULT_MODE
    for policy in (scopes.mesh, scopes.namespace, scopes.workload):
        if policy is not None:
            mode = _mode(policy.spec.mtls) or mode
    ports: dict[int, MtlsMode] = {}
    if scopes.workload is not None:
        for port, mtls in (scopes.workload.spec.port_level_mtls or {}).items():
            ports[int(port)] = _mode(mtls) or mode
    return PeerPolicy(mode, FrozenMap(ports))


def workload_policy(snapshot: MeshSnapshot, proxy: Proxy) -> PeerPolicy:
    """The effective PeerAuthentication of ``proxy``'s workload."""
    return compose(snapshot.policies_for(KIND, proxy), snapshot.mesh.root_namespace)


def namespace_mode(snapshot: MeshSnapshot, namespace: str) -> MtlsMode | None:
    """The namespace-wide mode of ``namespace`` (``UNSET`` inherits the mesh-wide mode, else
    PERMISSIVE), else the mesh-wide mode; None when neither policy exists (Istio's
    ``GetNamespaceMutualTLSMode``)."""
    root = snapshot.mesh.root_namespace
    mesh: MtlsMode | None = None
    local: Resource | None = None
    found_mesh = False
    for policy in snapshot.of_kind(KIND):
        if selector_labels(policy) is not None:
            continue
        if policy.namespace == root and not found_mesh:
            found_mesh = True
            mesh = _mode(policy.spec.mtls) or DEFAULT_MODE
        elif policy.namespace == namespace and local is None:
            local = policy
    if local is not None and namespace != root:
        return _mode(local.spec.mtls) or mesh or DEFAULT_MODE
    return mesh
