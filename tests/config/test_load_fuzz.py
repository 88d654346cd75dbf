"""Property tests: random and mutated documents never crash loading or validation, and every
outcome is either a typed resource or problems that name the file, line and object."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config_support.mutation import pick_place, sample_documents
from sailmesh.config.load import load_text

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


SEEDS = sample_documents(SAMPLES)

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


@st.composite
def mutated_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        place = pick_place(draw, doc)
        if place is None:
            break
        parent, key = place
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
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
