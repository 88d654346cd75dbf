"""YAML source: documents split with their lines, and field paths mapped back to lines."""

from __future__ import annotations

import pytest

from sailmesh.config.yamlsource import read_text

TEXT = """\
# a comment
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
  - match:
    - uri: {prefix: /a}
---
apiVersion: v1
kind: Namespace
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("", 2),
        ("metadata.name", 5),
        ("spec.hosts", 7),
        ("spec.hosts[0]", 7),
        ("spec.http[0].route", 9),
        ("spec.http[1].match[0].uri", 12),
        ("spec.http[7]", 8),
        ("spec.nosuchfield", 6),
    ],
)
def test_line_of_the_deepest_field_present(path: str, line: int) -> None:
    docs, problems = read_text(TEXT, "vs.yaml")
    assert problems == []
    assert docs[0].line_of(path) == line


def test_documents_and_their_first_lines() -> None:
    docs, _ = read_text(TEXT, "vs.yaml")
    assert [(d.file, d.line, d.data["kind"]) for d in docs] == [
        ("vs.yaml", 2, "VirtualService"),
        ("vs.yaml", 14, "Namespace"),
    ]


def test_syntax_error_is_a_located_problem() -> None:
    docs, problems = read_text("a: 1\nb: [unclosed\n", "bad.yaml")
    assert docs == []
    [problem] = problems
    assert problem.source is not None and problem.source.file == "bad.yaml"
