"""The ``sailctl`` command group; each verb lives in its own module, imported when used."""

from __future__ import annotations

import importlib

import click

from sailmesh import __version__
from sailmesh.errors import SailmeshError, exit_code, one_line

# verb -> "module:attribute"; modules load only when their verb runs (fast startup).
VERBS: dict[str, str] = {
    "validate": "sailmesh.cli.validate:validate",
    "analyze": "sailmesh.cli.analyze:analyze",
    "demo": "sailmesh.cli.local:demo",
    "up": "sailmesh.cli.local:up",
    "down": "sailmesh.cli.local:down",
    "status": "sailmesh.cli.local:status",
    "exec": "sailmesh.cli.local:exec_",
    "logs": "sailmesh.cli.local:logs",
    "apply": "sailmesh.cli.mesh:apply",
    "delete": "sailmesh.cli.mesh:delete",
    "get": "sailmesh.cli.mesh:get",
    "create": "sailmesh.cli.create:create",
    "proxy-status": "sailmesh.cli.mesh:proxy_status",
    "proxy-config": "sailmesh.cli.proxyconfig:proxy_config",
    "dashboard": "sailmesh.cli.dashboard:dashboard",
    "ca": "sailmesh.cli.ca:ca",
    "version": "sailmesh.cli.version:version",
    "bug-report": "sailmesh.cli.bugreport:bug_report",
    "explain": "sailmesh.cli.explain:explain",
    "traces": "sailmesh.cli.traces:traces",
    "x": "sailmesh.cli.experimental:x",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = VERBS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="sailctl")
def cli() -> None:
    """sailctl: run Istio configuration on real Envoy, locally.

    Verbs mirror istioctl/kubectl: validate and analyze configuration offline; run a local
    mesh (demo, up, down, status, exec, logs); change and inspect it (apply, delete, get,
    create, proxy-status, proxy-config) and its certificate authority (ca); troubleshoot it
    (version, explain, bug-report, x precheck, x describe); open its add-ons (dashboard).
    """


def main() -> None:
    """Run sailctl; an error of sailmesh's tree ends it with one line and its exit code (see
    :mod:`sailmesh.errors`), never a traceback."""
    try:
        cli(prog_name="sailctl")
    except SailmeshError as exc:
        click.echo(f"Error: {one_line(exc)}", err=True)
        raise SystemExit(exit_code(exc)) from None


if __name__ == "__main__":
    main()
