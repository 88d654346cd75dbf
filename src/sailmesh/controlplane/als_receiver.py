"""The control plane's gRPC access-log receiver (``AccessLogService/StreamAccessLogs``), served
on the ADS server next to the OTLP one: the TCP proxies of proxies with a Telemetry
``reportingInterval`` send their periodic and end-of-connection logs here
(:mod:`sailmesh.xds.tcp_reports`).

In: ``StreamAccessLogsMessage`` streams (the first message names the node and the logger's
``log_name``). Out: one :class:`~sailmesh.telemetry.tcp_periodic.TcpReport` per TCP entry of a
periodic logger into the :class:`~sailmesh.telemetry.tcp_periodic.TcpByteLedger`; entries of
other loggers and HTTP entries are ignored. The raw tags are the logger's custom tags (the
same format strings the stats loggers use), the bytes the downstream wire meters (cumulative).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from envoy.data.accesslog.v3 import accesslog_pb2
from envoy.service.accesslog.v3 import als_pb2

from sailmesh.telemetry import raw
from sailmesh.telemetry.tcp_periodic import TcpByteLedger, TcpReport, parse_log_name

ACCESS_LOG_SERVICE = "envoy.service.accesslog.v3.AccessLogService"
STREAM_METHOD = "StreamAccessLogs"
_END = accesslog_pb2.AccessLogType.Value(raw.TCP_END_LOG)


def report(node_id: str, entry: accesslog_pb2.TCPAccessLogEntry) -> TcpReport:
    common = entry.common_properties
    address = common.downstream_remote_address.socket_address
    connection = f"{common.stream_id}|{address.address}:{address.port_value}"
    connection += f"|{common.start_time.ToNanoseconds()}"
    return TcpReport(
        node_id=node_id,
        connection=connection,
        tags=tuple(sorted(common.custom_tags.items())),
        sent=common.downstream_wire_bytes_sent,
        received=common.downstream_wire_bytes_received,
        ended=common.access_log_type == _END,
    )


class AccessLogReceiver:
    """Serves :data:`ACCESS_LOG_SERVICE` into ``ledger``."""

    def __init__(self, ledger: TcpByteLedger) -> None:
        self.ledger = ledger

    def services(self) -> dict[str, dict[str, grpc.RpcMethodHandler]]:
        handler = grpc.stream_unary_rpc_method_handler(
            self.stream,
            request_deserializer=als_pb2.StreamAccessLogsMessage.FromString,
            response_serializer=als_pb2.StreamAccessLogsResponse.SerializeToString,
        )
        return {ACCESS_LOG_SERVICE: {STREAM_METHOD: handler}}

    async def stream(
        self,
        messages: AsyncIterator[als_pb2.StreamAccessLogsMessage],
        context: grpc.aio.ServicerContext,
    ) -> als_pb2.StreamAccessLogsResponse:
        node_id, periodic = "", False
        async for message in messages:
            if message.HasField("identifier"):
                node_id = message.identifier.node.id
                periodic = parse_log_name(message.identifier.log_name) is not None
            if not periodic:
                continue
            for entry in message.tcp_logs.log_entry:
                self.ledger.record(report(node_id, entry))
        return als_pb2.StreamAccessLogsResponse()
