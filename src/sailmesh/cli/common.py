"""Helpers shared by sailctl verbs: input options and coloured problem output."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from sailmesh.config.diagnostics import Level, Problem

F = TypeVar("F", bound=Callable[..., Any])

_COLOURS = {Level.ERROR: "red", Level.WARNING: "yellow", Level.INFO: "cyan"}


def filename_option(func: F) -> F:
    """``-f/--filename PATH`` (repeatable; files, directories, or ``-`` for stdin)."""
    return click.option(
        "-f",
        "--filename",
        "filenames",
        multiple=True,
        metavar="PATH",
        help="File, directory (read recursively) or '-' for stdin. Repeatable.",
    )(func)


def namespace_option(func: F) -> F:
    """``-n/--namespace`` for objects that do not set ``metadata.namespace``."""
    return click.option(
        "-n",
        "--namespace",
        default="default",
        show_default=True,
        help="Namespace for objects that do not set metadata.namespace.",
    )(func)


def gather_paths(filenames: tuple[str, ...], args: tuple[str, ...]) -> list[str]:
    paths = [*filenames, *args]
    if not paths:
        raise click.UsageError(
            "no input: pass files or directories with -f PATH (or '-' for stdin)"
        )
    return paths


def echo_problem(problem: Problem, text: str | None = None) -> None:
    line = text if text is not None else str(problem)
    colour = _COLOURS[problem.level]
    click.echo(click.style(line, fg=colour) if sys.stdout.isatty() else line)
