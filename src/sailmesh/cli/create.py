"""``sailctl create secret tls``: a Kubernetes TLS Secret (gateway credentials) from PEM files."""

from __future__ import annotations

import base64
from pathlib import Path

import click
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sailmesh.cli.client import call, fail_on_error, socket_option


@click.group()
def create() -> None:
    """Create objects from files (like kubectl create)."""


@create.group()
def secret() -> None:
    """Create a Secret."""


def _check_pem(cert: bytes, key: bytes) -> None:
    try:
        x509.load_pem_x509_certificates(cert)
    except ValueError as exc:
        raise click.ClickException(f"--cert is not a PEM certificate: {exc}") from None
    try:
        serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"--key is not an unencrypted PEM private key: {exc}") from None


@secret.command("tls")
@click.argument("name")
@click.option("--cert", "cert_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-n", "--namespace", default="default", show_default=True, help="The Secret's namespace."
)
@click.option("--dry-run", is_flag=True, help="Print the Secret instead of applying it.")
@socket_option
def tls(
    name: str,
    cert_path: Path,
    key_path: Path,
    namespace: str,
    dry_run: bool,
    socket_path: Path | None,
) -> None:
    """A kubernetes.io/tls Secret NAME with tls.crt and tls.key (for Gateway credentialName)."""
    cert, key = cert_path.read_bytes(), key_path.read_bytes()
    _check_pem(cert, key)
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "kubernetes.io/tls",
        "data": {
            "tls.crt": base64.b64encode(cert).decode(),
            "tls.key": base64.b64encode(key).decode(),
        },
    }
    text = yaml.safe_dump(doc, sort_keys=False)
    if dry_run:
        click.echo(text, nl=False)
        return
    status, body = call(
        socket_path,
        "POST",
        "/v1/apply",
        {"yaml": text, "file": f"secret/{name}", "namespace": namespace},
    )
    fail_on_error(status, body)
    for line in body.get("outcomes", []):
        click.echo(line.split(" (namespace")[0])
