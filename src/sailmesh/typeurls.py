"""Envoy xDS type URLs: the neutral names both translation (:mod:`sailmesh.xds`) and serving
(:mod:`sailmesh.ads`) use, so that neither imports the other."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ENDPOINT = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"
ROUTE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
SECRET = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"

SHORT_NAMES: Mapping[str, str] = MappingProxyType(
    {CLUSTER: "CDS", ENDPOINT: "EDS", LISTENER: "LDS", ROUTE: "RDS", SECRET: "SDS"}
)


def short_name(type_url: str) -> str:
    """``CDS``/``EDS``/... for the known types, else the message name after the last dot."""
    return SHORT_NAMES.get(type_url, type_url.rsplit(".", 1)[-1])
