"""The ``sailctl`` command group; each verb lives in its own module."""

from __future__ import annotations

import click

from sailmesh import __version__
from sailmesh.cli.analyze import analyze
from sailmesh.cli.create import create
from sailmesh.cli.local import COMMANDS as LOCAL_COMMANDS
from sailmesh.cli.mesh import apply, delete, get, proxy_status
from sailmesh.cli.proxyconfig import proxy_config
from sailmesh.cli.validate import validate


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sailctl")
def cli() -> None:
    """sailctl: run Istio configuration on real Envoy, locally.

    Verbs mirror istioctl/kubectl: validate and analyze configuration offline; run a local
    mesh (demo, up, down, status, exec, logs); change and inspect it (apply, delete, get,
    proxy-status, proxy-config).
    """


cli.add_command(validate)
cli.add_command(analyze)
for command in (apply, delete, get, create, proxy_status, proxy_config, *LOCAL_COMMANDS):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="sailctl")


if __name__ == "__main__":
    main()
