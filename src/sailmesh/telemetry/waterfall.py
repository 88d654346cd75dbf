"""The layout of one trace as a waterfall, shared by the front ends that draw it (pure).

In: one trace as :meth:`sailmesh.telemetry.traces.TraceStore.get_trace` returns it (its
``start_ns``, ``duration_ms`` and ``span_list``), and duration texts people type (``250ms``,
``1.5s``). Out: :func:`layout`, the spans in tree order (each parent directly followed by its
children, children by start time; a span whose parent was not reported starts a tree of its
own) with their depth, their offset from the trace's start and the fraction of the trace's time
axis their bar starts at and covers; :func:`cells`, the same bar on a grid of ``width``
characters (``sailctl traces``); :func:`parse_duration_ms` for the ``--min-duration`` and
``minDuration`` filters. ``sailctl traces`` draws the rows as text, the dashboard as bars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(us|µs|ms|s|m|h)?\s*$")
_UNIT_MS = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3_600_000.0}


def parse_duration_ms(text: str) -> float:
    """``250ms``, ``1.5s``, ``300us``, ``2m``, ``1h`` or a bare number of milliseconds."""
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a duration (e.g. 100ms, 1.5s)")
    return float(found.group(1)) * _UNIT_MS.get(found.group(2) or "ms", 1.0)


@dataclass(frozen=True)
class Row:
    """One span of the waterfall: the span itself (the store's dict) and where it is drawn."""

    span: dict[str, Any]
    depth: int
    #: The index of its parent's row, or None for a root.
    parent: int | None
    children: int
    offset_ms: float
    #: Where the bar starts and how much of the axis it covers, both in [0, 1].
    start: float
    width: float


def _tree_order(spans: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int, int | None]]:
    """Depth-first, children by start time; cycles and unknown parents become roots."""
    ids = {s["span_id"] for s in spans}
    children: dict[str, list[dict[str, Any]]] = {}
    roots = []
    for s in sorted(spans, key=lambda s: (s["start_ns"], s["span_id"])):
        parent = s.get("parent_span_id") or ""
        if parent in ids and parent != s["span_id"]:
            children.setdefault(parent, []).append(s)
        else:
            roots.append(s)
    out: list[tuple[dict[str, Any], int, int | None]] = []
    placed: set[str] = set()

    def visit(span: dict[str, Any], depth: int, parent: int | None) -> None:
        if span["span_id"] in placed:
            return
        placed.add(span["span_id"])
        here = len(out)
        out.append((span, depth, parent))
        for child in children.get(span["span_id"], []):
            visit(child, depth + 1, here)

    for root in roots:
        visit(root, 0, None)
    for s in spans:  # spans in a parent cycle reach no root: show them rather than drop them
        if s["span_id"] not in placed:
            visit(s, 0, None)
    return out


def layout(trace: dict[str, Any]) -> list[Row]:
    """The rows of ``trace``'s waterfall (see the module doc)."""
    ordered = _tree_order(trace["span_list"])
    start = trace["start_ns"]
    total = max(trace["duration_ms"], 1e-6)
    counts = [0] * len(ordered)
    for _, _, parent in ordered:
        if parent is not None:
            counts[parent] += 1
    rows = []
    for (span, depth, parent), children in zip(ordered, counts, strict=True):
        offset = (span["start_ns"] - start) / 1e6
        begin = min(max(offset / total, 0.0), 1.0)
        width = min(span["duration_ms"] / total, 1.0 - begin)
        rows.append(Row(span, depth, parent, children, offset, begin, width))
    return rows


def cells(row: Row, width: int) -> tuple[int, int]:
    """The first cell and the number of cells of ``row``'s bar on a ``width``-cell axis (at
    least one cell, never past the end)."""
    begin = min(int(row.start * width), width - 1)
    length = max(1, round(row.width * width))
    return begin, min(length, width - begin)
