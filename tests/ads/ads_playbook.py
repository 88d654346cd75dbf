"""Builders for the sans-I/O ADS playbooks: tiny resources, snapshots, requests, a manual clock."""

from __future__ import annotations

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.service.discovery.v3 import discovery_pb2
from google.protobuf import duration_pb2
from google.rpc import status_pb2

from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, ResourceSnapshot
from sailmesh.ads.status import StatusTracker
from sailmesh.clock import ManualClock

NODE = "sidecar~10.0.0.1~app-1.default~default.svc.cluster.local"


def tracker(mode: str = "sotw") -> StatusTracker:
    return StatusTracker(NODE, f"{NODE}/1", mode, ManualClock())


def snapshot(
    clusters: dict[str, int] | None = None,
    endpoints: dict[str, int] | None = None,
    listeners: tuple[str, ...] = ("0.0.0.0_80",),
    routes: dict[str, str] | None = None,
) -> ResourceSnapshot:
    """clusters: name -> connect timeout (s); endpoints: name -> port; routes: name -> cluster."""
    clusters = {"c1": 1} if clusters is None else clusters
    endpoints = {name: 8000 for name in clusters} if endpoints is None else endpoints
    routes = {"80": "c1"} if routes is None else routes
    return ResourceSnapshot.build(
        {
            CLUSTER: {
                n: cluster_pb2.Cluster(name=n, connect_timeout=duration_pb2.Duration(seconds=t))
                for n, t in clusters.items()
            },
            ENDPOINT: {n: _cla(n, port) for n, port in endpoints.items()},
            LISTENER: {n: listener_pb2.Listener(name=n) for n in listeners},
            ROUTE: {n: _route(n, c) for n, c in routes.items()},
        }
    )


def _cla(name: str, port: int) -> endpoint_pb2.ClusterLoadAssignment:
    cla = endpoint_pb2.ClusterLoadAssignment(cluster_name=name)
    lb = cla.endpoints.add().lb_endpoints.add()
    lb.endpoint.address.socket_address.address = "127.0.0.1"
    lb.endpoint.address.socket_address.port_value = port
    return cla


def _route(name: str, cluster: str) -> route_pb2.RouteConfiguration:
    rc = route_pb2.RouteConfiguration(name=name)
    vh = rc.virtual_hosts.add(name="all", domains=["*"])
    route = vh.routes.add()
    route.match.prefix = "/"
    route.route.cluster = cluster
    return rc


def req(
    type_url: str,
    names: tuple[str, ...] = (),
    version: str = "",
    nonce: str = "",
    error: str | None = None,
) -> discovery_pb2.DiscoveryRequest:
    r = discovery_pb2.DiscoveryRequest(
        type_url=type_url, resource_names=list(names), version_info=version, response_nonce=nonce
    )
    r.node.id = NODE
    if error is not None:
        r.error_detail.CopyFrom(status_pb2.Status(code=3, message=error))
    return r


def ack(
    resp: discovery_pb2.DiscoveryResponse, names: tuple[str, ...] = ()
) -> discovery_pb2.DiscoveryRequest:
    return req(resp.type_url, names, version=resp.version_info, nonce=resp.nonce)


def delta_req(
    type_url: str,
    subscribe: tuple[str, ...] = (),
    unsubscribe: tuple[str, ...] = (),
    nonce: str = "",
    initial: dict[str, str] | None = None,
    error: str | None = None,
) -> discovery_pb2.DeltaDiscoveryRequest:
    r = discovery_pb2.DeltaDiscoveryRequest(
        type_url=type_url,
        resource_names_subscribe=list(subscribe),
        resource_names_unsubscribe=list(unsubscribe),
        response_nonce=nonce,
        initial_resource_versions=initial or {},
    )
    if error is not None:
        r.error_detail.CopyFrom(status_pb2.Status(code=3, message=error))
    return r


def names_of(resp: discovery_pb2.DiscoveryResponse) -> list[str]:
    out = []
    for any_msg in resp.resources:
        if resp.type_url == ENDPOINT:
            msg = endpoint_pb2.ClusterLoadAssignment.FromString(any_msg.value)
            out.append(msg.cluster_name)
        else:
            kind = {CLUSTER: cluster_pb2.Cluster, LISTENER: listener_pb2.Listener}
            cls = kind.get(resp.type_url, route_pb2.RouteConfiguration)
            out.append(cls.FromString(any_msg.value).name)
    return sorted(out)


def types_of(responses: list) -> list[str]:  # type: ignore[type-arg]
    short = {CLUSTER: "CDS", ENDPOINT: "EDS", LISTENER: "LDS", ROUTE: "RDS"}
    return [short[r.type_url] for r in responses]
