"""``sailctl explain``: why requests failed, from access-log lines of the running mesh.

Reads an access-log line (argument or ``-`` for stdin), a code and flags (``--code 503
--flags UO``), or the recent failed requests in a pod's sidecar log (``--from-logs POD``),
and prints for each Envoy response flag its meaning, the cause and the config knob (object
and field path) with the fix (see :mod:`sailmesh.xds.explain`).
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import click

from sailmesh.cli.client import call, fail_on_error, socket_option
from sailmesh.cli.meshview import mesh_view

PROXY_CONTAINER = "istio-proxy"


def _failed(entry: Any, everything: bool) -> bool:
    return everything or bool(entry.flags) or entry.code >= 400 or entry.code == 0


def _recent(path: Path, last: int, everything: bool) -> list[tuple[Any, int]]:
    """The last ``last`` access-log lines of a sidecar log, failed ones (or all), grouped."""
    from sailmesh.xds.explain import parse_line

    text = path.read_text(errors="replace") if path.exists() else ""
    entries = [e for e in map(parse_line, text.splitlines()) if e is not None][-last:]
    groups: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()
    for e in entries:
        if not _failed(e, everything):
            continue
        key = (e.code, e.flags, e.method, e.path, e.authority, e.cluster, e.route, e.details)
        _, count = groups.pop(key, (e, 0))
        groups[key] = (e, count + 1)
    return list(groups.values())


@click.command()
@click.argument("line", required=False)
@click.option("--code", type=int, default=None, help="Response code, with --flags.")
@click.option("--flags", default=None, help="Envoy response flags, e.g. UO or UF,URX.")
@click.option("--host", "authority", default="", help="With --code: the request's host[:port].")
@click.option("--cluster", default="", help="With --code: the upstream cluster name.")
@click.option(
    "--from-logs", "pod", default=None, metavar="POD", help="Explain POD's recent failures."
)
@click.option("--last", type=int, default=200, show_default=True, help="Access-log lines to read.")
@click.option("--all", "everything", is_flag=True, help="Also requests that succeeded.")
@click.option(
    "-n", "--namespace", default="default", show_default=True, help="The caller's namespace."
)
@socket_option
def explain(
    line: str | None,
    code: int | None,
    flags: str | None,
    authority: str,
    cluster: str,
    pod: str | None,
    last: int,
    everything: bool,
    namespace: str,
    socket_path: Path | None,
) -> None:
    """Explain why requests failed: the cause of each Envoy response flag (UO, NR, UH, UF, URX,
    UT, FI, NC, DC, ...) and the config knob behind it, from an access-log LINE ('-': stdin),
    --code/--flags, or --from-logs POD."""
    from sailmesh.xds.explain import explain as explain_entry
    from sailmesh.xds.explain import from_code, parse_line, render

    if sum(x is not None for x in (line, pod, code)) != 1:
        raise click.UsageError(
            "give one of: an access-log LINE, --code with --flags, --from-logs POD"
        )
    view = mesh_view(socket_path)
    proxy_pod, gateway = None, False
    if pod is not None:
        query = urlencode({"pod": pod, "namespace": namespace})
        status, info = call(socket_path, "GET", f"/v1/runtime/pod?{query}")
        fail_on_error(status, info)
        namespace = info["namespace"]
        gateway = bool(view.row(namespace, info["name"]).get("gateway"))
        proxy_pod = view.workload(namespace, info["name"])
        log = info["containers"].get(PROXY_CONTAINER)
        if log is None:
            raise click.ClickException(f"{pod} has no sidecar: nothing logs its requests")
        entries = _recent(Path(log), last, everything)
        if not entries:
            click.echo(f"no failed request among the last {last} access-log lines of {pod}")
            return
    elif code is not None:
        entries = [(from_code(code, flags or "", authority, cluster), 1)]
    else:
        text = sys.stdin.read() if line == "-" else str(line)
        parsed = [parse_line(t) for t in text.splitlines() if t.strip()]
        if not parsed or any(p is None for p in parsed):
            raise click.BadParameter(
                "not an access-log line in Istio's default format", param_hint="LINE"
            )
        entries = [(p, 1) for p in parsed if p is not None]
    for i, (entry, count) in enumerate(entries):
        if i:
            click.echo()
        result = explain_entry(entry, view.ctx, namespace, proxy_pod, gateway, view.by_ip)
        for out in render(type(result)(result.entry, result.findings, count)):
            click.echo(out)
