"""``sailctl proxy-config``: what a proxy actually runs, read from its Envoy admin config_dump."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from sailmesh.cli import configdump
from sailmesh.cli.client import call, fail_on_error, socket_option
from sailmesh.cli.tables import print_table

WHAT = click.Choice(
    [
        "cluster",
        "clusters",
        "listener",
        "listeners",
        "route",
        "routes",
        "endpoint",
        "endpoints",
        "bootstrap",
        "all",
    ]
)


@click.command("proxy-config")
@click.argument("what", type=WHAT)
@click.argument("pod")
@click.option("-o", "--output", type=click.Choice(["short", "json"]), default="short")
@socket_option
def proxy_config(what: str, pod: str, output: str, socket_path: Path | None) -> None:
    """Show a proxy's clusters, listeners, routes, endpoints or bootstrap (POD, ns/POD, deploy/NAME)."""
    dump = _admin_json(socket_path, pod, "/config_dump%3Finclude_eds")
    kind = what.rstrip("s") if what not in ("all", "bootstrap") else what
    if kind == "bootstrap":
        click.echo(json.dumps(configdump.bootstrap(dump), indent=2))
        return
    if output == "json" and kind != "all":
        sections = {
            "cluster": "ClustersConfigDump",
            "listener": "ListenersConfigDump",
            "route": "RoutesConfigDump",
            "endpoint": "EndpointsConfigDump",
        }
        click.echo(
            json.dumps(
                [
                    c
                    for c in dump.get("configs", [])
                    if str(c.get("@type", "")).endswith(sections[kind])
                ],
                indent=2,
            )
        )
        return
    if output == "json":
        click.echo(json.dumps(dump, indent=2))
        return
    kinds = ["cluster", "listener", "route", "endpoint"] if kind == "all" else [kind]
    for i, k in enumerate(kinds):
        if i:
            click.echo()
        if k == "endpoint":
            rows = configdump.endpoints(_admin_json(socket_path, pod, "/clusters%3Fformat%3Djson"))
        else:
            rows = configdump.SUMMARIES[k](dump)
        print_table(configdump.HEADERS[k], rows)


def _admin_json(socket_path: Path | None, pod: str, path: str) -> dict[str, Any]:
    """The JSON a proxy's admin API answers at ``path`` (URL-encoded)."""
    status, body = call(socket_path, "GET", f"/v1/runtime/admin?pod={pod}&path={path}")
    fail_on_error(status, body)
    if body.get("status") != 200:
        raise click.ClickException(f"the proxy's admin API answered {body.get('status')}")
    found: dict[str, Any] = json.loads(body["body"])
    return found
