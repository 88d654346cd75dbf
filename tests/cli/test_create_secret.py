"""``sailctl create secret tls|generic --dry-run``: the Secret documents kubectl would make."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml
from click.testing import CliRunner

from e2e_support.pki import write_pki
from sailmesh.cli.main import cli


def test_generic_secret_from_files_with_and_without_key_names(tmp_path: Path) -> None:
    pki = write_pki(tmp_path / "pki", "httpbin.example.com")
    args = [
        "create", "secret", "generic", "httpbin-credential", "-n", "istio-system", "--dry-run",
        f"--from-file=tls.crt={pki.server_cert}", f"--from-file=tls.key={pki.server_key}",
        f"--from-file={pki.ca}",
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(result.output)
    assert doc["type"] == "Opaque" and doc["metadata"]["namespace"] == "istio-system"
    assert set(doc["data"]) == {"tls.crt", "tls.key", "ca.pem"}
    assert base64.b64decode(doc["data"]["ca.pem"]) == pki.ca.read_bytes()


def test_tls_secret_and_bad_input(tmp_path: Path) -> None:
    pki = write_pki(tmp_path / "pki", "httpbin.example.com")
    args = ["create", "secret", "tls", "c", "--cert", str(pki.server_cert), "--key"]
    ok = CliRunner().invoke(cli, [*args, str(pki.server_key), "--dry-run"])
    assert ok.exit_code == 0 and yaml.safe_load(ok.output)["type"] == "kubernetes.io/tls"
    bad = CliRunner().invoke(cli, [*args, str(pki.server_cert), "--dry-run"])
    assert bad.exit_code != 0 and "--key is not an unencrypted PEM private key" in bad.output
    missing = ["create", "secret", "generic", "c", "--from-file=k=/nonexistent", "--dry-run"]
    gone = CliRunner().invoke(cli, missing)
    assert gone.exit_code != 0 and "--from-file=k=/nonexistent" in gone.output
