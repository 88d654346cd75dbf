"""``sailctl x``: istioctl's experimental verbs (``precheck``, ``describe``), loaded when used."""

from __future__ import annotations

import importlib

import click

SUBCOMMANDS: dict[str, str] = {
    "precheck": "sailmesh.cli.precheck:precheck",
    "describe": "sailmesh.cli.describe:describe",
}


class _Lazy(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


@click.group(cls=_Lazy)
def x() -> None:
    """Experimental verbs, as `istioctl x`: precheck, describe."""
