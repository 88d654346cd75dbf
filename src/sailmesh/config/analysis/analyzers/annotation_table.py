"""Istio's resource annotations: name, the kinds each belongs on, feature status, deprecation.

Written for sailmesh from the annotation list Istio publishes (istio/api ``annotation/``, the
"Resource Annotations" reference page), as of the Istio 1.2x releases. ``ANY`` marks an
annotation that belongs on any kind. The annotation analyzer reads this table only: an
annotation in Istio's domain (``*istio.io/...``, and ``kubernetes.io/ingress.class``, which
Istio documents) that is not here is unknown (IST0108); one on a kind it does not list is
misplaced (IST0107); a deprecated one is reported (IST0135); an alpha one by the opt-in alpha
analyzer (IST0136).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

ANY = "Any"


class Status(Enum):
    ALPHA = "Alpha"
    BETA = "Beta"
    STABLE = "Stable"


@dataclass(frozen=True)
class Annotation:
    name: str
    kinds: tuple[str, ...]
    status: Status = Status.ALPHA
    deprecated: bool = False

    @property
    def anywhere(self) -> bool:
        return ANY in self.kinds


_A, _B, _S = Status.ALPHA, Status.BETA, Status.STABLE
_POD = ("Pod",)
_SERVICE = ("Service",)
_GATEWAY = ("Gateway",)
_WLE = ("WorkloadEntry",)


def _pod(name: str, status: Status = _A, deprecated: bool = False) -> Annotation:
    return Annotation(name, _POD, status, deprecated)


_SIDECAR = "sidecar.istio.io/"
_READINESS = "readiness.status.sidecar.istio.io/"
_TRAFFIC = "traffic.sidecar.istio.io/"

ANNOTATIONS: tuple[Annotation, ...] = (
    # --- any kind -------------------------------------------------------------------------
    Annotation("galley.istio.io/analyze-suppress", (ANY,)),
    Annotation("gateway.istio.io/controller-version", (ANY,)),
    Annotation("install.operator.istio.io/chart-owner", (ANY,)),
    Annotation("install.operator.istio.io/owner-generation", (ANY,)),
    Annotation("install.operator.istio.io/version", (ANY,)),
    # --- namespaces, services, service entries -------------------------------------------
    Annotation("topology.istio.io/controlPlaneClusters", ("Namespace",)),
    Annotation("networking.istio.io/exportTo", _SERVICE),
    Annotation(
        "networking.istio.io/traffic-distribution", ("Service", "ServiceEntry", "Namespace")
    ),
    Annotation("traffic.istio.io/nodeSelector", _SERVICE, _S),
    Annotation("alpha.istio.io/kubernetes-serviceaccounts", _SERVICE, deprecated=True),
    Annotation("alpha.istio.io/canonical-serviceaccounts", _SERVICE, deprecated=True),
    Annotation("networking.istio.io/enable-autoallocate-ip", ("ServiceEntry",)),
    # --- policies, ingresses, gateways, workload entries ---------------------------------
    Annotation("istio.io/dry-run", ("AuthorizationPolicy",)),
    Annotation("kubernetes.io/ingress.class", ("Ingress",), _S),
    Annotation("gateway.istio.io/service-account", _GATEWAY),
    Annotation("gateway.istio.io/name-override", _GATEWAY),
    Annotation("networking.istio.io/service-type", _GATEWAY),
    Annotation("ambient.istio.io/waypoint-inbound-binding", ("GatewayClass",)),
    Annotation("istio.io/autoRegistrationGroup", _WLE),
    Annotation("istio.io/workloadController", _WLE),
    Annotation("istio.io/connectedAt", _WLE),
    Annotation("istio.io/disconnectedAt", _WLE),
    # --- pods: ambient, injection, proxy ---------------------------------------------------
    _pod("ambient.istio.io/redirection", _B),
    _pod("ambient.istio.io/bypass-inbound-capture"),
    _pod("alpha.istio.io/identity", deprecated=True),
    _pod("inject.istio.io/templates"),
    _pod("istio.io/rev"),
    _pod("istio.io/reroute-virtual-interfaces"),
    _pod("prometheus.istio.io/merge-metrics"),
    _pod("proxy.istio.io/config", _B),
    _pod("proxy.istio.io/overrides"),
    _pod(f"{_READINESS}applicationPorts"),
    _pod(f"{_READINESS}failureThreshold"),
    _pod(f"{_READINESS}initialDelaySeconds"),
    _pod(f"{_READINESS}periodSeconds"),
    _pod(f"{_SIDECAR}agentLogLevel"),
    _pod(f"{_SIDECAR}bootstrapOverride"),
    _pod(f"{_SIDECAR}componentLogLevel"),
    _pod(f"{_SIDECAR}controlPlaneAuthPolicy", deprecated=True),
    _pod(f"{_SIDECAR}discoveryAddress", deprecated=True),
    _pod(f"{_SIDECAR}enableCoreDump"),
    _pod(f"{_SIDECAR}extraStatTags", deprecated=True),
    _pod(f"{_SIDECAR}inject", _B, deprecated=True),
    _pod(f"{_SIDECAR}interceptionMode"),
    _pod(f"{_SIDECAR}logLevel"),
    _pod(f"{_SIDECAR}nativeSidecar"),
    _pod(f"{_SIDECAR}proxyCPU"),
    _pod(f"{_SIDECAR}proxyCPULimit"),
    _pod(f"{_SIDECAR}proxyImage"),
    _pod(f"{_SIDECAR}proxyImageType"),
    _pod(f"{_SIDECAR}proxyMemory"),
    _pod(f"{_SIDECAR}proxyMemoryLimit"),
    _pod(f"{_SIDECAR}rewriteAppHTTPProbers"),
    _pod(f"{_SIDECAR}statsCompression"),
    _pod(f"{_SIDECAR}statsFlushInterval"),
    _pod(f"{_SIDECAR}statsHistogramBuckets"),
    _pod(f"{_SIDECAR}statsInclusionPrefixes", deprecated=True),
    _pod(f"{_SIDECAR}statsInclusionRegexps", deprecated=True),
    _pod(f"{_SIDECAR}statsInclusionSuffixes", deprecated=True),
    _pod(f"{_SIDECAR}status"),
    _pod(f"{_SIDECAR}userVolume"),
    _pod(f"{_SIDECAR}userVolumeMount"),
    _pod("status.sidecar.istio.io/port"),
    _pod(f"{_TRAFFIC}excludeInboundPorts"),
    _pod(f"{_TRAFFIC}excludeInterfaces"),
    _pod(f"{_TRAFFIC}excludeOutboundIPRanges"),
    _pod(f"{_TRAFFIC}excludeOutboundPorts"),
    _pod(f"{_TRAFFIC}includeInboundPorts"),
    _pod(f"{_TRAFFIC}includeOutboundIPRanges"),
    _pod(f"{_TRAFFIC}includeOutboundPorts"),
    _pod(f"{_TRAFFIC}kubevirtInterfaces", deprecated=True),
)

BY_NAME: dict[str, Annotation] = {a.name: a for a in ANNOTATIONS}

#: Extra words of a deprecation message (Istio's), by annotation.
DEPRECATION_EXTRA: dict[str, str] = {
    f"{_SIDECAR}inject": ' in favor of the "sidecar.istio.io/inject" label',
}

#: Alpha annotations Istio sets itself (injection, controllers): not reported as alpha.
SET_BY_ISTIO = frozenset(
    {f"{_SIDECAR}status", "gateway.istio.io/controller-version", "istio.io/rev"}
)

#: Kubernetes annotation Istio documents and analyzes although it is outside its domain.
DOCUMENTED_FOREIGN = "kubernetes.io/ingress.class"


def in_istio_domain(name: str) -> bool:
    """Istio's test: the annotation's prefix (before ``/``) ends with ``istio.io``."""
    if name == DOCUMENTED_FOREIGN:
        return True
    return name.partition("/")[0].endswith("istio.io")
