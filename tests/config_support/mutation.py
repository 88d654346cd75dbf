"""What the fuzz tests share: seed documents read from the samples, and picking the place in
a document (a parent container and its key or index) that a mutation changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from sailmesh.config.yamlsource import read_paths


def sample_documents(root: Path) -> list[dict[str, Any]]:
    """The mapping documents of every YAML file under ``root`` (all must read cleanly)."""
    docs, problems = read_paths([str(root)])
    assert not problems
    return [d.data for d in docs if isinstance(d.data, dict)]


def value_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path (keys and indexes) of every value in ``node``, ``node`` itself first."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += value_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += value_paths(v, (*prefix, i))
    return out


def pick_place(draw: st.DrawFn, doc: dict[str, Any]) -> tuple[Any, Any] | None:
    """A value of ``doc`` drawn at random, as (its parent container, its key or index);
    None when ``doc`` holds nothing."""
    paths = [p for p in value_paths(doc) if p]
    if not paths:
        return None
    path = draw(st.sampled_from(paths))
    parent: Any = doc
    for part in path[:-1]:
        parent = parent[part]
    return parent, path[-1]
