"""``sailctl proxy-config``: what a proxy actually runs, read from its Envoy admin config_dump."""

from __future__ import annotations

import json
from pathlib import Path

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
        "log",
    ]
)


@click.command("proxy-config")
@click.argument("what", type=WHAT)
@click.argument("pod")
@click.option("-o", "--output", type=click.Choice(["short", "json"]), default="short")
@click.option("--level", default=None, help="log: LEVEL or LOGGER:LEVEL,... to set.")
@click.option("--reset", is_flag=True, help="log: put every logger back to warning.")
@socket_option
def proxy_config(
    what: str, pod: str, output: str, level: str | None, reset: bool, socket_path: Path | None
) -> None:
    """Show a proxy's clusters, listeners, routes, endpoints or bootstrap (POD, ns/POD, deploy/NAME);
    `log` shows or sets its Envoy log levels."""
    if what == "log":
        from sailmesh.cli.proxylog import proxy_log

        proxy_log(pod, level, reset, socket_path)
        return
    status, body = call(
        socket_path, "GET", f"/v1/runtime/admin?pod={pod}&path=/config_dump%3Finclude_eds"
    )
    fail_on_error(status, body)
    if body.get("status") != 200:
        raise click.ClickException(f"the proxy's admin API answered {body.get('status')}")
    dump = json.loads(body["body"])
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
        print_table(configdump.HEADERS[k], configdump.SUMMARIES[k](dump))
