"""ServiceEntry checks: addresses for TCP ports, conflicting protocols for one host and port."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.context import AnalysisContext, fqdn
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem
from sailmesh.config.resource import Resource

AUTO_ALLOCATE = "ISTIO_META_DNS_AUTO_ALLOCATE"


def _auto_allocate(ctx: AnalysisContext) -> bool:
    """Whether an IstioOperator among the inputs turns on DNS address auto-allocation."""
    for op in ctx.of_kind("IstioOperator"):
        mesh: Any = op.spec.mesh_config or {}
        metadata = (mesh.get("defaultConfig") or {}).get("proxyMetadata") or {}
        if str(metadata.get(AUTO_ALLOCATE, "")).lower() == "true":
            return True
    return False


def _addresses(ctx: AnalysisContext) -> Iterator[Problem]:
    if _auto_allocate(ctx):
        return
    for se in ctx.of_kind("ServiceEntry"):
        spec: Any = se.spec
        if spec.addresses:
            continue
        for i, port in enumerate(spec.ports or []):
            if (port.protocol or "TCP").upper() == "TCP":
                path = f"spec.ports[{i}].protocol" if port.protocol else f"spec.ports[{i}]"
                yield msg.SERVICE_ENTRY_ADDRESSES_REQUIRED.at(se, path=path)


ADDRESSES = Analyzer(
    "serviceentry.Analyzer",
    "Checks the validity of ServiceEntry",
    _addresses,
    ("IST0134",),
)


def _protocol_conflicts(ctx: AnalysisContext) -> Iterator[Problem]:
    seen: dict[tuple[str, int], dict[Resource, tuple[str, str]]] = defaultdict(dict)
    for se in ctx.of_kind("ServiceEntry"):
        spec: Any = se.spec
        for h in spec.hosts or []:
            for i, port in enumerate(spec.ports or []):
                key = (fqdn(h, se.namespace), port.number or 0)
                seen[key].setdefault(se, ((port.protocol or "TCP").upper(), f"spec.ports[{i}]"))
    for (host, number), entries in seen.items():
        protocols = sorted({p for p, _ in entries.values()})
        if len(entries) < 2 or len(protocols) < 2:
            continue
        names = ",".join(f"{r.namespace}/{r.name}" for r in entries)
        for se, (_, path) in entries.items():
            yield msg.CONFLICTING_SERVICE_ENTRY_PROTOCOLS.at(
                se, names, host, number, "[" + " ".join(protocols) + "]", path=path
            )


CONFLICTING_PROTOCOLS = Analyzer(
    "serviceentry.ConflictingServiceEntryAnalyzer",
    "Checks that ServiceEntries with the same host and port agree on the protocol",
    _protocol_conflicts,
    ("IST0177",),
)

ANALYZERS = (ADDRESSES, CONFLICTING_PROTOCOLS)
