"""Readers of the meshConfig fields that set mesh-wide defaults of outbound clusters and of
object visibility, with Istio's defaults when a field is absent or malformed (validation of the
IstioOperator reports malformed values with their field path; these readers never raise).

In: raw values of Istio's MeshConfig YAML. Out: plain Python values for
:class:`sailmesh.snapshot.mesh.MeshConfig`.

- ``connectTimeout`` (default 10s): nanoseconds;
- ``tcpKeepalive`` (``probes``, ``time``, ``interval``; unset: no keepalive): :class:`TcpKeepalive`;
- ``h2UpgradePolicy`` (``DO_NOT_UPGRADE`` default, or ``UPGRADE``);
- ``defaultServiceExportTo``, ``defaultVirtualServiceExportTo``,
  ``defaultDestinationRuleExportTo`` (default ``["*"]``): a tuple of namespaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sailmesh.config.models.base import parse_duration_nanos

DEFAULT_CONNECT_TIMEOUT_NANOS = 10 * 1_000_000_000
ALL_NAMESPACES: tuple[str, ...] = ("*",)
H2UpgradePolicy = Literal["DO_NOT_UPGRADE", "UPGRADE"]


@dataclass(frozen=True)
class TcpKeepalive:
    """Mesh-wide upstream TCP keepalive; None fields keep the OS defaults."""

    probes: int | None = None
    time_s: int | None = None
    interval_s: int | None = None


def _nanos(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_duration_nanos(value)
    except ValueError:
        return None


def connect_timeout_nanos(value: Any) -> int:
    """``connectTimeout`` (Istio requires >= 1ms; anything else keeps the 10s default)."""
    nanos = _nanos(value)
    return nanos if nanos is not None and nanos >= 1_000_000 else DEFAULT_CONNECT_TIMEOUT_NANOS


def tcp_keepalive(value: Any) -> TcpKeepalive | None:
    """``tcpKeepalive``; a mapping (even empty: SO_KEEPALIVE with the OS values) or None."""
    if not isinstance(value, dict):
        return None
    probes = value.get("probes")
    time_nanos, interval_nanos = _nanos(value.get("time")), _nanos(value.get("interval"))
    return TcpKeepalive(
        probes=probes if isinstance(probes, int) and probes > 0 else None,
        time_s=time_nanos // 1_000_000_000 if time_nanos is not None else None,
        interval_s=interval_nanos // 1_000_000_000 if interval_nanos is not None else None,
    )


def h2_upgrade_policy(value: Any) -> H2UpgradePolicy:
    """``h2UpgradePolicy``: ``UPGRADE`` or the default ``DO_NOT_UPGRADE``."""
    return "UPGRADE" if value == "UPGRADE" else "DO_NOT_UPGRADE"


def export_to(value: Any) -> tuple[str, ...]:
    """A ``default*ExportTo`` list (``*`` when absent or empty, as Istio)."""
    if not isinstance(value, list):
        return ALL_NAMESPACES
    found = tuple(str(v) for v in value if isinstance(v, str) and v)
    return found or ALL_NAMESPACES
