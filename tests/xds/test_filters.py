"""Network, HTTP and listener filters: HCM, TCP proxy, inspectors."""

from __future__ import annotations

from typing import Any

from envoy.config.route.v3 import route_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2

from sailmesh.telemetry.accesslog import FileLog
from sailmesh.xds import filters
from sailmesh.xds.access_logs import file_access_log


def unpack(filter_: Any, message: Any) -> Any:
    out = message()
    assert filter_.typed_config.Unpack(out)
    return out


def _file_log() -> Any:
    return file_access_log(FileLog("/dev/stdout", "x"))


def test_http_filters_outbound_and_inbound() -> None:
    assert [f.name for f in filters.http_filters(outbound=True)] == [
        "envoy.filters.http.fault",
        "envoy.filters.http.cors",
        "envoy.filters.http.router",
    ]
    assert [f.name for f in filters.http_filters(outbound=False)] == ["envoy.filters.http.router"]


def test_outbound_hcm_uses_rds() -> None:
    found = filters.http_connection_manager("outbound_0.0.0.0_9080", rds_name="9080", outbound=True)
    assert found.name == "envoy.filters.network.http_connection_manager"
    hcm = unpack(found, hcm_pb2.HttpConnectionManager)
    assert hcm.stat_prefix == "outbound_0.0.0.0_9080"
    assert hcm.rds.route_config_name == "9080"
    assert hcm.rds.config_source.HasField("ads")
    assert hcm.normalize_path.value is True and hcm.use_remote_address.value is False
    assert [u.upgrade_type for u in hcm.upgrade_configs] == ["websocket"]
    assert hcm.stream_idle_timeout.seconds == 0
    assert hcm.server_name == "" and hcm.forward_client_cert_details == 0
    assert not hcm.HasField("route_config")


def test_inbound_hcm_has_an_inline_route_config_and_forwards_client_certs() -> None:
    routes = route_pb2.RouteConfiguration(name="inbound|9080||")
    logs = [_file_log()]
    found = filters.http_connection_manager(
        "inbound_0.0.0.0_9080", route_config=routes, outbound=False, logs=logs
    )
    hcm = unpack(found, hcm_pb2.HttpConnectionManager)
    assert hcm.route_config.name == "inbound|9080||" and not hcm.HasField("rds")
    assert hcm.forward_client_cert_details == hcm_pb2.HttpConnectionManager.APPEND_FORWARD
    assert hcm.server_name == "istio-envoy"
    assert len(hcm.access_log) == 1


def test_tcp_proxy_single_and_weighted() -> None:
    single = unpack(filters.tcp_proxy("s", "outbound|3306||db"), tcp_proxy_pb2.TcpProxy)
    assert (single.stat_prefix, single.cluster) == ("s", "outbound|3306||db")
    one = unpack(filters.tcp_proxy("s", "ignored", weighted=[("a", 100)]), tcp_proxy_pb2.TcpProxy)
    assert one.cluster == "a" and not one.HasField("weighted_clusters")
    split = unpack(filters.tcp_proxy("s", weighted=[("a", 90), ("b", 0)]), tcp_proxy_pb2.TcpProxy)
    assert [(c.name, c.weight) for c in split.weighted_clusters.clusters] == [("a", 90), ("b", 1)]
    assert unpack(filters.tcp_proxy("s"), tcp_proxy_pb2.TcpProxy).cluster == ""


def test_listener_filters() -> None:
    assert filters.original_dst_filter().name == "envoy.filters.listener.original_dst"
    assert filters.http_inspector().name == "envoy.filters.listener.http_inspector"
    assert filters.tls_inspector().name == "envoy.filters.listener.tls_inspector"
    assert filters.tls_inspector().typed_config.type_url.endswith("TlsInspector")
