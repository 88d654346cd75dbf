"""The built-in collector's OTLP/gRPC receiver: OpenTelemetry's ``TraceService/Export``, served
on the control plane's ADS gRPC server, where Envoy's OpenTelemetry tracer reaches it with a
``grpc_service`` over the proxies' own ``xds-grpc`` cluster (see :mod:`sailmesh.xds.tracing`),
as Istio's ``opentelemetry`` providers without ``http`` export.

In: ``ExportTraceServiceRequest`` bytes (kept as bytes: no second encoding for the forwarder).
Out: the spans in the control plane's :class:`~sailmesh.telemetry.traces.TraceStore`, the
bytes handed to each of :attr:`OtlpGrpcReceiver.listeners` (the composition root's OTLP
forwarder), an empty ``ExportTraceServiceResponse``; ``INVALID_ARGUMENT`` for bytes that are
not an OTLP export. The OTLP/HTTP receiver (``POST /v1/traces``) lives with the composition
root's agent socket and feeds the same store.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from sailmesh.telemetry.traces import TraceDecodeError, TraceStore

TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
EXPORT_METHOD = "Export"


class OtlpGrpcReceiver:
    """Serves :data:`TRACE_SERVICE` into ``store``; counts the exports it took."""

    def __init__(self, store: TraceStore) -> None:
        self.store = store
        self.listeners: list[Callable[[bytes], None]] = []
        #: Export requests taken over gRPC since the start.
        self.exports = 0

    def services(self) -> dict[str, dict[str, grpc.RpcMethodHandler]]:
        """The gRPC service to serve (no (de)serializers: the handler sees and sends bytes)."""
        return {TRACE_SERVICE: {EXPORT_METHOD: grpc.unary_unary_rpc_method_handler(self.export)}}

    async def export(self, body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        try:
            self.store.ingest(body)
        except TraceDecodeError as e:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        self.exports += 1
        for listener in self.listeners:
            listener(body)
        return b""  # an empty ExportTraceServiceResponse: everything was accepted
