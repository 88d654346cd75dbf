"""``sailctl validate``: check YAML against Istio's schema and validation rules."""

from __future__ import annotations

import click

from sailmesh.cli.common import echo_problem, filename_option, gather_paths, namespace_option
from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_paths


@click.command()
@filename_option
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@namespace_option
@click.option("-q", "--quiet", is_flag=True, help="Print problems only, no summary.")
def validate(
    filenames: tuple[str, ...], paths: tuple[str, ...], namespace: str, quiet: bool
) -> None:
    """Validate configuration files; print every problem with file, line, object and field.

    Exits 0 when every document is valid (warnings allowed), 1 otherwise.
    """
    result = load_paths(gather_paths(filenames, paths), namespace)
    for problem in result.problems:
        echo_problem(problem)
    errors = sum(p.level is Level.ERROR for p in result.problems)
    warnings = sum(p.level is Level.WARNING for p in result.problems)
    if not quiet:
        total = len(result.resources) + result.rejected
        if errors:
            click.echo(
                f"✘ {errors} error(s), {warnings} warning(s) in {total} object(s); "
                f"{result.rejected} object(s) invalid",
                err=True,
            )
        else:
            suffix = f" ({warnings} warning(s))" if warnings else ""
            click.echo(f"✔ {total} object(s) valid{suffix}", err=True)
    raise SystemExit(1 if errors else 0)
