"""``sailctl traces``' formatting: durations it takes and the waterfall it draws."""

from __future__ import annotations

import click
import pytest

from sailmesh.cli.traces import duration_ms, waterfall

MS = 1_000_000


def test_durations() -> None:
    assert duration_ms("250ms") == 250
    assert duration_ms("1.5s") == 1500
    assert duration_ms("300us") == 0.3
    assert duration_ms("2m") == 120_000
    assert duration_ms("12") == 12
    with pytest.raises(click.BadParameter):
        duration_ms("soon")


def _span(service: str, kind: str, depth: int, start_ms: float, dur_ms: float) -> dict[str, object]:
    return {"service": service, "name": f"{service}:9080/*", "kind": kind, "depth": depth,
            "span_id": f"{depth + 1:016x}", "parent_span_id": f"{depth:016x}" if depth else "",
            "start_ns": int(start_ms * MS), "duration_ms": dur_ms, "error": False}  # fmt: skip


def test_waterfall_puts_each_span_on_a_shared_time_axis() -> None:
    trace = {
        "trace_id": "ab" * 16, "start_ns": 0, "duration_ms": 40.0, "spans": 3,
        "services": ["gw", "reviews"],
        "span_list": [_span("gw", "CLIENT", 0, 0, 40), _span("reviews", "SERVER", 1, 10, 20),
                      _span("reviews", "CLIENT", 2, 20, 5)],
    }  # fmt: skip
    lines = waterfall(trace, width=40)
    assert lines[0].startswith(f"trace {'ab' * 16}  40.00ms  3 spans")
    gw, server, client = lines[2:]
    assert gw.startswith("gw ") and "█" * 40 in gw and gw.endswith("40.00ms @+0.00ms")
    assert server.startswith("  reviews") and " " * 10 + "█" * 20 + " " * 10 in server
    assert client.startswith("    reviews") and " " * 20 + "█" * 5 + " " * 15 in client
    assert "server" in server and "client" in client
