"""Verbs against the running mesh: apply, delete, get, proxy-status."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from sailmesh.cli.client import call, fail_on_error, socket_option
from sailmesh.cli.common import filename_option, gather_paths, namespace_option
from sailmesh.cli.tables import print_table
from sailmesh.config.kinds import find_kind
from sailmesh.config.yamlsource import iter_files

STATUS_COLUMNS = ("CDS", "LDS", "EDS", "RDS", "SDS")


def _read_inputs(paths: list[str]) -> list[tuple[str, str]]:
    out = []
    for raw in paths:
        if raw == "-":
            out.append(("-", sys.stdin.read()))
            continue
        path = Path(raw)
        if not path.exists():
            raise click.BadParameter(f"no such file or directory: {raw}", param_hint="-f")
        out += [(str(f), f.read_text(encoding="utf-8")) for f in iter_files(path)]
    return out


@click.command()
@filename_option
@namespace_option
@socket_option
def apply(filenames: tuple[str, ...], namespace: str, socket_path: Path | None) -> None:
    """Apply configuration to the running mesh; a file applies whole or not at all."""
    for name, text in _read_inputs(gather_paths(filenames, ())):
        status, body = call(
            socket_path, "POST", "/v1/apply", {"yaml": text, "file": name, "namespace": namespace}
        )
        fail_on_error(status, body)
        for warning in body.get("warnings", []):
            click.echo(warning, err=True)
        for line in body.get("outcomes", []):
            click.echo(line)


@click.command()
@filename_option
@namespace_option
@click.option("--ignore-not-found", is_flag=True, help="Treat missing objects as deleted.")
@socket_option
def delete(
    filenames: tuple[str, ...], namespace: str, ignore_not_found: bool, socket_path: Path | None
) -> None:
    """Delete the objects named in the files from the running mesh."""
    for name, text in _read_inputs(gather_paths(filenames, ())):
        status, body = call(
            socket_path,
            "POST",
            "/v1/delete",
            {
                "yaml": text,
                "file": name,
                "namespace": namespace,
                "ignoreNotFound": ignore_not_found,
            },
        )
        fail_on_error(status, body)
        for line in body.get("outcomes", []):
            click.echo(line)


_SHORT = {
    "vs": "VirtualService",
    "dr": "DestinationRule",
    "gw": "Gateway",
    "se": "ServiceEntry",
    "svc": "Service",
    "ns": "Namespace",
    "sa": "ServiceAccount",
    "deploy": "Deployment",
    "pa": "PeerAuthentication",
    "ap": "AuthorizationPolicy",
    "ra": "RequestAuthentication",
    "we": "WorkloadEntry",
    "wg": "WorkloadGroup",
}


@click.command()
@click.argument("kind")
@click.argument("name", required=False)
@click.option("-n", "--namespace", default=None, help="Only this namespace (default: all).")
@click.option("-o", "--output", type=click.Choice(["table", "yaml", "json"]), default="table")
@socket_option
def get(
    kind: str, name: str | None, namespace: str | None, output: str, socket_path: Path | None
) -> None:
    """Show objects of KIND (e.g. virtualservices, vs, dr, gateways, services)."""
    info = find_kind(_SHORT.get(kind.lower(), kind))
    if info is None:
        raise click.BadParameter(f"unknown kind {kind!r}", param_hint="KIND")
    query = (
        f"kind={info.kind}"
        + (f"&namespace={namespace}" if namespace else "")
        + (f"&name={name}" if name else "")
    )
    status, body = call(socket_path, "GET", f"/v1/config?{query}")
    fail_on_error(status, body)
    items: list[dict[str, Any]] = body["items"]
    if name and not items:
        raise click.ClickException(f'{info.kind} "{name}" not found')
    if output == "json":
        click.echo(json.dumps(items[0] if name else {"items": items}, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump_all(items, sort_keys=False), nl=False)
    else:
        rows = [
            (
                i["metadata"].get("namespace", ""),
                i["metadata"]["name"],
                i["metadata"].get("resourceVersion", ""),
            )
            for i in items
        ]
        print_table(("NAMESPACE", "NAME", "VERSION"), rows)


@click.command("proxy-status")
@socket_option
def proxy_status(socket_path: Path | None) -> None:
    """Each connected proxy's sync state per xDS type, like `istioctl proxy-status`."""
    status, body = call(socket_path, "GET", "/v1/proxies")
    fail_on_error(status, body)
    rows = []
    nacks = []
    for rec in body["proxies"]:
        kind, _ip, pod_ns, _ = [*rec["node"].split("~"), "", "", "", ""][:4]
        name = pod_ns if kind == "sidecar" else f"{pod_ns} (gateway)"
        states = [rec["types"][c]["state"] for c in STATUS_COLUMNS]
        rows.append((name, *states, rec["mode"], f"sailmesh-{body.get('version', '')}"))
        for column in STATUS_COLUMNS:
            nack = rec["types"][column].get("nack")
            if nack and rec["types"][column]["state"] == "NACKED":  # not once withdrawn
                nacks.append(f"{name} {column} NACKED: {nack['message']}")
    print_table(("NAME", *STATUS_COLUMNS, "XDS", "VERSION"), rows)
    for line in nacks:
        click.echo(line)
