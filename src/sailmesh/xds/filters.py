"""Network, HTTP and listener filters, each with its ``typed_config`` (Envoy rejects bare names).

- HTTP connection manager (RDS over ADS, or an inline route config), with the HTTP filter
  chain Istio's sidecars use for routing features: fault -> CORS -> (gRPC statistics, when
  the loggers count gRPC messages) -> router;
- TCP proxy to one cluster or weighted clusters;
- listener filters: original destination, HTTP inspector (protocol sniffing), TLS inspector;
- access logs are handed in (:mod:`sailmesh.xds.reporting` builds them).
"""

from __future__ import annotations

from collections.abc import Sequence

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.listener.v3 import listener_components_pb2 as lc_pb2
from envoy.config.route.v3 import route_pb2 as rc_pb2
from envoy.extensions.filters.http.cors.v3 import cors_pb2
from envoy.extensions.filters.http.fault.v3 import fault_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2
from envoy.extensions.filters.listener.http_inspector.v3 import http_inspector_pb2
from envoy.extensions.filters.listener.original_dst.v3 import original_dst_pb2
from envoy.extensions.filters.listener.tls_inspector.v3 import tls_inspector_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2

from sailmesh.xds import pb
from sailmesh.xds.route_actions import CORS_FILTER, FAULT_FILTER
from sailmesh.xds.stats import counts_grpc_messages, grpc_stats_filter, logs_on_connect
from sailmesh.xds.tcp_reports import flush_interval
from sailmesh.xds.tracing import HcmTracing

HCM = "envoy.filters.network.http_connection_manager"
TCP_PROXY = "envoy.filters.network.tcp_proxy"
ROUTER = "envoy.filters.http.router"
ORIGINAL_DST = "envoy.filters.listener.original_dst"
HTTP_INSPECTOR = "envoy.filters.listener.http_inspector"
TLS_INSPECTOR = "envoy.filters.listener.tls_inspector"
#: ALPN values the HTTP inspector reports; filter chains for sniffed HTTP match on these.
SNIFFED_HTTP_PROTOCOLS = ("http/1.1", "h2c")


def http_filters(
    outbound: bool, security: Sequence[hcm_pb2.HttpFilter] = (), grpc_messages: bool = False
) -> list[hcm_pb2.HttpFilter]:
    """``security`` (authentication and authorization, :mod:`sailmesh.xds.request_security`),
    fault + CORS (outbound, where VirtualService features apply), the gRPC statistics filter
    (``grpc_messages``; last before the router, where Istio's stats filter sits: a stream
    denied or answered locally carries no messages to count) and the router."""
    filters: list[hcm_pb2.HttpFilter] = list(security)
    if outbound:
        filters.append(
            hcm_pb2.HttpFilter(name=FAULT_FILTER, typed_config=pb.pack(fault_pb2.HTTPFault()))
        )
        filters.append(hcm_pb2.HttpFilter(name=CORS_FILTER, typed_config=pb.pack(cors_pb2.Cors())))
    if grpc_messages:
        filters.append(grpc_stats_filter())
    filters.append(hcm_pb2.HttpFilter(name=ROUTER, typed_config=pb.pack(router_pb2.Router())))
    return filters


def http_connection_manager(
    stat_prefix: str,
    *,
    rds_name: str | None = None,
    route_config: rc_pb2.RouteConfiguration | None = None,
    outbound: bool,
    logs: Sequence[accesslog_pb2.AccessLog] = (),
    security: Sequence[hcm_pb2.HttpFilter] = (),
    tracing: HcmTracing | None = None,
) -> lc_pb2.Filter:
    """An HCM network filter using RDS ``rds_name`` or the inline ``route_config``, with the
    ``security`` HTTP filters first and ``tracing``'s tracer."""
    hcm = hcm_pb2.HttpConnectionManager(
        stat_prefix=stat_prefix,
        http_filters=http_filters(outbound, security, counts_grpc_messages(logs)),
        access_log=list(logs),
        normalize_path=pb.bool_value(True),
        path_with_escaped_slashes_action=hcm_pb2.HttpConnectionManager.KEEP_UNCHANGED,
        upgrade_configs=[hcm_pb2.HttpConnectionManager.UpgradeConfig(upgrade_type="websocket")],
        stream_idle_timeout=pb.duration(0),
        use_remote_address=pb.bool_value(False),
    )
    if tracing is not None:
        tracing.apply(hcm)
    if rds_name is not None:
        hcm.rds.CopyFrom(hcm_pb2.Rds(config_source=pb.ads_source(), route_config_name=rds_name))
    elif route_config is not None:
        hcm.route_config.CopyFrom(route_config)
    if not outbound:
        # Istio's inbound: the client certificate's details go to the app in XFCC.
        hcm.forward_client_cert_details = hcm_pb2.HttpConnectionManager.APPEND_FORWARD
        details = hcm.set_current_client_cert_details
        details.subject.value = True
        details.uri = True
        details.dns = True
        hcm.server_name = "istio-envoy"
    return lc_pb2.Filter(name=HCM, typed_config=pb.pack(hcm))


def tcp_proxy(
    stat_prefix: str,
    cluster: str | None = None,
    weighted: Sequence[tuple[str, int]] = (),
    logs: Sequence[accesslog_pb2.AccessLog] = (),
    tunnel: tcp_proxy_pb2.TcpProxy.TunnelingConfig | None = None,
) -> lc_pb2.Filter:
    """A TCP proxy to ``cluster``, or to weighted ``(cluster, weight)`` pairs, optionally
    tunnelling over HTTP (``tunnel``). When one of ``logs`` filters on the upstream-connected
    log type, the proxy logs at that moment too; when one reports TCP bytes periodically, the
    proxy logs at its interval while open."""
    proxy = tcp_proxy_pb2.TcpProxy(stat_prefix=stat_prefix, access_log=list(logs))
    if tunnel is not None:
        proxy.tunneling_config.CopyFrom(tunnel)
    if logs_on_connect(logs):
        proxy.access_log_options.flush_access_log_on_connected = True
    if (interval := flush_interval(logs)) is not None:
        proxy.access_log_options.access_log_flush_interval.CopyFrom(pb.seconds(interval))
    if len(weighted) > 1:
        for name, weight in weighted:
            proxy.weighted_clusters.clusters.add(name=name, weight=max(weight, 1))
    else:
        proxy.cluster = weighted[0][0] if weighted else (cluster or "")
    return lc_pb2.Filter(name=TCP_PROXY, typed_config=pb.pack(proxy))


def original_dst_filter() -> lc_pb2.ListenerFilter:
    return lc_pb2.ListenerFilter(
        name=ORIGINAL_DST, typed_config=pb.pack(original_dst_pb2.OriginalDst())
    )


def http_inspector() -> lc_pb2.ListenerFilter:
    return lc_pb2.ListenerFilter(
        name=HTTP_INSPECTOR, typed_config=pb.pack(http_inspector_pb2.HttpInspector())
    )


def tls_inspector() -> lc_pb2.ListenerFilter:
    return lc_pb2.ListenerFilter(
        name=TLS_INSPECTOR, typed_config=pb.pack(tls_inspector_pb2.TlsInspector())
    )
