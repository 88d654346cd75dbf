"""``sailctl proxy-config log POD [--level L] [--reset]``: a proxy's Envoy log levels, as istioctl.

Without options it prints Envoy's ``/logging`` (every logger and its level); ``--level`` sets
all loggers (``debug``) or some (``router:debug,http:warning``), ``--reset`` puts every logger
back to ``warning`` (istioctl's default), then it prints the levels now active.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import click

from sailmesh.cli.client import call, fail_on_error

#: Envoy's levels (``warn`` is accepted as ``warning``, as istioctl does).
LEVELS = ("trace", "debug", "info", "warning", "error", "critical", "off")
DEFAULT_LEVEL = "warning"


def _level(text: str) -> str:
    level = "warning" if text == "warn" else text
    if level not in LEVELS:
        raise click.BadParameter(
            f"unknown level {text!r}; use one of {', '.join(LEVELS)}", param_hint="--level"
        )
    return level


def log_query(level: str | None, reset: bool) -> str | None:
    """The ``loglevel`` runtime query for ``--level``/``--reset`` (None: only show levels)."""
    if reset:
        return f"level={DEFAULT_LEVEL}"
    if not level:
        return None
    if ":" not in level:
        return f"level={_level(level)}"
    pairs = []
    for item in level.split(","):
        logger, sep, value = item.strip().partition(":")
        if not sep or not logger:
            raise click.BadParameter(
                f"invalid {item!r}: use LEVEL or LOGGER:LEVEL[,LOGGER:LEVEL...]",
                param_hint="--level",
            )
        pairs.append(f"{logger}:{_level(value)}")
    return "paths=" + quote(",".join(pairs), safe=":,")


def proxy_log(
    pod: str,
    level: str | None,
    reset: bool,
    socket_path: Path | None,
    namespace: str | None = None,
) -> None:
    query = log_query(level, reset)
    route = f"/v1/runtime/loglevel?pod={quote(pod)}" + (f"&{query}" if query else "")
    if namespace:
        route += f"&namespace={quote(namespace)}"
    status, body = call(socket_path, "POST", route)
    fail_on_error(status, body)
    if body.get("status") != 200:
        raise click.ClickException(
            f"the proxy refused: {str(body.get('body', '')).strip() or body.get('status')}"
        )
    click.echo(str(body["body"]).rstrip())
