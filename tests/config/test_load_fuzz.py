"""Property tests: random and mutated documents never crash loading or validation, and every
outcome is either a typed resource or problems that name the file, line and object."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sailmesh.config.load import load_text
from sailmesh.config.yamlsource import read_paths

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _sample_documents() -> list[dict[str, Any]]:
    docs, problems = read_paths([str(SAMPLES)])
    assert not problems
    return [d.data for d in docs if isinstance(d.data, dict)]


SEEDS = _sample_documents()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["", "*", "1s", "-5s", "v1", "a/b", "[", "(?=x)", "0.0.0.0/0"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(min_size=1, max_size=12), children, max_size=3),
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(values)
    return doc


def _check(text: str) -> None:
    result = load_text(text, "fuzz.yaml")
    for problem in result.problems:
        assert problem.source is not None and problem.source.file == "fuzz.yaml"
        assert problem.source.line >= 1
        assert problem.message
    for resource in result.resources:
        assert resource.kind and resource.name
        resource.to_dict()  # serialisable back to YAML data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_mutated_documents_give_resources_or_located_errors(doc: dict[str, Any]) -> None:
    text = yaml.safe_dump(doc, sort_keys=False)
    _check(text)
    result = load_text(text, "fuzz.yaml")
    if not result.resources:
        assert result.problems, "a rejected document must say why"
        assert all(
            p.ref is not None or p.path in ("", "apiVersion", "kind") for p in result.problems
        )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_crashes(text: str) -> None:
    _check(text)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["apiVersion", "kind", "metadata", "spec", "x"]), values, max_size=5
    )
)
def test_random_mappings_never_crash(doc: dict[str, Any]) -> None:
    _check(yaml.safe_dump(doc))
