"""Validation of the meshConfig defaults sailmesh applies to clusters and object visibility
(an IstioOperator's ``spec.meshConfig``): ``enableAutoMtls``, ``connectTimeout``,
``tcpKeepalive``, ``h2UpgradePolicy`` and ``default{Service,VirtualService,DestinationRule}ExportTo``.

In: the meshConfig mapping. Out: errors on the report naming the field path, e.g.
``spec.meshConfig.connectTimeout``. (The snapshot's readers fall back to Istio's defaults on
values reported here.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sailmesh.config.diagnostics import Report
from sailmesh.config.models.base import parse_duration_nanos

_BASE = "spec.meshConfig"
_EXPORT_FIELDS = (
    "defaultServiceExportTo",
    "defaultVirtualServiceExportTo",
    "defaultDestinationRuleExportTo",
)
_H2_POLICIES = ("DO_NOT_UPGRADE", "UPGRADE")
_KEEPALIVE_FIELDS = ("probes", "time", "interval")


def _duration_problem(value: Any, minimum_nanos: int) -> str | None:
    if not isinstance(value, str):
        return f"{value!r} is not a duration (e.g. 1s, 500ms)"
    try:
        nanos = parse_duration_nanos(value)
    except ValueError as exc:
        return str(exc)
    if nanos < minimum_nanos:
        return f"{value!r} is too short: at least {minimum_nanos / 1e6:g}ms"
    return None


def _validate_keepalive(value: Any, report: Report) -> None:
    path = f"{_BASE}.tcpKeepalive"
    if not isinstance(value, Mapping):
        report.error(path, "must be a mapping with probes, time and interval")
        return
    for key in value:
        if key not in _KEEPALIVE_FIELDS:
            report.error(f"{path}.{key}", f"unknown field (known: {', '.join(_KEEPALIVE_FIELDS)})")
    probes = value.get("probes")
    if probes is not None and (not isinstance(probes, int) or probes < 0):
        report.error(f"{path}.probes", f"{probes!r} is not a count of probes")
    for key in ("time", "interval"):
        if key in value and (problem := _duration_problem(value[key], 1_000_000_000)):
            report.error(f"{path}.{key}", problem)


def validate_mesh_settings(mesh: Mapping[str, Any], report: Report) -> None:
    """Report malformed cluster defaults and visibility defaults of ``mesh``."""
    auto = mesh.get("enableAutoMtls")
    if auto is not None and not isinstance(auto, bool):
        report.error(f"{_BASE}.enableAutoMtls", f"{auto!r} is not true or false")
    if "connectTimeout" in mesh:
        problem = _duration_problem(mesh["connectTimeout"], 1_000_000)
        if problem:
            report.error(f"{_BASE}.connectTimeout", problem)
    if "tcpKeepalive" in mesh:
        _validate_keepalive(mesh["tcpKeepalive"], report)
    policy = mesh.get("h2UpgradePolicy")
    if policy is not None and policy not in _H2_POLICIES:
        report.error(
            f"{_BASE}.h2UpgradePolicy", f"{policy!r} is not one of {', '.join(_H2_POLICIES)}"
        )
    for key in _EXPORT_FIELDS:
        value = mesh.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            report.error(f"{_BASE}.{key}", 'must be a list of namespaces, "." or "*"')
        elif "~" in value and len(value) > 1:
            report.error(f"{_BASE}.{key}", '"~" (exported nowhere) cannot be combined')
