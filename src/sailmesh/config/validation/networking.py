"""Kind table of networking.istio.io: one KindInfo per kind, with its spec model and validator.

The rules live in one module per kind (``virtualservice``, ``destinationrule``, ``gateway``,
``sidecar``, ``serviceentry``, ``envoyfilter``); shared checks in ``common`` and ``routing``.
"""

from __future__ import annotations

from sailmesh.config.kinds import KindInfo, istio_body
from sailmesh.config.models.destinationrule import DestinationRuleSpec
from sailmesh.config.models.envoyfilter import EnvoyFilterSpec, ProxyConfigSpec
from sailmesh.config.models.gateway import GatewaySpec, SidecarSpec
from sailmesh.config.models.serviceentry import (
    ServiceEntrySpec,
    WorkloadEntrySpec,
    WorkloadGroupSpec,
)
from sailmesh.config.models.virtualservice import VirtualServiceSpec
from sailmesh.config.validation.destinationrule import validate_destination_rule
from sailmesh.config.validation.envoyfilter import validate_envoy_filter, validate_proxy_config
from sailmesh.config.validation.gateway import validate_gateway
from sailmesh.config.validation.serviceentry import (
    validate_service_entry,
    validate_workload_entry,
    validate_workload_group,
)
from sailmesh.config.validation.sidecar import validate_sidecar
from sailmesh.config.validation.virtualservice import validate_virtual_service

GROUP = "networking.istio.io"
VERSIONS = ("v1", "v1beta1", "v1alpha3")

KINDS: tuple[KindInfo, ...] = (
    KindInfo(
        "VirtualService",
        GROUP,
        VERSIONS,
        "virtualservices",
        istio_body("VirtualService", VirtualServiceSpec),
        validate_virtual_service,
    ),
    KindInfo(
        "DestinationRule",
        GROUP,
        VERSIONS,
        "destinationrules",
        istio_body("DestinationRule", DestinationRuleSpec),
        validate_destination_rule,
    ),
    KindInfo(
        "Gateway", GROUP, VERSIONS, "gateways", istio_body("Gateway", GatewaySpec), validate_gateway
    ),
    KindInfo(
        "ServiceEntry",
        GROUP,
        VERSIONS,
        "serviceentries",
        istio_body("ServiceEntry", ServiceEntrySpec),
        validate_service_entry,
    ),
    KindInfo(
        "Sidecar", GROUP, VERSIONS, "sidecars", istio_body("Sidecar", SidecarSpec), validate_sidecar
    ),
    KindInfo(
        "WorkloadEntry",
        GROUP,
        VERSIONS,
        "workloadentries",
        istio_body("WorkloadEntry", WorkloadEntrySpec),
        validate_workload_entry,
    ),
    KindInfo(
        "WorkloadGroup",
        GROUP,
        VERSIONS,
        "workloadgroups",
        istio_body("WorkloadGroup", WorkloadGroupSpec),
        validate_workload_group,
    ),
    KindInfo(
        "EnvoyFilter",
        GROUP,
        ("v1alpha3",),
        "envoyfilters",
        istio_body("EnvoyFilter", EnvoyFilterSpec),
        validate_envoy_filter,
    ),
    KindInfo(
        "ProxyConfig",
        GROUP,
        ("v1beta1",),
        "proxyconfigs",
        istio_body("ProxyConfig", ProxyConfigSpec),
        validate_proxy_config,
    ),
)
