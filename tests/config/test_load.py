"""Loading YAML: documents, line numbers, located errors, did-you-mean hints, List expansion."""

from __future__ import annotations

import io
import sys

import pytest

from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_paths, load_text

VS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
"""


def test_multi_document_with_lines_and_default_namespace() -> None:
    text = "# leading comment\n---\n" + VS + "---\n" + VS.replace("name: reviews", "name: other")
    result = load_text(text, "multi.yaml")
    assert result.ok, result.problems
    assert [r.name for r in result.resources] == ["reviews", "other"]
    assert [r.source.line for r in result.resources if r.source] == [3, 14]
    assert all(r.namespace == "default" for r in result.resources)
    assert result.resources[0].line_of("spec.http[0].route[0].destination.host") == 12


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("networking.istio.io/v1alpha3", "VirtualService"),
        ("networking.istio.io/v1beta1", "VirtualService"),
        ("networking.istio.io/v1", "VirtualService"),
    ],
)
def test_every_served_version_accepted(api_version: str, kind: str) -> None:
    result = load_text(VS.replace("networking.istio.io/v1", api_version), "v.yaml")
    assert result.ok, result.problems
    assert result.resources[0].api_version == api_version


def test_unknown_field_gets_hint_and_location() -> None:
    text = VS.replace("        host: reviews\n", "        host: reviews\n        subsett: v1\n")
    result = load_text(text, "typo.yaml")
    assert not result.ok and not result.resources
    (problem,) = result.problems
    assert problem.path == "spec.http[0].route[0].destination.subsett"
    assert "did you mean 'subset'" in problem.message
    assert str(problem.source) == "typo.yaml:11"
    assert str(problem.ref) == "VirtualService default/reviews"
    assert str(problem).startswith("error: typo.yaml:11: VirtualService default/reviews: spec.http")


def test_field_in_wrong_place_names_where_it_belongs() -> None:
    text = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cb}
spec:
  host: reviews
  trafficPolicy:
    connectionPool:
      http:
        consecutive5xxErrors: 5
"""
    (problem,) = load_text(text, "cb.yaml").problems
    assert problem.path == "spec.trafficPolicy.connectionPool.http.consecutive5xxErrors"
    assert "spec.trafficPolicy.outlierDetection.consecutive5xxErrors" in problem.message


def test_unknown_kind_and_version() -> None:
    result = load_text(
        VS.replace("kind: VirtualService", "kind: VirtualServce")
        + "---\n"
        + VS.replace("networking.istio.io/v1", "networking.istio.io/v2"),
        "k.yaml",
    )
    first, second = result.problems
    assert first.path == "kind" and "did you mean 'VirtualService'" in first.message
    assert second.path == "apiVersion" and "networking.istio.io/v1beta1" in second.message


def test_yaml_syntax_error_is_located() -> None:
    result = load_text("apiVersion: v1\nkind: [unclosed\n", "bad.yaml")
    (problem,) = result.problems
    assert problem.level is Level.ERROR and problem.source is not None
    assert problem.source.file == "bad.yaml" and "YAML syntax error" in problem.message


def test_missing_metadata_name_and_bad_name() -> None:
    result = load_text(VS.replace("  name: reviews\n", "  namespace: x\n"), "n.yaml")
    assert [p.path for p in result.problems] == ["metadata.name"]
    result = load_text(VS.replace("name: reviews", "name: Reviews_1"), "n.yaml")
    assert [p.path for p in result.problems] == ["metadata.name"]


def test_kind_list_is_expanded() -> None:
    body = "".join(
        "  - " + line + "\n" if i == 0 else "    " + line + "\n"
        for i, line in enumerate(VS.splitlines())
    )
    result = load_text("apiVersion: v1\nkind: List\nitems:\n" + body, "list.yaml")
    assert result.ok and [r.name for r in result.resources] == ["reviews"]
    assert result.resources[0].source is not None and result.resources[0].source.line == 4


def test_directories_recursive_and_stdin(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.yaml").write_text(VS)
    (tmp_path / "a" / "two.yml").write_text(VS.replace("name: reviews", "name: two"))
    (tmp_path / "a" / "notes.txt").write_text("not yaml")
    monkeypatch.setattr(sys, "stdin", io.StringIO(VS.replace("name: reviews", "name: three")))
    result = load_paths([str(tmp_path), "-", str(tmp_path / "missing.yaml")])
    assert sorted(r.name for r in result.resources) == ["reviews", "three", "two"]
    assert [p.message for p in result.problems] == [
        f"no such file or directory: {tmp_path / 'missing.yaml'}"
    ]
