"""All analyzers of ``sailctl analyze``, in a stable order (Istio's names where Istio has them).

Istio analyzers for kinds sailmesh does not serve are left out: Kubernetes Gateway API
(``k8sgateway.*``, IST0166), multi-cluster (IST0126, IST0170), webhooks and external control
planes (IST0139, IST0163, IST0164), status conditions (IST0171), proxy images (IST0146, IST0147,
IST0158) and injector ConfigMaps (IST0148).
"""

from __future__ import annotations

from sailmesh.config.analysis.analyzers import (
    deployment,
    deprecation,
    destinationrule,
    enforcement,
    envoyfilter,
    gateway,
    injection,
    k8s_annotations,
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
    *k8s_annotations.ANALYZERS,
    *deployment.ANALYZERS,
    security.AUTHORIZATION_POLICIES,
    *deprecation.ANALYZERS,
    *destinationrule.ANALYZERS,
    *envoyfilter.ANALYZERS,
    *gateway.ANALYZERS,
    *injection.ANALYZERS,
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

#: Analyzers istioctl does not run by default (``--analyzer NAME`` runs one): the alpha
#: annotation analyzer, which ``istioctl x precheck`` runs.
OPT_IN_ANALYZERS: tuple[Analyzer, ...] = (k8s_annotations.ALPHA_ANNOTATIONS,)

__all__ = ["ALL_ANALYZERS", "OPT_IN_ANALYZERS"]
