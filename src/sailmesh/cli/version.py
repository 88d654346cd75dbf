"""``sailctl version``: the client's, the control plane's and every proxy's Envoy version.

The control plane answers ``/v1/version``; each running sidecar and gateway answers its Envoy
admin ``/server_info`` (:mod:`sailmesh.app.versions`). ``--no-remote`` prints the client only;
a proxy whose admin API does not answer is listed with the reason, not skipped.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import click

from sailmesh import __version__
from sailmesh.app.versions import proxy_versions
from sailmesh.cli.client import call, fail_on_error, socket_option
from sailmesh.cli.tables import print_table


@click.command()
@click.option(
    "--remote/--no-remote",
    default=True,
    show_default=True,
    help="Also ask the control plane and the proxies.",
)
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
@socket_option
def version(remote: bool, output: str, socket_path: Path | None) -> None:
    """Print the client, control plane and data plane (Envoy) versions, like `istioctl version`."""
    report: dict[str, Any] = {"client": __version__}
    if remote:
        status, body = call(socket_path, "GET", "/v1/version")
        fail_on_error(status, body)
        report["controlPlane"] = {"version": body["version"], "revision": body.get("revision")}
        report["proxies"] = proxy_versions(lambda m, r: call(socket_path, m, r))
    if output == "json":
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"client version: {__version__}")
    if not remote:
        return
    cp = report["controlPlane"]
    click.echo(f"control plane version: {cp['version']} (config revision {cp['revision']})")
    proxies = report["proxies"]
    counts = Counter(p["envoy"] for p in proxies if p["envoy"] != "-")
    summary = ", ".join(f"envoy {v} ({n} proxies)" for v, n in sorted(counts.items()))
    click.echo(f"data plane version: {summary or 'no proxies answering'}")
    if proxies:
        click.echo()
        print_table(
            ("PROXY", "ROLE", "ENVOY", "BUILD"),
            [(p["proxy"], p["role"], p["envoy"], p["build"]) for p in proxies],
        )
