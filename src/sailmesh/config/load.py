"""Entry points: read YAML from paths or text and return typed resources plus located problems."""

from __future__ import annotations

from collections.abc import Iterable

from sailmesh.config.parse import DEFAULT_NAMESPACE, ParseResult, parse_documents
from sailmesh.config.yamlsource import read_paths, read_text


def load_paths(paths: Iterable[str], default_namespace: str = DEFAULT_NAMESPACE) -> ParseResult:
    """Load files, directories (recursive) and ``-`` (stdin)."""
    docs, problems = read_paths(paths)
    result = parse_documents(docs, default_namespace)
    result.problems[:0] = problems
    return result


def load_text(
    text: str, file: str = "<text>", default_namespace: str = DEFAULT_NAMESPACE
) -> ParseResult:
    """Load YAML text (one or many documents)."""
    docs, problems = read_text(text, file)
    result = parse_documents(docs, default_namespace)
    result.problems[:0] = problems
    return result
