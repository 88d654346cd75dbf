"""``sailctl dashboard ADDON``: where an add-on of the running mesh is (like ``istioctl
dashboard``): prints its 127.0.0.1 URL, and opens it in a browser with ``--browser``."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from sailmesh.cli.client import call, fail_on_error, socket_option


@click.command()
@click.argument("addon", type=click.Choice(["prometheus"]))
@click.option("--browser", is_flag=True, help="Open the URL in a browser too.")
@socket_option
def dashboard(addon: str, browser: bool, socket_path: Path | None) -> None:
    """Print the URL of ADDON of the running mesh (start it with `sailctl up --addons ADDON`)."""
    status, body = call(socket_path, "GET", "/v1/runtime/addons")
    fail_on_error(status, body)
    url = body.get("addons", {}).get(addon)
    if not url:
        raise click.ClickException(
            f"the {addon} add-on is not running; start the mesh with "
            f"`sailctl up DIR --addons {addon}` (or `sailctl demo --addons {addon}`)"
        )
    click.echo(url)
    if browser and not webbrowser.open(url):
        click.echo("(no browser found: open the URL yourself)", err=True)
