"""``sailctl validate``: check YAML against Istio's schema and validation rules."""

from __future__ import annotations

import click

from sailmesh.cli.common import echo_problem, filename_option, gather_paths, namespace_option
from sailmesh.config.diagnostics import Level, Problem
from sailmesh.config.load import load_paths
from sailmesh.config.unenforced import not_enforced_problems


def _text(problem: Problem) -> str:
    """Validation's format; sailmesh's own codes are shown before the message."""
    text = str(problem)
    if problem.code is None:
        return text
    return text.removesuffix(problem.message) + f"[{problem.code}] " + problem.message


@click.command()
@filename_option
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@namespace_option
@click.option("-q", "--quiet", is_flag=True, help="Print problems only, no summary.")
def validate(
    filenames: tuple[str, ...], paths: tuple[str, ...], namespace: str, quiet: bool
) -> None:
    """Validate configuration files; print every problem with file, line, object and field.

    Fields and kinds sailmesh accepts but does not enforce yet are warnings ([SM0001]).
    Exits 0 when every document is valid (warnings allowed), 1 otherwise.
    """
    result = load_paths(gather_paths(filenames, paths), namespace)
    problems = [*result.problems, *not_enforced_problems(result.resources)]
    for problem in problems:
        echo_problem(problem, _text(problem))
    errors = sum(p.level is Level.ERROR for p in problems)
    warnings = sum(p.level is Level.WARNING for p in problems)
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
