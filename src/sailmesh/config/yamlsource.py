"""Reading YAML: files, directories (recursive) and stdin, split into documents with line numbers.

Uses libyaml (the C loader). Each document keeps its node tree so a field path such as
``spec.http[0].route[1].weight`` can be mapped back to the line it was written on.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sailmesh.config.diagnostics import Level, Problem, Source

YAML_SUFFIXES = (".yaml", ".yml", ".json")
_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class YamlDocument:
    """One YAML document: its data, the file and 1-based line it starts on, and its node tree."""

    data: Any
    file: str
    line: int
    node: yaml.Node | None = field(default=None, repr=False)

    @property
    def source(self) -> Source:
        return Source(self.file, self.line)

    def line_of(self, path: str) -> int | None:
        """1-based line of the deepest field on ``path`` present in the document (its key's line)."""
        node = self.node
        if node is None:
            return None
        line = node.start_mark.line + 1
        for name, index in _PATH_TOKEN.findall(path):
            step = _child(node, name, index)
            if step is None:
                break
            line, node = step
        return line


def _child(node: yaml.Node, name: str, index: str) -> tuple[int, yaml.Node] | None:
    """The child named ``name`` (mapping) or at ``index`` (sequence), with the line it is written on."""
    if index and isinstance(node, yaml.SequenceNode):
        i = int(index)
        if i < len(node.value):
            return node.value[i].start_mark.line + 1, node.value[i]
        return None
    if name and isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == name:
                return key.start_mark.line + 1, value
    return None


def read_text(text: str, file: str) -> tuple[list[YamlDocument], list[Problem]]:
    """Split ``text`` into documents; a syntax error is reported at its line."""
    docs: list[YamlDocument] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            data = loader.construct_document(node)
            if data is None:
                continue
            docs.append(YamlDocument(data, file, node.start_mark.line + 1, node))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        return docs, [
            Problem(Level.ERROR, f"YAML syntax error: {reason}", source=Source(file, line))
        ]
    finally:
        loader.dispose()
    return docs, []


def iter_files(path: Path) -> Iterator[Path]:
    """``path`` itself, or every YAML/JSON file under it (recursive, sorted, hidden skipped)."""
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.endswith(YAML_SUFFIXES) and not name.startswith("."):
                    yield Path(root) / name
    else:
        yield path


def read_paths(paths: Iterable[str]) -> tuple[list[YamlDocument], list[Problem]]:
    """Read documents from files, directories and ``-`` (stdin)."""
    docs: list[YamlDocument] = []
    problems: list[Problem] = []
    for raw in paths:
        if raw == "-":
            found, errs = read_text(sys.stdin.read(), "-")
            docs += found
            problems += errs
            continue
        path = Path(raw)
        if not path.exists():
            problems.append(Problem(Level.ERROR, f"no such file or directory: {raw}"))
            continue
        for file in iter_files(path):
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(Problem(Level.ERROR, f"cannot read {file}: {exc}"))
                continue
            found, errs = read_text(text, str(file))
            docs += found
            problems += errs
    return docs, problems
