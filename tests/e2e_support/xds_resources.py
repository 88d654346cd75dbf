"""Hand-built Envoy resources for e2e tests: an HTTP listener using RDS, routes, EDS clusters."""

from __future__ import annotations

from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.core.v3 import config_source_pb2
from envoy.config.endpoint.v3 import endpoint_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf import any_pb2, duration_pb2

from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, ResourceSnapshot


def _ads() -> config_source_pb2.ConfigSource:
    return config_source_pb2.ConfigSource(
        ads=config_source_pb2.AggregatedConfigSource(),
        resource_api_version=config_source_pb2.ApiVersion.V3,
    )


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def http_listener(name: str, port: int, route_name: str) -> listener_pb2.Listener:
    hcm = hcm_pb2.HttpConnectionManager(
        stat_prefix=name,
        rds=hcm_pb2.Rds(config_source=_ads(), route_config_name=route_name),
        http_filters=[
            hcm_pb2.HttpFilter(
                name="envoy.filters.http.router", typed_config=_pack(router_pb2.Router())
            )
        ],
    )
    listener = listener_pb2.Listener(name=name)
    listener.address.socket_address.address = "127.0.0.1"
    listener.address.socket_address.port_value = port
    chain = listener.filter_chains.add()
    chain.filters.add(name="envoy.filters.network.http_connection_manager", typed_config=_pack(hcm))
    return listener


def eds_cluster(name: str, connect_timeout: int = 1) -> cluster_pb2.Cluster:
    cluster = cluster_pb2.Cluster(
        name=name,
        type=cluster_pb2.Cluster.EDS,
        connect_timeout=duration_pb2.Duration(seconds=connect_timeout),
    )
    cluster.eds_cluster_config.eds_config.CopyFrom(_ads())
    return cluster


def endpoints(cluster: str, port: int) -> endpoint_pb2.ClusterLoadAssignment:
    cla = endpoint_pb2.ClusterLoadAssignment(cluster_name=cluster)
    address = cla.endpoints.add().lb_endpoints.add().endpoint.address.socket_address
    address.address = "127.0.0.1"
    address.port_value = port
    return cla


def route_config(name: str, cluster: str, regex: str | None = None) -> route_pb2.RouteConfiguration:
    """Everything to ``cluster``; with ``regex``, matched by that (possibly invalid) regex."""
    rc = route_pb2.RouteConfiguration(name=name)
    vh = rc.virtual_hosts.add(name="all", domains=["*"])
    route = vh.routes.add()
    if regex is None:
        route.match.prefix = "/"
    else:
        route.match.safe_regex.regex = regex
    route.route.cluster = cluster
    return rc


def mesh(
    listener_port: int,
    backends: dict[str, int],
    route_to: str,
    regex: str | None = None,
    timeouts: dict[str, int] | None = None,
) -> ResourceSnapshot:
    """One listener → route ``80`` → cluster ``route_to``; one EDS cluster per backend (name ->
    port), with the connect timeouts in ``timeouts`` (default 1 s)."""
    timeouts = timeouts or {}
    return ResourceSnapshot.build(
        {
            LISTENER: {"http": http_listener("http", listener_port, "80")},
            ROUTE: {"80": route_config("80", route_to, regex)},
            CLUSTER: {name: eds_cluster(name, timeouts.get(name, 1)) for name in backends},
            ENDPOINT: {name: endpoints(name, port) for name, port in backends.items()},
        }
    )
