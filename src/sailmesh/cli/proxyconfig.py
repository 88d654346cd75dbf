"""``sailctl proxy-config``: what a proxy actually runs, read from its Envoy admin config_dump
(``secret``: its SDS certificates; Envoy prints private keys as ``[redacted]``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import click
import yaml

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
        "secret",
        "secrets",
        "bootstrap",
        "all",
        "log",
    ]
)
SECTIONS = {
    "cluster": "ClustersConfigDump",
    "listener": "ListenersConfigDump",
    "route": "RoutesConfigDump",
    "endpoint": "EndpointsConfigDump",
}


def _print(data: Any, output: str) -> None:
    if output == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False).rstrip())
    else:
        click.echo(json.dumps(data, indent=2))


@click.command("proxy-config")
@click.argument("what", type=WHAT)
@click.argument("pod")
@click.option("-o", "--output", type=click.Choice(["short", "json", "yaml"]), default="short")
@click.option(
    "-n", "--namespace", default=None, help="The namespace of POD (default: look in every one)."
)
@click.option("--level", default=None, help="log: LEVEL or LOGGER:LEVEL,... to set.")
@click.option("--reset", is_flag=True, help="log: put every logger back to warning.")
@socket_option
def proxy_config(
    what: str,
    pod: str,
    output: str,
    namespace: str | None,
    level: str | None,
    reset: bool,
    socket_path: Path | None,
) -> None:
    """Show a proxy's clusters, listeners, routes, endpoints, secrets or bootstrap (POD, ns/POD,
    deploy/NAME); `log` shows or sets its Envoy log levels."""
    if what == "log":
        from sailmesh.cli.proxylog import proxy_log

        proxy_log(pod, level, reset, socket_path, namespace)
        return
    dump = _admin_json(socket_path, pod, namespace, "/config_dump?include_eds")
    kind = what.rstrip("s") if what not in ("all", "bootstrap") else what
    if kind == "bootstrap":
        _print(configdump.bootstrap(dump), "yaml" if output == "yaml" else "json")
        return
    if kind == "secret":
        _secrets(dump, output)
        return
    if output != "short":
        if kind == "all":
            _print(dump, output)
        else:
            found = [
                c
                for c in dump.get("configs", [])
                if str(c.get("@type", "")).endswith(SECTIONS[kind])
            ]
            _print(found, output)
        return
    kinds = ["cluster", "listener", "route", "endpoint"] if kind == "all" else [kind]
    for i, k in enumerate(kinds):
        if i:
            click.echo()
        if k == "endpoint":
            clusters = _admin_json(socket_path, pod, namespace, "/clusters?format=json")
            rows = configdump.endpoints(clusters)
        else:
            rows = configdump.SUMMARIES[k](dump)
        print_table(configdump.HEADERS[k], rows)


def _admin_json(
    socket_path: Path | None, pod: str, namespace: str | None, path: str
) -> dict[str, Any]:
    """The JSON a proxy's admin API answers at ``path``."""
    query = {"pod": pod, "namespace": namespace or "", "path": path}
    status, body = call(socket_path, "GET", f"/v1/runtime/admin?{urlencode(query)}")
    fail_on_error(status, body)
    if body.get("status") != 200:
        raise click.ClickException(f"the proxy's admin API answered {body.get('status')}")
    found: dict[str, Any] = json.loads(body["body"])
    return found


def _secrets(dump: dict[str, Any], output: str) -> None:
    if output != "short":
        _print(configdump.secrets_section(dump), output)
        return
    rows = configdump.secrets(dump, time.time())
    if not rows:
        click.echo("No active or warming secrets found.")
        return
    print_table(configdump.HEADERS["secret"], rows)
