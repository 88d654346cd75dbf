"""``sailctl analyze``: istioctl-style analysis with IST message codes, of files or of the
running mesh (its applied config and its pods, read through the control-plane API)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from sailmesh.cli.client import call, fail_on_error, socket_option
from sailmesh.cli.common import echo_problem, filename_option, namespace_option
from sailmesh.config.analysis import framework
from sailmesh.config.diagnostics import Level, Problem
from sailmesh.config.load import load_paths
from sailmesh.config.resource import Resource

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
@click.option(
    "--meshConfigFile",
    "--mesh-config-file",
    "mesh_config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A MeshConfig YAML file to analyze against (as istioctl's --meshConfigFile).",
)
@click.option(
    "-A",
    "--all-namespaces",
    is_flag=True,
    help="Running mesh: report on every namespace (default: only --namespace).",
)
@socket_option
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
    mesh_config_file: Path | None,
    all_namespaces: bool,
    socket_path: Path | None,
) -> None:
    """Analyze configuration files offline (like `istioctl analyze --use-kube=false`), or with
    no files the running mesh: its applied config and live pods (like `istioctl analyze`
    against a cluster), for --namespace or, with -A, all namespaces.

    Offline, services and workloads come from the Service, Deployment, Pod, ServiceEntry and
    WorkloadEntry documents among the inputs. Exits 79 when a message at or above
    --failure-threshold remains after suppression.
    """
    from sailmesh.config.analysis.analyzers import ALL_ANALYZERS, OPT_IN_ANALYZERS
    from sailmesh.config.analysis.run import analyze as run_analysis

    every = (*ALL_ANALYZERS, *OPT_IN_ANALYZERS)
    if list_analyzers:
        width = max(len(a.name) for a in every)
        for a in every:
            click.echo(f"{a.name.ljust(width)}  {a.description}")
        return
    if only is not None and only not in {a.name for a in every}:
        raise click.BadParameter(
            f"unknown analyzer {only!r}; see `sailctl analyze -L`", param_hint="--analyzer"
        )
    try:
        parsed_suppressions = [framework.Suppression.parse(s) for s in suppressions]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--suppress") from exc

    inputs = [*filenames, *paths]
    if inputs:
        result = load_paths(inputs, namespace)
        resources, problems, live = result.resources, result.problems, False
        scope: str | None = None
    else:
        resources, problems, live = _running_mesh(socket_path)
        scope = None if all_namespaces else namespace
    if mesh_config_file is not None:
        mesh, mesh_problems = _mesh_config(mesh_config_file)
        resources, problems = [*resources, *mesh], [*problems, *mesh_problems]
    found = _in_namespace(run_analysis(resources, problems, only=only, live=live), scope)
    index = {r.key: r for r in resources}
    shown = framework.select(found, parsed_suppressions, Level.parse(output_threshold), index)
    failing = framework.select(found, parsed_suppressions, Level.parse(failure_threshold), index)

    if output == "log":
        for p in shown:
            echo_problem(p, framework.format_log(p))
        if not shown:
            where = (
                "all namespaces" if inputs == [] and all_namespaces else f"namespace: {namespace}"
            )
            click.echo(f"✔ No validation issues found when analyzing {where}.")
    else:
        click.echo(framework.render(shown, output))
    raise SystemExit(FAILURE_EXIT_CODE if failing else 0)


def _mesh_config(path: Path) -> tuple[list[Resource], list[Problem]]:
    """A MeshConfig file as the IstioOperator carrying it (where sailmesh reads meshConfig)."""
    import yaml

    from sailmesh.config.load import load_text

    try:
        mesh = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--meshConfigFile") from None
    if not isinstance(mesh, dict):
        raise click.BadParameter(
            f"{path}: a MeshConfig is a mapping (e.g. 'accessLogFile: /dev/stdout')",
            param_hint="--meshConfigFile",
        )
    operator = {
        "apiVersion": "install.istio.io/v1alpha1",
        "kind": "IstioOperator",
        "metadata": {"name": "mesh-config-file", "namespace": "istio-system"},
        "spec": {"meshConfig": mesh},
    }
    result = load_text(yaml.safe_dump(operator), f"{path} (as IstioOperator spec.meshConfig)")
    return result.resources, result.problems


def _running_mesh(socket_path: Path | None) -> tuple[list[Resource], list[Problem], bool]:
    """The running mesh's config and pods (``live`` when a local runtime reports its pods)."""
    from sailmesh.app.mesh_inputs import mesh_resources

    status, body = call(socket_path, "GET", "/v1/config")
    fail_on_error(status, body)
    runtime_status, pods = call(socket_path, "GET", "/v1/runtime/status")
    live = runtime_status == 200
    resources, problems = mesh_resources(body["items"], pods["pods"] if live else ())
    return resources, problems, live


def _in_namespace(problems: Sequence[Problem], namespace: str | None) -> list[Problem]:
    """Messages about objects of ``namespace`` (and the Namespace itself); all when None."""
    if namespace is None:
        return list(problems)
    return [
        p
        for p in problems
        if p.ref is None
        or p.ref.namespace == namespace
        or (p.ref.kind == "Namespace" and p.ref.name == namespace)
    ]
