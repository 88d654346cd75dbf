"""Reaching the running control plane from sailctl: socket location, requests, error output."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from sailmesh.app.api import ApiClient

F = TypeVar("F", bound=Callable[..., Any])


def default_home() -> Path:
    """``$SAILMESH_HOME``, else ``~/.sailmesh``: state, sockets and logs of the local mesh."""
    return Path(os.environ.get("SAILMESH_HOME") or Path.home() / ".sailmesh")


def default_socket() -> Path:
    return default_home() / "run" / "api.sock"


def socket_option(func: F) -> F:
    return click.option(
        "--socket",
        "socket_path",
        type=click.Path(path_type=Path),
        default=None,
        help="Control-plane API socket (default: $SAILMESH_HOME/run/api.sock, ~/.sailmesh).",
    )(func)


def call(
    socket_path: Path | None, method: str, route: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    path = socket_path or default_socket()
    try:
        return ApiClient(path).request(method, route, body)
    except (FileNotFoundError, ConnectionRefusedError):
        raise click.ClickException(
            f"no control plane is listening on {path}; start one with `sailctl up DIR` "
            "or `sailctl demo` (or pass --socket)"
        ) from None
    except OSError as exc:
        raise click.ClickException(f"cannot reach the control plane at {path}: {exc}") from None


def fail_on_error(status: int, body: dict[str, Any]) -> None:
    if status < 400:
        return
    click.echo(f"Error: {body.get('error', status)}", err=True)
    for problem in body.get("problems", []):
        click.echo(problem, err=True)
    raise SystemExit(1)
