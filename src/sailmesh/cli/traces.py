"""``sailctl traces``: the recent traces the control plane's collector holds, and one of them
as a waterfall.

In: the control-plane API's ``GET /v1/traces`` (summaries, or one trace's spans). Out: a table
(trace id, start, duration, spans, root service and operation, services) or, for one trace,
one line per span: its service, operation, kind, an offset bar on a shared time axis, and its
duration; children are indented under their parent (the layout, shared with the dashboard, is
:mod:`sailmesh.telemetry.waterfall`'s).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import click

from sailmesh.cli.client import call, fail_on_error, socket_option
from sailmesh.cli.tables import print_table
from sailmesh.telemetry.waterfall import cells, layout, parse_duration_ms

BAR_WIDTH = 40


def duration_ms(text: str) -> float:
    """``250ms``, ``1.5s``, ``300us``, ``2m``, ``1h`` or a bare number of milliseconds."""
    try:
        return parse_duration_ms(text)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _ms(value: float) -> str:
    return f"{value:.2f}ms" if value < 1000 else f"{value / 1000:.2f}s"


def waterfall(trace: dict[str, Any], width: int = BAR_WIDTH) -> list[str]:
    """The lines of one trace's waterfall (see the module doc)."""
    rows = layout(trace)
    total = max(trace["duration_ms"], 1e-6)
    labels = [
        ("  " * r.depth + r.span["service"], r.span["name"] or "-", r.span["kind"].lower())
        for r in rows
    ]
    w_service = max(len("SERVICE"), *(len(a) for a, _, _ in labels))
    w_op = min(max(len("OPERATION"), *(len(b) for _, b, _ in labels)), 48)
    lines = [
        f"trace {trace['trace_id']}  {_ms(trace['duration_ms'])}  {trace['spans']} spans  "
        f"services: {', '.join(trace['services'])}",
        f"{'SERVICE'.ljust(w_service)}  {'OPERATION'.ljust(w_op)}  {'KIND'.ljust(6)}  "
        f"{'0'.ljust(width // 2)}{_ms(total).rjust(width - width // 2)}  DURATION",
    ]
    for row, (service, op, kind) in zip(rows, labels, strict=True):
        begin, length = cells(row, width)
        bar = (" " * begin + "█" * length).ljust(width)
        mark = " !" if row.span["error"] else ""
        lines.append(
            f"{service.ljust(w_service)}  {op[:w_op].ljust(w_op)}  {kind.ljust(6)}  "
            f"{bar}  {_ms(row.span['duration_ms'])} @+{_ms(row.offset_ms)}{mark}"
        )
    return lines


def _summary_rows(traces: list[dict[str, Any]]) -> list[list[object]]:
    return [
        [
            t["trace_id"],
            time.strftime("%H:%M:%S", time.localtime(t["start_ns"] / 1e9)),
            _ms(t["duration_ms"]),
            t["spans"],
            t["root_service"],
            t["root_operation"][:40],
            ",".join(t["services"]),
        ]
        for t in traces
    ]


@click.command()
@click.argument("trace_id", required=False)
@click.option("--service", default=None, help="Only traces with a span of this service.")
@click.option(
    "--min-duration", default=None, metavar="DURATION",
    help="Only traces lasting at least this long (e.g. 100ms, 1.5s).",
)  # fmt: skip
@click.option("-n", "limit", default=20, show_default=True, help="How many traces to list.")
@socket_option
def traces(
    trace_id: str | None,
    service: str | None,
    min_duration: str | None,
    limit: int,
    socket_path: Path | None,
) -> None:
    """List the recent traces the mesh's proxies reported, or show TRACE_ID as a waterfall."""
    if trace_id:
        status, body = call(socket_path, "GET", "/v1/traces?" + urlencode({"trace_id": trace_id}))
        fail_on_error(status, body)
        for line in waterfall(body["trace"]):
            click.echo(line)
        return
    query: dict[str, str] = {"limit": str(limit)}
    if service:
        query["service"] = service
    if min_duration:
        query["min_duration_ms"] = str(duration_ms(min_duration))
    status, body = call(socket_path, "GET", "/v1/traces?" + urlencode(query))
    fail_on_error(status, body)
    if not body["traces"]:
        click.echo("no traces (sampling is 1% by default: see meshConfig.defaultConfig.tracing"
                   ".sampling and Telemetry tracing.randomSamplingPercentage)")  # fmt: skip
        return
    headers = ["TRACE ID", "START", "DURATION", "SPANS", "ROOT", "OPERATION", "SERVICES"]
    print_table(headers, _summary_rows(body["traces"]))
