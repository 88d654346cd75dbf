"""Typed specs of the networking.istio.io kinds (one import point for the modules that hold them).

VirtualService (``virtualservice``), DestinationRule (``destinationrule``), Gateway and Sidecar
(``gateway``), ServiceEntry, WorkloadEntry and WorkloadGroup (``serviceentry``), EnvoyFilter and
ProxyConfig (``envoyfilter``); shared messages in ``networking_common``.
"""

from __future__ import annotations

from sailmesh.config.models.destinationrule import DestinationRuleSpec
from sailmesh.config.models.envoyfilter import EnvoyFilterSpec, ProxyConfigSpec
from sailmesh.config.models.gateway import GatewaySpec, SidecarSpec
from sailmesh.config.models.serviceentry import (
    ServiceEntrySpec,
    WorkloadEntrySpec,
    WorkloadGroupSpec,
)
from sailmesh.config.models.virtualservice import VirtualServiceSpec

__all__ = [
    "DestinationRuleSpec",
    "EnvoyFilterSpec",
    "GatewaySpec",
    "ProxyConfigSpec",
    "ServiceEntrySpec",
    "SidecarSpec",
    "VirtualServiceSpec",
    "WorkloadEntrySpec",
    "WorkloadGroupSpec",
]
