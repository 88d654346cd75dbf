"""``sailctl x precheck``: whether this machine can run a local mesh, each problem with its fix."""

from __future__ import annotations

from pathlib import Path

import click

from sailmesh.app.api import ApiClient
from sailmesh.cli.client import default_home

_MARK = {"ok": "✔", "warning": "!", "error": "✘"}


def _answers(sock: Path) -> bool:
    try:
        status, _ = ApiClient(sock, timeout=2).request("GET", "/v1/version")
    except OSError:
        return False
    return status == 200


@click.command()
@click.option("--port", "ports", type=int, multiple=True, help="Loopback ports to check.")
def precheck(ports: tuple[int, ...]) -> None:
    """Check root or user namespaces, iptables, the Envoy binary, loopback ports and the
    add-ons' tools (Prometheus, Chromium), like `istioctl x precheck`. Exits 1 on an error."""
    from sailmesh.runtime.precheck import DEFAULT_PORTS, run_checks
    from sailmesh.runtime.sandbox.modes import detect_mode

    checks = run_checks(default_home(), _answers, ports or DEFAULT_PORTS)
    for check in checks:
        click.echo(f"{_MARK[check.status]} {check.name}: {check.detail}")
        if check.fix:
            click.echo(f"    fix: {check.fix}")
    click.echo(detect_mode().describe())
    errors = [c for c in checks if c.status == "error"]
    if errors:
        click.echo(f"✘ {len(errors)} problem(s) keep the local mesh from running; fix them first.")
        raise SystemExit(1)
    click.echo("✔ No blocking issues found: the local mesh can run here.")
