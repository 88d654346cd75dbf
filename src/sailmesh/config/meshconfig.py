"""The one reader of mesh-wide configuration in the config store.

Istio takes its MeshConfig from the ``istio`` ConfigMap or an IstioOperator's
``spec.meshConfig``; sailmesh reads the latter. In: the applied resources. Out: the meshConfig
document (a mapping in Istio's YAML shape, empty without one), from which
:class:`sailmesh.snapshot.mesh.MeshConfig` (the control plane's settings) and
:func:`sailmesh.config.proxyconfig.default_proxy_config` (the sidecars' defaults, handed to the
runtime) are made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from sailmesh.config.resource import Resource

EMPTY: Mapping[str, Any] = MappingProxyType({})


def mesh_config_document(resources: Iterable[Resource]) -> Mapping[str, Any]:
    """``spec.meshConfig`` of the first applied IstioOperator that sets one (empty without)."""
    for r in resources:
        if r.kind != "IstioOperator":
            continue
        found = getattr(r.spec, "mesh_config", None)
        if isinstance(found, Mapping) and found:
            return found
    return EMPTY
