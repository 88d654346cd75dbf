"""All analyzers of ``sailctl analyze``, in a stable order (Istio's names where Istio has them)."""

from __future__ import annotations

from sailmesh.config.analysis.analyzers import (
    destinationrule,
    enforcement,
    gateway,
    security,
    selectors,
    service,
    serviceentry,
    sidecar,
    telemetry,
    virtualservice,
    vsroutes,
)
from sailmesh.config.analysis.framework import Analyzer

ALL_ANALYZERS: tuple[Analyzer, ...] = (
    security.AUTHORIZATION_POLICIES,
    sidecar.DEPRECATED_FIELDS,
    *destinationrule.ANALYZERS,
    *gateway.ANALYZERS,
    security.AUTHENTICATION_SELECTORS,
    *service.ANALYZERS,
    *serviceentry.ANALYZERS,
    *selectors.ANALYZERS[:2],
    *sidecar.ANALYZERS,
    *selectors.ANALYZERS[2:],
    *telemetry.ANALYZERS,
    *virtualservice.ANALYZERS,
    *vsroutes.ANALYZERS,
    *enforcement.ANALYZERS,
)

__all__ = ["ALL_ANALYZERS"]
