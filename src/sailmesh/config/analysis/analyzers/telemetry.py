"""Telemetry providers: access logging with no provider when the mesh has no default one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.context import AnalysisContext
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem


def _default_access_log_providers(ctx: AnalysisContext) -> bool:
    """Whether an IstioOperator among the inputs sets ``defaultProviders.accessLogging``."""
    for op in ctx.of_kind("IstioOperator"):
        mesh: Any = op.spec.mesh_config or {}
        if (mesh.get("defaultProviders") or {}).get("accessLogging"):
            return True
    return False


def _providers(ctx: AnalysisContext) -> Iterator[Problem]:
    if _default_access_log_providers(ctx):
        return
    for t in ctx.of_kind("Telemetry"):
        for i, logging in enumerate(t.spec.access_logging or []):
            if not logging.providers:
                yield msg.INVALID_TELEMETRY_PROVIDER.at(
                    t, t.name, t.namespace, path=f"spec.accessLogging[{i}]"
                )


PROVIDER = Analyzer(
    "telemetry.ProviderAnalyzer",
    "Validates that providers in telemetry resource is valid",
    _providers,
    ("IST0157",),
)

ANALYZERS = (PROVIDER,)
