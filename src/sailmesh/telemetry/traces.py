"""The control plane's trace store: OTLP spans in, recent traces out (pure, thread-safe).

In: OTLP ``ExportTraceServiceRequest`` messages (protobuf bytes, as Envoy's OpenTelemetry
tracer posts them to ``/v1/traces``, see :mod:`sailmesh.xds.tracing`; decoded with the OTLP
protos ``xds-protos`` ships, which are wire compatible with today's OTLP). Out: plain dicts for
front ends (the CLI's ``sailctl traces``, the dashboard): :meth:`TraceStore.list_traces`
(summaries, newest first, filtered by service and minimum duration),
:meth:`TraceStore.get_trace` (every span, in start order, with its depth in the tree) and
:meth:`TraceStore.services` (the services the kept spans name, for filters). The waterfall's
layout is :mod:`sailmesh.telemetry.waterfall`'s.

Bounds: at most ``max_traces`` traces, ``max_spans`` spans per trace and about ``max_bytes``
bytes of span data (the encoded size of each span); the least recently updated traces go
first. A malformed request is refused whole (:class:`TraceDecodeError`), nothing is kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from sailmesh.errors import SailmeshError

MAX_TRACES = 2000
MAX_SPANS = 500
MAX_BYTES = 16 * 1024 * 1024
_KINDS = {
    trace_pb2.Span.SPAN_KIND_INTERNAL: "INTERNAL",
    trace_pb2.Span.SPAN_KIND_SERVER: "SERVER",
    trace_pb2.Span.SPAN_KIND_CLIENT: "CLIENT",
    trace_pb2.Span.SPAN_KIND_PRODUCER: "PRODUCER",
    trace_pb2.Span.SPAN_KIND_CONSUMER: "CONSUMER",
}


class TraceDecodeError(SailmeshError, ValueError):
    """A body that is not an OTLP ``ExportTraceServiceRequest``."""


def _value(value: common_pb2.AnyValue) -> str:
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    found = getattr(value, kind)
    if kind in ("array_value", "kvlist_value"):
        return str(found).replace("\n", " ").strip()
    if kind == "bytes_value":
        return bytes(found).hex()
    return str(found).lower() if kind == "bool_value" else str(found)


def _attributes(items: Iterable[common_pb2.KeyValue]) -> dict[str, str]:
    return {kv.key: _value(kv.value) for kv in items}


def _span(span: trace_pb2.Span, service: str) -> dict[str, Any]:
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    return {
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex(),
        "service": service,
        "name": span.name,
        "kind": _KINDS.get(span.kind, "UNSPECIFIED"),
        "start_ns": start,
        "end_ns": max(end, start),
        "duration_ms": max(end - start, 0) / 1e6,
        "attributes": _attributes(span.attributes),
        "error": span.status.code == trace_pb2.Status.STATUS_CODE_ERROR,
    }


def _scope_spans(resource_spans: Any) -> Any:
    """``scope_spans`` (field 2); the OTLP protos ``xds-protos`` ships are older and call the
    same field ``instrumentation_library_spans`` (same number and shape on the wire)."""
    found = getattr(resource_spans, "scope_spans", None)
    return found if found is not None else resource_spans.instrumentation_library_spans


def decode(body: bytes) -> list[tuple[dict[str, Any], int]]:
    """The spans of an OTLP export request, each with its encoded size."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as e:
        raise TraceDecodeError(f"not an OTLP trace export request: {e}") from None
    out = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = resource.get("service.name", "unknown")
        for scope_spans in _scope_spans(resource_spans):
            for span in scope_spans.spans:
                if len(span.trace_id) == 16 and len(span.span_id) == 8:
                    out.append((_span(span, service), span.ByteSize()))
    return out


@dataclass
class _Trace:
    spans: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0

    def summary(self, trace_id: str) -> dict[str, Any]:
        start = min(s["start_ns"] for s in self.spans)
        end = max(s["end_ns"] for s in self.spans)
        root = _root(self.spans)
        return {
            "trace_id": trace_id,
            "start_ns": start,
            "duration_ms": (end - start) / 1e6,
            "spans": len(self.spans),
            "root_service": root["service"],
            "root_operation": root["name"],
            "services": sorted({s["service"] for s in self.spans}),
            "errors": sum(1 for s in self.spans if s["error"]),
        }


def _root(spans: list[dict[str, Any]]) -> dict[str, Any]:
    ids = {s["span_id"] for s in spans}
    roots = [s for s in spans if s["parent_span_id"] not in ids] or spans
    return min(roots, key=lambda s: s["start_ns"])


def _with_depth(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {s["span_id"]: s for s in spans}

    def depth(span: dict[str, Any]) -> int:
        seen: set[str] = set()
        d, parent = 0, span["parent_span_id"]
        while parent in by_id and parent not in seen:
            seen.add(parent)
            d, parent = d + 1, by_id[parent]["parent_span_id"]
        return d

    ordered = sorted(spans, key=lambda s: (s["start_ns"], depth(s)))
    return [{**s, "depth": depth(s)} for s in ordered]


class TraceStore:
    """Recent traces in memory (see the module doc for the bounds)."""

    def __init__(
        self, max_traces: int = MAX_TRACES, max_bytes: int = MAX_BYTES, max_spans: int = MAX_SPANS
    ) -> None:
        self.max_traces = max_traces
        self.max_bytes = max_bytes
        self.max_spans = max_spans
        self._traces: OrderedDict[str, _Trace] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        #: Spans taken and spans dropped (a full trace) since the start.
        self.accepted = 0
        self.dropped = 0

    def ingest(self, body: bytes) -> int:
        """Keep the spans of an OTLP export request; returns how many were kept."""
        spans = decode(body)
        kept = 0
        with self._lock:
            for span, size in spans:
                trace = self._traces.get(span["trace_id"])
                if trace is None:
                    trace = self._traces[span["trace_id"]] = _Trace()
                self._traces.move_to_end(span["trace_id"])
                if len(trace.spans) >= self.max_spans:
                    self.dropped += 1
                    continue
                trace.spans.append(span)
                trace.size += size
                self._size += size
                kept += 1
            self.accepted += kept
            self._evict()
        return kept

    def _evict(self) -> None:
        while self._traces and (len(self._traces) > self.max_traces or self._size > self.max_bytes):
            _, oldest = self._traces.popitem(last=False)
            self._size -= oldest.size

    def list_traces(
        self, service: str | None = None, min_duration_ms: float | None = None, limit: int = 20
    ) -> list[dict[str, Any]]:
        """Summaries of the traces, newest first: those with a span of ``service`` (its name,
        or ``name.namespace`` as Envoy reports it) lasting at least ``min_duration_ms``."""
        with self._lock:
            items = [(tid, t.summary(tid)) for tid, t in self._traces.items()]
        out = []
        for _, summary in sorted(items, key=lambda item: -item[1]["start_ns"]):
            if service and not any(_service_matches(s, service) for s in summary["services"]):
                continue
            if min_duration_ms is not None and summary["duration_ms"] < min_duration_ms:
                continue
            out.append(summary)
            if len(out) >= limit:
                break
        return out

    def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        """One trace: its summary and its spans (start order, each with ``depth``)."""
        with self._lock:
            trace = self._traces.get(trace_id.lower())
            if trace is None:
                return None
            summary = trace.summary(trace_id.lower())
            spans = list(trace.spans)
        return {**summary, "span_list": _with_depth(spans)}

    def services(self) -> list[str]:
        """Every service (as its spans report it) of the traces the store holds."""
        with self._lock:
            return sorted({s["service"] for t in self._traces.values() for s in t.spans})

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"traces": len(self._traces), "bytes": self._size,
                    "accepted": self.accepted, "dropped": self.dropped}  # fmt: skip


def _service_matches(reported: str, wanted: str) -> bool:
    return reported == wanted or reported.split(".", 1)[0] == wanted
