"""The kinds sailmesh understands: group, served versions, plural and body model per kind.

This module is the one kind table and holds only metadata; which validator checks a kind is
``sailmesh.config.validation.registry``'s business, so the table never imports validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import ValidationError, create_model

from sailmesh.config.models.base import Model
from sailmesh.config.models.destinationrule import DestinationRuleSpec
from sailmesh.config.models.envoyfilter import EnvoyFilterSpec, ProxyConfigSpec
from sailmesh.config.models.extensions import WasmPluginSpec
from sailmesh.config.models.gateway import GatewaySpec, SidecarSpec
from sailmesh.config.models.install import IstioOperatorSpec
from sailmesh.config.models.kubernetes.objects import (
    ConfigMapBody,
    NamespaceBody,
    SecretBody,
    ServiceAccountBody,
    ServiceBody,
)
from sailmesh.config.models.kubernetes.workloads import DeploymentBody, PodBody
from sailmesh.config.models.ratelimit import RateLimitPolicySpec
from sailmesh.config.models.security import (
    AuthorizationPolicySpec,
    PeerAuthenticationSpec,
    RequestAuthenticationSpec,
)
from sailmesh.config.models.serviceentry import (
    ServiceEntrySpec,
    WorkloadEntrySpec,
    WorkloadGroupSpec,
)
from sailmesh.config.models.telemetry import TelemetrySpec
from sailmesh.config.models.virtualservice import VirtualServiceSpec

NETWORKING = "networking.istio.io"
NETWORKING_VERSIONS = ("v1", "v1beta1", "v1alpha3")
SECURITY = "security.istio.io"
SECURITY_VERSIONS = ("v1", "v1beta1")
#: sailmesh's own kinds (what Istio has no API for).
SAILMESH = "sailmesh.io"


@dataclass(frozen=True)
class KindInfo:
    """Static facts about one kind."""

    kind: str
    group: str
    versions: tuple[str, ...]
    plural: str
    body: type[Model]
    namespaced: bool = True
    deprecated_versions: tuple[str, ...] = ()

    @property
    def api_versions(self) -> tuple[str, ...]:
        return tuple(f"{self.group}/{v}" if self.group else v for v in self.versions)

    @property
    def preferred_api_version(self) -> str:
        return self.api_versions[0]


def istio_body(kind: str, spec: type[Model]) -> type[Model]:
    """Body model for an Istio kind: ``spec`` (typed) plus a free-form ``status`` that is ignored."""
    try:
        default: Any = spec()
    except ValidationError:
        default = ...
    body: type[Model] = create_model(
        f"{kind}Object",
        __base__=Model,
        spec=(spec, default),
        status=(dict[str, Any] | None, None),
    )
    return body


def _istio_kind(
    kind: str, group: str, versions: tuple[str, ...], plural: str, spec: type[Model]
) -> KindInfo:
    return KindInfo(kind, group, versions, plural, istio_body(kind, spec))


def _networking_kinds() -> tuple[KindInfo, ...]:
    return (
        _istio_kind(
            "VirtualService", NETWORKING, NETWORKING_VERSIONS, "virtualservices", VirtualServiceSpec
        ),
        _istio_kind(
            "DestinationRule",
            NETWORKING,
            NETWORKING_VERSIONS,
            "destinationrules",
            DestinationRuleSpec,
        ),
        _istio_kind("Gateway", NETWORKING, NETWORKING_VERSIONS, "gateways", GatewaySpec),
        _istio_kind(
            "ServiceEntry", NETWORKING, NETWORKING_VERSIONS, "serviceentries", ServiceEntrySpec
        ),
        _istio_kind("Sidecar", NETWORKING, NETWORKING_VERSIONS, "sidecars", SidecarSpec),
        _istio_kind(
            "WorkloadEntry", NETWORKING, NETWORKING_VERSIONS, "workloadentries", WorkloadEntrySpec
        ),
        _istio_kind(
            "WorkloadGroup", NETWORKING, NETWORKING_VERSIONS, "workloadgroups", WorkloadGroupSpec
        ),
        _istio_kind("EnvoyFilter", NETWORKING, ("v1alpha3",), "envoyfilters", EnvoyFilterSpec),
        _istio_kind("ProxyConfig", NETWORKING, ("v1beta1",), "proxyconfigs", ProxyConfigSpec),
    )


def _policy_kinds() -> tuple[KindInfo, ...]:
    return (
        _istio_kind(
            "PeerAuthentication",
            SECURITY,
            SECURITY_VERSIONS,
            "peerauthentications",
            PeerAuthenticationSpec,
        ),
        _istio_kind(
            "AuthorizationPolicy",
            SECURITY,
            SECURITY_VERSIONS,
            "authorizationpolicies",
            AuthorizationPolicySpec,
        ),
        _istio_kind(
            "RequestAuthentication",
            SECURITY,
            SECURITY_VERSIONS,
            "requestauthentications",
            RequestAuthenticationSpec,
        ),
        _istio_kind(
            "Telemetry", "telemetry.istio.io", ("v1", "v1alpha1"), "telemetries", TelemetrySpec
        ),
        _istio_kind(
            "WasmPlugin", "extensions.istio.io", ("v1alpha1",), "wasmplugins", WasmPluginSpec
        ),
        _istio_kind(
            "RateLimitPolicy", SAILMESH, ("v1alpha1",), "ratelimitpolicies", RateLimitPolicySpec
        ),
    )


def _kubernetes_kinds() -> tuple[KindInfo, ...]:
    return (
        KindInfo("Namespace", "", ("v1",), "namespaces", NamespaceBody, namespaced=False),
        KindInfo("ServiceAccount", "", ("v1",), "serviceaccounts", ServiceAccountBody),
        KindInfo("Service", "", ("v1",), "services", ServiceBody),
        KindInfo("Secret", "", ("v1",), "secrets", SecretBody),
        KindInfo("ConfigMap", "", ("v1",), "configmaps", ConfigMapBody),
        KindInfo("Pod", "", ("v1",), "pods", PodBody),
        KindInfo("Deployment", "apps", ("v1",), "deployments", DeploymentBody),
    )


@cache
def all_kinds() -> tuple[KindInfo, ...]:
    """Every kind: Istio's (networking, security, telemetry, extensions), sailmesh's own
    (RateLimitPolicy), Kubernetes', install."""
    install = _istio_kind(
        "IstioOperator", "install.istio.io", ("v1alpha1",), "istiooperators", IstioOperatorSpec
    )
    return (*_networking_kinds(), *_policy_kinds(), *_kubernetes_kinds(), install)


@cache
def _by_api_version() -> dict[tuple[str, str], KindInfo]:
    return {(api, k.kind): k for k in all_kinds() for api in k.api_versions}


@cache
def _by_name() -> dict[str, KindInfo]:
    out: dict[str, KindInfo] = {}
    for k in all_kinds():
        for alias in (k.kind, k.kind.lower(), k.plural):
            out.setdefault(alias, k)
    return out


def lookup(api_version: str, kind: str) -> KindInfo | None:
    """The kind served at ``apiVersion``, or None."""
    return _by_api_version().get((api_version, kind))


def find_kind(name: str) -> KindInfo | None:
    """A kind by its name, lowercase name or plural (as ``sailctl get`` accepts)."""
    return _by_name().get(name) or _by_name().get(name.lower())


def kinds_named(kind: str) -> list[KindInfo]:
    return [k for k in all_kinds() if k.kind == kind]
