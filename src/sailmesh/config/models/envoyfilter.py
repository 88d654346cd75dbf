"""EnvoyFilter (v1alpha3) and ProxyConfig (v1beta1): low-level proxy customisation."""

from __future__ import annotations

from typing import Any, Literal

from sailmesh.config.models.base import Model, StrMap
from sailmesh.config.models.networking_common import (
    MatchLabelsSelector,
    TargetReference,
    WorkloadSelector,
)

ApplyTo = Literal[
    "INVALID",
    "LISTENER",
    "FILTER_CHAIN",
    "NETWORK_FILTER",
    "HTTP_FILTER",
    "ROUTE_CONFIGURATION",
    "VIRTUAL_HOST",
    "HTTP_ROUTE",
    "CLUSTER",
    "EXTENSION_CONFIG",
    "BOOTSTRAP",
    "LISTENER_FILTER",
]
PatchContext = Literal["ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY", "WAYPOINT"]
Operation = Literal[
    "INVALID",
    "MERGE",
    "ADD",
    "REMOVE",
    "INSERT_BEFORE",
    "INSERT_AFTER",
    "INSERT_FIRST",
    "REPLACE",
    "MERGE_AND_REPLACE_LIST",
]


class ProxyMatch(Model):
    """Match proxies by version (a regex) and node metadata."""

    proxy_version: str | None = None
    metadata: StrMap = {}


class SubFilterMatch(Model):
    """An HTTP filter inside the HTTP connection manager."""

    name: str | None = None


class FilterMatch(Model):
    """A network filter by name, optionally an HTTP filter inside it (``subFilter``)."""

    name: str | None = None
    sub_filter: SubFilterMatch | None = None


class FilterChainMatch(Model):
    """A filter chain of a listener."""

    name: str | None = None
    sni: str | None = None
    transport_protocol: str | None = None
    application_protocols: str | None = None
    filter: FilterMatch | None = None
    destination_port: int | None = None


class ListenerMatch(Model):
    """A listener by port, name, filter chain or listener filter."""

    port_number: int | None = None
    port_name: str | None = None
    filter_chain: FilterChainMatch | None = None
    listener_filter: str | None = None
    name: str | None = None


class RouteMatch(Model):
    """A route of a virtual host by name or action."""

    name: str | None = None
    action: Literal["ANY", "ROUTE", "REDIRECT", "DIRECT_RESPONSE"] | None = None


class VirtualHostMatch(Model):
    """A virtual host by name or domain."""

    name: str | None = None
    domain_name: str | None = None
    route: RouteMatch | None = None


class RouteConfigurationMatch(Model):
    """A route configuration by port, gateway server, name or virtual host."""

    port_number: int | None = None
    port_name: str | None = None
    gateway: str | None = None
    vhost: VirtualHostMatch | None = None
    name: str | None = None


class ClusterMatch(Model):
    """A cluster by port, service, subset or name."""

    port_number: int | None = None
    service: str | None = None
    subset: str | None = None
    name: str | None = None


class WaypointRouteMatch(Model):
    """A route of a waypoint."""

    name: str | None = None


class WaypointMatch(Model):
    """Objects of a waypoint proxy."""

    filter: FilterMatch | None = None
    route: WaypointRouteMatch | None = None
    port_number: int | None = None


class EnvoyConfigObjectMatch(Model):
    """What to patch: context, proxy, then one of listener/routeConfiguration/cluster/waypoint."""

    context: PatchContext | None = None
    proxy: ProxyMatch | None = None
    listener: ListenerMatch | None = None
    route_configuration: RouteConfigurationMatch | None = None
    cluster: ClusterMatch | None = None
    waypoint: WaypointMatch | None = None


class Patch(Model):
    """How to patch: ``operation``, ``value`` (Envoy config as a struct), ``filterClass``."""

    operation: Operation | None = None
    value: dict[str, Any] | None = None
    filter_class: Literal["UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"] | None = None


class EnvoyConfigObjectPatch(Model):
    """One patch: ``applyTo``, ``match``, ``patch``."""

    apply_to: ApplyTo | None = None
    match: EnvoyConfigObjectMatch | None = None
    patch: Patch | None = None


class EnvoyFilterSpec(Model):
    """``spec`` of an EnvoyFilter."""

    workload_selector: WorkloadSelector | None = None
    target_refs: list[TargetReference] = []
    config_patches: list[EnvoyConfigObjectPatch] = []
    priority: int | None = None


class ProxyImage(Model):
    """Proxy image flavour (``default``, ``debug``, ``distroless``)."""

    image_type: str | None = None


class ProxyConfigSpec(Model):
    """``spec`` of a ProxyConfig."""

    selector: MatchLabelsSelector | None = None
    concurrency: int | None = None
    environment_variables: StrMap = {}
    image: ProxyImage | None = None


__all__ = [
    "ApplyTo",
    "ClusterMatch",
    "EnvoyConfigObjectMatch",
    "EnvoyConfigObjectPatch",
    "EnvoyFilterSpec",
    "FilterChainMatch",
    "FilterMatch",
    "ListenerMatch",
    "Operation",
    "Patch",
    "PatchContext",
    "ProxyConfigSpec",
    "ProxyImage",
    "ProxyMatch",
    "RouteConfigurationMatch",
    "RouteMatch",
    "SubFilterMatch",
    "VirtualHostMatch",
    "WaypointMatch",
    "WaypointRouteMatch",
]
