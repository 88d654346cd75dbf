"""``sailctl create secret tls|generic``: Kubernetes Secrets (gateway credentials) from files.

``tls NAME --cert --key``: a ``kubernetes.io/tls`` Secret (``tls.crt``, ``tls.key``);
``generic NAME --from-file=[key=]path ...``: an ``Opaque`` Secret, as kubectl makes them (Istio's
MUTUAL task puts ``tls.crt``, ``tls.key`` and ``ca.crt`` in one). Both apply the Secret through
the control plane's API (``--dry-run`` prints it instead); the file contents go only there.
"""

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
    _submit(
        name,
        namespace,
        "kubernetes.io/tls",
        {"tls.crt": cert, "tls.key": key},
        dry_run,
        socket_path,
    )


def _from_file(spec: str) -> tuple[str, bytes]:
    key, sep, path = spec.partition("=")
    if not sep:
        key, path = Path(spec).name, spec
    if not key or not path:
        raise click.ClickException(f"--from-file={spec}: expected [key=]path")
    try:
        return key, Path(path).read_bytes()
    except OSError as exc:
        raise click.ClickException(f"--from-file={spec}: {exc.strerror or exc}") from None


@secret.command("generic")
@click.argument("name")
@click.option(
    "--from-file",
    "from_files",
    multiple=True,
    required=True,
    help="[key=]path: a key of the Secret with the file's content (default key: its name).",
)
@click.option(
    "-n", "--namespace", default="default", show_default=True, help="The Secret's namespace."
)
@click.option("--dry-run", is_flag=True, help="Print the Secret instead of applying it.")
@socket_option
def generic(
    name: str,
    from_files: tuple[str, ...],
    namespace: str,
    dry_run: bool,
    socket_path: Path | None,
) -> None:
    """An Opaque Secret NAME from files (e.g. tls.crt, tls.key and ca.crt for MUTUAL)."""
    data = dict(_from_file(spec) for spec in from_files)
    _submit(name, namespace, "Opaque", data, dry_run, socket_path)


def _submit(
    name: str,
    namespace: str,
    secret_type: str,
    data: dict[str, bytes],
    dry_run: bool,
    socket_path: Path | None,
) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": secret_type,
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
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
