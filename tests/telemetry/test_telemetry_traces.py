"""The trace store: OTLP export requests in, bounded recent traces out as plain dicts."""

from __future__ import annotations

import pytest

from sailmesh.telemetry.traces import TraceDecodeError, TraceStore
from trace_support import export as _export
from trace_support import span as _span


def test_spans_of_several_reports_join_into_one_trace_with_depths() -> None:
    store = TraceStore()
    store.ingest(_export("gateway.istio-system", _span(1, 1, None, 1000, 30, kind=3)))
    store.ingest(_export("reviews.default", _span(1, 3, 2, 1010, 5), _span(1, 2, 1, 1005, 20)))
    (summary,) = store.list_traces()
    assert summary["root_service"] == "gateway.istio-system"
    assert summary["duration_ms"] == 30
    assert summary["services"] == ["gateway.istio-system", "reviews.default"]
    trace = store.get_trace(summary["trace_id"])
    assert trace is not None
    spans = trace["span_list"]
    assert [(s["name"], s["depth"], s["kind"]) for s in spans] == [
        ("op-1", 0, "CLIENT"), ("op-2", 1, "SERVER"), ("op-3", 2, "SERVER")]  # fmt: skip
    assert spans[1]["attributes"] == {"tag": "7"}
    assert store.get_trace("f" * 32) is None


def test_listing_filters_by_service_and_duration_newest_first() -> None:
    store = TraceStore()
    store.ingest(_export("ratings.default", _span(1, 1, None, 1000, 5)))
    store.ingest(_export("reviews.default", _span(2, 1, None, 2000, 50)))
    assert [t["trace_id"][-1] for t in store.list_traces()] == ["2", "1"]
    assert [t["trace_id"][-1] for t in store.list_traces(service="ratings")] == ["1"]
    assert [t["trace_id"][-1] for t in store.list_traces(min_duration_ms=10)] == ["2"]
    assert len(store.list_traces(limit=1)) == 1
    assert store.services() == ["ratings.default", "reviews.default"]


def test_bounds_evict_the_least_recent_traces() -> None:
    store = TraceStore(max_traces=2, max_spans=2)
    for trace in (1, 2, 3):
        store.ingest(_export("s", _span(trace, 1, None, trace * 1000, 1)))
    assert sorted(t["trace_id"][-1] for t in store.list_traces()) == ["2", "3"]
    store.ingest(_export("s", _span(3, 2, 1, 3000, 1), _span(3, 3, 1, 3000, 1)))
    assert store.stats()["dropped"] == 1  # the third span of trace 3
    size = len(_export("s", _span(9, 1, None, 1, 1)))
    small = TraceStore(max_bytes=size * 2)
    for trace in range(1, 6):
        small.ingest(_export("s", _span(trace, 1, None, trace, 1)))
    assert 1 <= small.stats()["traces"] <= 2 and small.stats()["bytes"] <= size * 2


def test_a_body_that_is_not_otlp_is_refused_whole() -> None:
    store = TraceStore()
    with pytest.raises(TraceDecodeError):
        store.ingest(b"\xff\xff\xff")
    assert store.stats()["traces"] == 0
