"""``sailctl dashboard [NAME]``: where a dashboard of the running mesh is (like ``istioctl
dashboard kiali``): prints its 127.0.0.1 URL, and opens it in a browser with ``--browser``.
``sailmesh`` (the default) is the mesh's own dashboard, served by the control plane;
``prometheus`` is the add-on's UI."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from sailmesh.cli.client import call, fail_on_error, socket_option

HOW_TO_START = {
    "sailmesh": "it starts with the mesh (`sailctl up DIR` or `sailctl demo`)",
    "prometheus": "start the mesh with `sailctl up DIR --addons prometheus` "
    "(or `sailctl demo --addons prometheus`)",
}


@click.command()
@click.argument("name", type=click.Choice(["sailmesh", "prometheus"]), default="sailmesh")
@click.option("--browser", is_flag=True, help="Open the URL in a browser too.")
@socket_option
def dashboard(name: str, browser: bool, socket_path: Path | None) -> None:
    """Print the URL of the mesh's dashboard NAME (default: sailmesh, the graph, traffic,
    config and proxies; prometheus: the add-on's UI)."""
    status, body = call(socket_path, "GET", "/v1/runtime/addons")
    fail_on_error(status, body)
    url = body.get("addons", {}).get(name)
    if not url:
        raise click.ClickException(f"the {name} dashboard is not running; {HOW_TO_START[name]}")
    click.echo(url)
    if browser and not webbrowser.open(url):
        click.echo("(no browser found: open the URL yourself)", err=True)
