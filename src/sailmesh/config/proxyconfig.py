"""Per-pod proxy settings from Istio's ProxyConfig sources: the mesh-wide
``meshConfig.defaultConfig`` (of an applied IstioOperator) and the pod's
``proxy.istio.io/config`` annotation, the annotation winning field by field.

In: the pod's annotations and the mesh's ``defaultConfig`` mapping (read once, by
:func:`sailmesh.config.meshconfig.mesh_config_document`, and handed to the runtime). Out: the
settings the runtime applies to a sidecar: the xDS protocol, which, as in Istio since 1.22, is
delta (incremental) unless ``proxyMetadata.ISTIO_DELTA_XDS`` is false, and the lifetime of the
workload certificate its node agent asks for, Istio's ``proxyMetadata.SECRET_TTL`` (a duration
such as ``24h`` or ``90s``; 24 h when unset, at most 90 days).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import yaml

from sailmesh.config.models.base import parse_duration_nanos
from sailmesh.config.validation.install import secret_ttl_problem

log = logging.getLogger("sailmesh.config")

PROXY_CONFIG_ANNOTATION = "proxy.istio.io/config"
DELTA_XDS = "ISTIO_DELTA_XDS"
SECRET_TTL = "SECRET_TTL"
#: Istio's default workload certificate lifetime.
DEFAULT_SECRET_TTL = 24 * 3600.0


def default_proxy_config(mesh_config: Mapping[str, Any]) -> Mapping[str, Any]:
    """``defaultConfig`` of a meshConfig document (empty when it has none)."""
    found = mesh_config.get("defaultConfig")
    return found if isinstance(found, Mapping) else {}


def pod_proxy_config(annotations: Mapping[str, str], where: str) -> Mapping[str, Any]:
    """The pod's ``proxy.istio.io/config`` annotation, parsed (empty when absent or unusable,
    which is logged with ``where``, the pod)."""
    text = annotations.get(PROXY_CONFIG_ANNOTATION)
    if not text:
        return {}
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        log.warning(
            "%s: annotation %s is not YAML (%s); ignored", where, PROXY_CONFIG_ANNOTATION, exc
        )
        return {}
    if not isinstance(parsed, Mapping):
        log.warning("%s: annotation %s is not a mapping; ignored", where, PROXY_CONFIG_ANNOTATION)
        return {}
    return parsed


def proxy_metadata(*configs: Mapping[str, Any]) -> dict[str, str]:
    """``proxyMetadata`` of the configs merged in order (later ones win a key)."""
    merged: dict[str, str] = {}
    for config in configs:
        metadata = config.get("proxyMetadata")
        if isinstance(metadata, Mapping):
            merged.update({str(k): str(v) for k, v in metadata.items()})
    return merged


def delta_xds(metadata: Mapping[str, str]) -> bool:
    """Delta xDS unless ``ISTIO_DELTA_XDS`` says false (Istio's default since 1.22)."""
    return metadata.get(DELTA_XDS, "true").strip().lower() not in ("false", "0", "no", "off")


def secret_ttl(metadata: Mapping[str, str], where: str = "") -> float:
    """The workload certificate lifetime in seconds: ``SECRET_TTL`` of the merged proxy
    metadata, else 24 h (also, with a logged warning naming ``where``, when it is unusable)."""
    value = metadata.get(SECRET_TTL)
    if value is None:
        return DEFAULT_SECRET_TTL
    problem = secret_ttl_problem(value)
    if problem is not None:
        log.warning("%s: %s; using 24h", where or "proxy config", problem)
        return DEFAULT_SECRET_TTL
    return parse_duration_nanos(value) / 1e9
