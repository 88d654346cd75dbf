"""Reading YAML: files, directories (recursive) and stdin, split into documents with line numbers.

Uses libyaml (the C loader). Each document keeps its node tree so a field path such as
``spec.http[0].route[1].weight`` can be mapped back to the line it was written on.

Limits, each reported as a problem (nothing of the text is loaded): :data:`MAX_TEXT_BYTES` of
YAML per text, :data:`MAX_DOCUMENTS` documents per text, :data:`MAX_VALUES` values per text once
aliases are expanded (a "billion laughs" document is small until expanded), and no alias that
contains itself. libyaml itself refuses nesting deeper than its own limit.
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

#: The most YAML one text (one file, one ``apply``) may hold, in bytes of UTF-8.
MAX_TEXT_BYTES = 8 * 1024 * 1024
#: The most documents one text may hold.
MAX_DOCUMENTS = 10_000
#: The most values (mappings, sequences, scalars) one text may hold once aliases are expanded.
MAX_VALUES = 4_000_000


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


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
    """Split ``text`` into documents; a syntax error is reported at its line, a text over a
    limit (see the module) as one problem, with no documents."""
    size = _utf8_size(text)
    if size > MAX_TEXT_BYTES:
        return [], [
            _problem(
                file,
                1,
                f"the YAML is {size} bytes ({size / (1024 * 1024):.1f} MiB); "
                f"the limit is {_mib(MAX_TEXT_BYTES)} per file or apply: split it",
            )
        ]
    docs: list[YamlDocument] = []
    loader = _Loader(text)
    values = 0
    # Aliases need an anchor (``&name``): without one no node is shared, nothing expands, and
    # the text-size limit already bounds the values, so the walk below is skipped.
    may_alias = "&" in text
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            if len(docs) >= MAX_DOCUMENTS:
                return [], [
                    _problem(file, line, f"more than {MAX_DOCUMENTS} documents: split the input")
                ]
            count = expanded_values(node, MAX_VALUES - values) if may_alias else 0
            if count is None:
                return [], [_problem(file, line, "a YAML alias refers to a node that contains it")]
            values += count
            if values > MAX_VALUES:
                return [], [
                    _problem(
                        file,
                        line,
                        f"more than {MAX_VALUES} values once YAML aliases are expanded: "
                        "the input is too large",
                    )
                ]
            data = loader.construct_document(node)
            if data is None:
                continue
            docs.append(YamlDocument(data, file, line, node))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        return docs, [_problem(file, line, f"YAML syntax error: {reason}")]
    finally:
        loader.dispose()
    return docs, []


def _problem(file: str, line: int, message: str) -> Problem:
    return Problem(Level.ERROR, message, source=Source(file, line))


def _utf8_size(text: str) -> int:
    if len(text) * 4 <= MAX_TEXT_BYTES:  # cannot be over the limit: skip the copy
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def expanded_values(root: yaml.Node, budget: int) -> int | None:
    """How many values the node tree holds with every alias expanded, counting at most to
    ``budget + 1``; None when an alias refers to a node that contains it.

    Aliases are shared nodes in the tree, so each distinct node is visited once (iteratively:
    the depth is libyaml's to limit, not Python's recursion).
    """
    sizes: dict[int, int] = {}
    ancestors: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            ancestors.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            sizes[key] = min(total, budget + 1)
            continue
        if key in sizes:
            continue
        ancestors.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in ancestors:
                return None
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def duplicate_keys(root: yaml.Node | None) -> list[tuple[str, int]]:
    """``(field path, line)`` of every mapping key written a second time in its mapping (YAML
    keeps the last value silently; Kubernetes rejects such objects). Each node is walked once."""
    found: list[tuple[str, int]] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")] if root is not None else []
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            names: set[str] = set()
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                if name is None:
                    continue
                child = f"{path}.{name}" if path else name
                if name in names:
                    found.append((child, key.start_mark.line + 1))
                names.add(name)
                stack.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(node.value))
    return sorted(found, key=lambda hit: hit[1])


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
