"""`sailctl validate` and `sailctl analyze` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sailmesh.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
BOOKINFO = ROOT / "samples" / "bookinfo"
GOOD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 100
"""
BAD = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: broken, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
      weight: -5
"""


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.output


def test_validate_good_file(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD)
    code, out = run("validate", "-f", str(tmp_path / "good.yaml"))
    assert code == 0, out
    assert "1 object(s) valid" in out


NETWORKED_ENTRY = """apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.example.com]
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  resolution: STATIC
  endpoints:
  - {address: 10.1.0.2, network: other}
"""


def test_validate_warns_about_fields_not_enforced(tmp_path: Path) -> None:
    (tmp_path / "se.yaml").write_text(NETWORKED_ENTRY)
    code, out = run("validate", "-f", str(tmp_path / "se.yaml"))
    assert code == 0, out
    assert (
        f"warning: {tmp_path / 'se.yaml'}:9: ServiceEntry default/db: "
        "spec.endpoints[0].network: [SM0001] not enforced: "
    ) in out
    assert "1 object(s) valid (1 warning(s))" in out


def test_validate_bad_file_names_file_line_object_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD + "---\n" + BAD)
    code, out = run("validate", "-f", str(bad))
    assert code == 1
    assert f"{bad}:19: VirtualService shop/broken: spec.http[0].route[0].weight:" in out
    assert "1 object(s) invalid" in out


def test_validate_stdin_and_usage_error() -> None:
    code, out = run("validate", "-f", "-", stdin=BAD)
    assert code == 1 and "-:9: VirtualService shop/broken" in out
    code, out = run("validate")
    assert code == 2 and "no input" in out


def test_validate_bookinfo_samples_clean() -> None:
    code, out = run("validate", "-f", str(BOOKINFO))
    assert code == 0, out


def test_analyze_schema_error_is_ist0106_and_exit_79(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD)
    code, out = run("analyze", str(tmp_path / "bad.yaml"))
    assert code == 79, out
    line = next(x for x in out.splitlines() if "IST0106" in x)
    assert line.startswith(
        f"Error [IST0106] (VirtualService shop/broken {tmp_path / 'bad.yaml'}:9) "
    )
    assert "Schema validation error: spec.http[0].route[0].weight" in line


def test_analyze_suppress_thresholds_and_json(tmp_path: Path) -> None:
    path = str(tmp_path / "bad.yaml")
    (tmp_path / "bad.yaml").write_text(BAD)
    code, out = run("analyze", path, "-S", "IST0106=VirtualService broken.shop")
    assert "IST0106" not in out and code == 0
    code, out = run("analyze", path, "-S", "IST01*=VirtualService *")
    assert "IST0106" not in out and code == 0
    code, out = run("analyze", path, "-o", "json")
    records = json.loads(out)
    assert code == 79 and any(r["code"] == "IST0106" and r["level"] == "Error" for r in records)
    code, out = run("analyze", path, "--output-threshold", "Error", "-o", "yaml")
    assert "code: IST0106" in out
    code, out = run("analyze", path, "-S", "bogus")
    assert code == 2 and "CODE=Kind name" in out


def test_analyze_lists_analyzers_and_rejects_unknown() -> None:
    code, out = run("analyze", "-L")
    assert code == 0 and "virtualservice." in out
    code, out = run("analyze", "--analyzer", "nope", str(BOOKINFO))
    assert code == 2 and "unknown analyzer" in out


def test_sailctl_console_script_runs() -> None:
    exe = Path(sys.executable).parent / "sailctl"
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "validate" in proc.stdout and "analyze" in proc.stdout


@pytest.mark.parametrize("verb", ["validate", "analyze"])
def test_help_texts(verb: str) -> None:
    code, out = run(verb, "--help")
    assert code == 0 and "-f, --filename" in out


def test_up_refuses_unknown_add_ons_before_starting_anything() -> None:
    from click.testing import CliRunner

    from sailmesh.cli.main import cli

    result = CliRunner().invoke(cli, ["demo", "--addons", "prometheus,grafana"])
    assert result.exit_code == 2
    assert "unknown add-on 'grafana'; known: prometheus" in result.output
