"""``sailctl analyze``: istioctl-style offline analysis with IST message codes."""

from __future__ import annotations

import click

from sailmesh.cli.common import echo_problem, filename_option, gather_paths, namespace_option
from sailmesh.config.analysis import framework
from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_paths

FAILURE_EXIT_CODE = 79
LEVELS = click.Choice(["Info", "Warning", "Error"], case_sensitive=False)


@click.command()
@filename_option
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@namespace_option
@click.option(
    "--failure-threshold",
    type=LEVELS,
    default="Error",
    show_default=True,
    help="Exit with code 79 when a message at or above this level is reported.",
)
@click.option(
    "--output-threshold",
    type=LEVELS,
    default="Info",
    show_default=True,
    help="Print messages at or above this level.",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["log", "json", "yaml"]),
    default="log",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-S",
    "--suppress",
    "suppressions",
    multiple=True,
    metavar="CODE=Kind name[.ns]",
    help="Suppress a message, e.g. 'IST0102=Namespace default' ('*' globs). Repeatable.",
)
@click.option("-L", "--list-analyzers", is_flag=True, help="List the analyzers and exit.")
@click.option(
    "--analyzer", "only", default=None, metavar="NAME", help="Run only this analyzer (see -L)."
)
def analyze(
    filenames: tuple[str, ...],
    paths: tuple[str, ...],
    namespace: str,
    failure_threshold: str,
    output_threshold: str,
    output: str,
    suppressions: tuple[str, ...],
    list_analyzers: bool,
    only: str | None,
) -> None:
    """Analyze configuration offline (like `istioctl analyze --use-kube=false`).

    Services and workloads come from the Service, Deployment, Pod, ServiceEntry and
    WorkloadEntry documents among the inputs. Exits 79 when a message at or above
    --failure-threshold remains after suppression.
    """
    from sailmesh.config.analysis.analyzers import ALL_ANALYZERS
    from sailmesh.config.analysis.run import analyze as run_analysis

    if list_analyzers:
        width = max(len(a.name) for a in ALL_ANALYZERS)
        for a in ALL_ANALYZERS:
            click.echo(f"{a.name.ljust(width)}  {a.description}")
        return
    if only is not None and only not in {a.name for a in ALL_ANALYZERS}:
        raise click.BadParameter(
            f"unknown analyzer {only!r}; see `sailctl analyze -L`", param_hint="--analyzer"
        )
    try:
        parsed_suppressions = [framework.Suppression.parse(s) for s in suppressions]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--suppress") from exc

    result = load_paths(gather_paths(filenames, paths), namespace)
    found = run_analysis(result.resources, result.problems, only=only)
    index = {r.key: r for r in result.resources}
    shown = framework.select(found, parsed_suppressions, Level.parse(output_threshold), index)
    failing = framework.select(found, parsed_suppressions, Level.parse(failure_threshold), index)

    if output == "log":
        for p in shown:
            echo_problem(p, framework.format_log(p))
        if not shown:
            click.echo(f"✔ No validation issues found when analyzing namespace: {namespace}.")
    else:
        click.echo(framework.render(shown, output))
    raise SystemExit(FAILURE_EXIT_CODE if failing else 0)
