"""OTLP trace export requests for tests of the trace store and the front ends that read it: the
protobuf bytes Envoy's OpenTelemetry tracer posts, built from a few numbers."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from sailmesh.telemetry.traces import _scope_spans

MS = 1_000_000
SERVER, CLIENT = 2, 3


def export(service: str, *spans: trace_pb2.Span) -> bytes:
    """One export request: ``spans`` reported by ``service`` (its ``service.name``)."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    attr = resource_spans.resource.attributes.add(key="service.name")
    attr.value.string_value = service
    _scope_spans(resource_spans).add().spans.extend(spans)
    return request.SerializeToString()


def span(
    trace: int,
    span_id: int,
    parent: int | None,
    start_ms: int,
    dur_ms: int,
    kind: int = SERVER,
    error: bool = False,
) -> trace_pb2.Span:
    """Span ``span_id`` of trace ``trace``, named ``op-<span_id>``, tagged ``tag=7``."""
    out = trace_pb2.Span(
        trace_id=trace.to_bytes(16, "big"),
        span_id=span_id.to_bytes(8, "big"),
        parent_span_id=parent.to_bytes(8, "big") if parent else b"",
        name=f"op-{span_id}",
        kind=kind,  # type: ignore[arg-type]
        start_time_unix_nano=start_ms * MS,
        end_time_unix_nano=(start_ms + dur_ms) * MS,
    )
    out.attributes.append(common_pb2.KeyValue(key="tag", value=common_pb2.AnyValue(int_value=7)))
    if error:
        out.status.code = trace_pb2.Status.STATUS_CODE_ERROR
    return out
