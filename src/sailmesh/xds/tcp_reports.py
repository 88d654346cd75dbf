"""TCP bytes reported while connections are open (Telemetry ``metrics[*].reportingInterval``).

In: the listener's :class:`~sailmesh.telemetry.raw.Emission` and the proxy's reporting
interval. Out: a gRPC access logger (``envoy.access_loggers.tcp_grpc``) that sends the TCP
proxy's periodic and end-of-connection logs to the control plane's ledger (see
:mod:`sailmesh.telemetry.tcp_periodic` for why Envoy cannot count these bytes itself): over
the proxy's own ``xds-grpc`` cluster, as the OpenTelemetry tracer does, with the raw tags the
stats loggers would set as custom tags and the interval as the buffer's flush interval;
:func:`flush_interval` reads that interval back for the TCP proxy's
``access_log_flush_interval``.
"""

from __future__ import annotations

from collections.abc import Iterable

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.core.v3 import config_source_pb2, grpc_service_pb2
from envoy.extensions.access_loggers.grpc.v3 import als_pb2
from envoy.type.tracing.v3 import custom_tag_pb2

from sailmesh.telemetry import raw, standard
from sailmesh.telemetry.tcp_periodic import log_name
from sailmesh.xds import pb
from sailmesh.xds.bootstrap import XDS_CLUSTER
from sailmesh.xds.stats import log_type_filter

TCP_GRPC_ACCESS_LOG = "envoy.access_loggers.tcp_grpc"


def periodic_logger(emission: raw.Emission, interval_s: float) -> accesslog_pb2.AccessLog:
    tags = [
        custom_tag_pb2.CustomTag(tag=name, value=value)
        for name, value in emission.tags_for(standard.TCP_SENT, http=False)
    ]
    common = als_pb2.CommonGrpcAccessLogConfig(
        log_name=log_name(emission.reporter, emission.service),
        grpc_service=grpc_service_pb2.GrpcService(
            envoy_grpc=grpc_service_pb2.GrpcService.EnvoyGrpc(cluster_name=XDS_CLUSTER)
        ),
        transport_api_version=config_source_pb2.V3,
        buffer_flush_interval=pb.seconds(interval_s),
        custom_tags=tags,
    )
    config = als_pb2.TcpGrpcAccessLogConfig(common_config=common)
    log = accesslog_pb2.AccessLog(name=TCP_GRPC_ACCESS_LOG, typed_config=pb.pack(config))
    log.filter.CopyFrom(log_type_filter((raw.TCP_PERIODIC_LOG, raw.TCP_END_LOG)))
    return log


def flush_interval(logs: Iterable[accesslog_pb2.AccessLog]) -> float | None:
    """The reporting interval of the periodic logger among ``logs`` (None: there is none)."""
    for log in logs:
        if log.name == TCP_GRPC_ACCESS_LOG:
            config = als_pb2.TcpGrpcAccessLogConfig()
            log.typed_config.Unpack(config)
            interval = config.common_config.buffer_flush_interval
            return float(interval.seconds + interval.nanos / 1e9)
    return None
