"""A trace's waterfall layout: tree order, depths, bar positions on the trace's time axis,
spans whose parent never arrived, and the duration texts the filters take."""

from __future__ import annotations

import pytest

from sailmesh.telemetry.traces import TraceStore
from sailmesh.telemetry.waterfall import cells, layout, parse_duration_ms
from trace_support import CLIENT, export, span


def test_durations() -> None:
    assert parse_duration_ms("250ms") == 250
    assert parse_duration_ms("1.5s") == 1500
    assert parse_duration_ms(" 300us ") == 0.3
    assert parse_duration_ms("2m") == 120_000
    assert parse_duration_ms("12") == 12
    with pytest.raises(ValueError, match="'soon' is not a duration"):
        parse_duration_ms("soon")


def _trace(store: TraceStore) -> dict[str, object]:
    (summary,) = store.list_traces()
    found = store.get_trace(summary["trace_id"])
    assert found is not None
    return found


def test_children_follow_their_parent_in_start_order_with_their_bars() -> None:
    store = TraceStore()
    # gateway (0-100ms) -> productpage (10-90) -> details (20-30) and reviews (40-80) ->
    # ratings (50-60); details' server span starts before reviews' but ratings starts
    # between them in time: start order would split reviews from its child.
    store.ingest(export("gw", span(1, 1, None, 0, 100, kind=CLIENT)))
    store.ingest(export("productpage", span(1, 2, 1, 10, 80)))
    store.ingest(export("reviews", span(1, 4, 2, 40, 40), span(1, 5, 4, 50, 10, error=True)))
    store.ingest(export("details", span(1, 3, 2, 20, 10)))
    rows = layout(_trace(store))
    assert [(r.span["name"], r.depth, r.parent, r.children) for r in rows] == [
        ("op-1", 0, None, 1), ("op-2", 1, 0, 2), ("op-3", 2, 1, 0), ("op-4", 2, 1, 1),
        ("op-5", 3, 3, 0)]  # fmt: skip
    assert [(r.offset_ms, r.start, r.width) for r in rows] == [
        (0, 0, 1), (10, 0.1, 0.8), (20, 0.2, 0.1), (40, 0.4, 0.4), (50, 0.5, 0.1)]  # fmt: skip
    assert [r.span["error"] for r in rows] == [False, False, False, False, True]
    assert [cells(r, 40) for r in rows] == [(0, 40), (4, 32), (8, 4), (16, 16), (20, 4)]


def test_a_span_whose_parent_never_arrived_starts_its_own_tree() -> None:
    store = TraceStore()
    store.ingest(export("a", span(1, 1, None, 0, 10), span(1, 2, 9, 5, 1), span(1, 3, 2, 6, 0)))
    rows = layout(_trace(store))
    assert [(r.span["name"], r.depth, r.parent) for r in rows] == [
        ("op-1", 0, None), ("op-2", 0, None), ("op-3", 1, 1)]  # fmt: skip
    assert cells(rows[2], 40) == (24, 1)  # a zero-length span still shows one cell
