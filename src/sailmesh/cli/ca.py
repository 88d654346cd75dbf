"""``sailctl ca``: the running mesh's certificate authority (show it, rotate its root)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from sailmesh.cli.client import call, fail_on_error, socket_option
from sailmesh.cli.tables import print_table
from sailmesh.config.models.base import parse_duration_nanos


@click.group()
def ca() -> None:
    """The mesh's certificate authority: its certificates, trust bundle and root rotation."""


def _duration(value: str) -> float:
    try:
        return parse_duration_nanos(value) / 1e9
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _cert_rows(certs: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [(c["role"], c["subject"], c["serial"], c["notBefore"], c["notAfter"]) for c in certs]


@ca.command("status")
@click.option("-o", "--output", type=click.Choice(["short", "json"]), default="short")
@socket_option
def status(output: str, socket_path: Path | None) -> None:
    """The CA's source, trust domain, signing chain, trust bundle and the pods' certificates."""
    code, body = call(socket_path, "GET", "/v1/ca")
    fail_on_error(code, body)
    if output == "json":
        click.echo(json.dumps(body, indent=2))
        return
    aliases = ", ".join(body["trustDomainAliases"]) or "none"
    click.echo(f"CA: {body['source']}")
    click.echo(f"trust domain: {body['trustDomain']} (aliases: {aliases})")
    headers = ("ROLE", "SUBJECT", "SERIAL NUMBER", "NOT BEFORE", "NOT AFTER")
    click.echo("signing chain:")
    print_table(headers, _cert_rows(body["signingChain"]))
    click.echo("trust bundle (ROOTCA):")
    print_table(headers, _cert_rows(body["trustRoots"]))
    rows = [
        (w["namespace"], w["pod"], w["identity"], w["serial"], w["notAfter"])
        for w in body["workloads"]
    ]
    if rows:
        click.echo("workload certificates:")
        print_table(("NAMESPACE", "POD", "IDENTITY", "SERIAL NUMBER", "NOT AFTER"), rows)
    for warning in body["warnings"]:
        click.echo(warning, err=True)


@ca.command("rotate-root")
@click.option(
    "--overlap",
    default="1h",
    show_default=True,
    help="How long the old root stays trusted after the switch (a duration: 90s, 10m, 1h).",
)
@click.option(
    "--cacerts",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="A plug-in CA directory (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem) "
    "to rotate to; default: a new self-signed root.",
)
@socket_option
def rotate_root(overlap: str, cacerts: Path | None, socket_path: Path | None) -> None:
    """Rotate the mesh's root: trust both roots, re-issue every workload certificate from the
    new one, and drop the old root when the overlap ends."""
    body = {"overlap": _duration(overlap), "cacerts": str(cacerts.resolve()) if cacerts else ""}
    code, answer = call(socket_path, "POST", "/v1/ca/rotate-root", body)
    fail_on_error(code, answer)
    new = answer["newRoot"]
    click.echo(f"new root {new['subject']} (serial {new['serial']}, until {new['notAfter']})")
    click.echo(f"re-issued {answer['reissued']} workload certificates from the new root")
    click.echo(f"the old root stays trusted until {answer['oldRootTrustedUntil']}")
    if answer.get("persistedIn"):
        click.echo(f"saved in {answer['persistedIn']} (later starts sign with it)")
    else:
        click.echo("start the mesh with --cacerts pointing at the new CA from now on")
    if not answer.get("synced", True):
        click.echo("warning: not every Envoy acknowledged its new secrets in time", err=True)
