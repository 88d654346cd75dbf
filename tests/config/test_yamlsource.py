"""YAML source: documents split with their lines, and field paths mapped back to lines."""

from __future__ import annotations

import pytest

from sailmesh.config import yamlsource
from sailmesh.config.yamlsource import duplicate_keys, read_text

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


def test_a_text_over_the_size_limit_is_one_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsource, "MAX_TEXT_BYTES", 100)
    docs, [problem] = read_text("a: " + "é" * 60 + "\n", "big.yaml")  # 124 bytes, 64 chars
    assert docs == [] and problem.message.endswith("per file or apply: split it")
    assert "124 bytes" in problem.message and str(problem.source) == "big.yaml:1"


def test_too_many_documents_is_one_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsource, "MAX_DOCUMENTS", 3)
    assert len(read_text("a: 1\n---\na: 2\n---\na: 3\n", "f")[0]) == 3
    docs, [problem] = read_text("a: 1\n---\na: 2\n---\na: 3\n---\na: 4\n", "f")
    assert docs == [] and "more than 3 documents" in problem.message
    assert problem.source is not None and problem.source.line == 7


def test_aliases_count_expanded_and_cycles_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsource, "MAX_VALUES", 50)
    shared = "a: &x [1, 2, 3]\nb: [*x, *x, *x]\n"  # 19 values expanded
    assert read_text(shared, "f")[1] == []
    bomb = "a: &x [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: &y [*x, *x, *x, *x, *x, *x]\n"
    docs, [problem] = read_text(bomb, "f")
    assert docs == [] and "more than 50 values once YAML aliases are expanded" in problem.message
    docs, [problem] = read_text("a: &x {b: *x}\n", "f")
    assert docs == [] and "refers to a node that contains it" in problem.message


def test_duplicate_keys_with_paths_and_lines() -> None:
    [doc], _ = read_text("a: 1\nb:\n  - {c: 1, c: 2}\na: 3\n", "f")
    assert duplicate_keys(doc.node) == [("b[0].c", 3), ("a", 4)]
