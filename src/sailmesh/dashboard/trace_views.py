"""The Traces page's JSON: recent traces with filters, and one trace laid out as a waterfall
(picking and shaping only).

In: the control plane's trace store (:class:`sailmesh.telemetry.traces.TraceStore`, the one
``sailctl traces`` reads through the API) and the page's query text. Out: trace summaries
(:meth:`~sailmesh.telemetry.traces.TraceStore.list_traces`) with the services a filter can
name, and one trace's rows in tree order with their bar positions
(:func:`sailmesh.telemetry.waterfall.layout`). Bad filters raise ``ValueError`` (the server
answers 400), an unknown trace ``LookupError`` (404).
"""

from __future__ import annotations

import re
from typing import Any

from sailmesh.telemetry.traces import TraceStore
from sailmesh.telemetry.waterfall import layout, parse_duration_ms

MAX_LIMIT = 500
_TRACE_ID = re.compile(r"^[0-9a-fA-F]{32}$")


def _summary(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "traceId": t["trace_id"],
        "startMs": t["start_ns"] / 1e6,
        "durationMs": t["duration_ms"],
        "spans": t["spans"],
        "rootService": t["root_service"],
        "rootOperation": t["root_operation"],
        "services": t["services"],
        "errors": t["errors"],
    }


def _limit(text: str | None) -> int:
    if not text:
        return 20
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {text!r}")
    return int(text)


def traces(
    store: TraceStore, service: str | None, min_duration: str | None, limit: str | None
) -> dict[str, Any]:
    """Recent traces, newest first: those with a span of ``service`` (``productpage`` or, as
    Envoy reports it, ``productpage.default``) lasting at least ``min_duration`` (``100ms``,
    ``1.5s``, or a number of milliseconds)."""
    min_ms = parse_duration_ms(min_duration) if min_duration else None
    count = _limit(limit)
    found = store.list_traces(service or None, min_ms, count)
    return {
        "traces": [_summary(t) for t in found],
        "services": store.services(),
        "filters": {"service": service or "", "minDurationMs": min_ms, "limit": count},
        "store": store.stats(),
    }


def trace(store: TraceStore, trace_id: str) -> dict[str, Any]:
    """One trace: its summary and its spans as waterfall rows (tree order)."""
    if not _TRACE_ID.match(trace_id):
        raise ValueError(f"{trace_id!r} is not a trace id (32 hexadecimal digits)")
    found = store.get_trace(trace_id)
    if found is None:
        raise LookupError(f"no trace {trace_id.lower()} (kept: the {store.max_traces} most recent)")
    return {
        **_summary(found),
        "rows": [
            {
                "spanId": r.span["span_id"],
                "parentSpanId": r.span["parent_span_id"],
                "parent": r.parent,
                "children": r.children,
                "depth": r.depth,
                "service": r.span["service"],
                "operation": r.span["name"],
                "kind": r.span["kind"],
                "offsetMs": r.offset_ms,
                "durationMs": r.span["duration_ms"],
                "start": r.start,
                "width": r.width,
                "error": r.span["error"],
                "tags": r.span["attributes"],
            }
            for r in layout(found)
        ],
    }
