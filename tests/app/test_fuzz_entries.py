"""Fuzzing the three config entries: ``validate`` (load_text), ``analyze`` and ``apply``
against a running control plane (its API), with documents mutated from the bookinfo samples.

Properties: nothing raises, no analyzer reports an internal error, the API never answers 500
and answers each example within a bounded time, every problem about an object names a field
path, and the control plane still serves afterwards. Fixed seed (derandomized); the example
count is ``SAILMESH_FUZZ_EXAMPLES`` (1,000 by default, ~10 s; the long run is 100,000).
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config_support.mutation import pick_place, sample_documents
from e2e_support.controlplane import ControlPlaneThread
from sailmesh.app.api import ApiClient
from sailmesh.config.analysis.run import analyze
from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text

EXAMPLES = int(os.environ.get("SAILMESH_FUZZ_EXAMPLES", "1000"))
PER_EXAMPLE_S = 5.0
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "bookinfo"


SEEDS = sample_documents(SAMPLES)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(["", "*", "0s", "-1s", "1e400", "v1", "a/b", "(", "::", "1.2.3.4/99", "é☃𝄞"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = {"x": [value]}
    return value


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 5))):
        place = pick_place(draw, doc)
        if place is None:
            break
        parent, key = place
        action = draw(st.sampled_from(["replace", "drop", "rename", "add", "nest", "huge"]))
        if action == "replace":
            parent[key] = draw(values)
        elif action == "drop":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = parent.pop(key)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(values)
        elif action == "nest":
            parent[key] = _nest(parent[key], draw(st.integers(1, 60)))
        elif action == "huge":
            parent[key] = draw(st.sampled_from([2**64, -(2**63) - 1, 10**30, 1e308, "9" * 400]))
    return doc


@st.composite
def texts(draw: st.DrawFn) -> str:
    """YAML text of one or two mutated documents, sometimes damaged as text."""
    docs = [draw(mutated()) for _ in range(draw(st.integers(1, 2)))]
    text = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)
    lines = text.splitlines(keepends=True)
    damage = draw(st.sampled_from(["none", "none", "duplicate", "truncate", "insert", "alias"]))
    if damage == "duplicate" and lines:  # a duplicated line is usually a duplicate key
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(i, lines[i])
    elif damage == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    elif damage == "insert" and lines:
        junk = draw(st.sampled_from(["\t", "{", "&a", "*a", "- ", ": :", "\x00", "\ufeff", "'"]))
        lines.insert(draw(st.integers(0, len(lines))), junk + "\n")
    elif damage == "alias":
        lines[:0] = ["x0: &a [1, {b: *a}]\n"] if draw(st.booleans()) else ["x0: &a [1]\n"]
    return "".join(lines)


class Target:
    def __init__(self, cp: ControlPlaneThread) -> None:
        assert cp.api_socket is not None
        self.cp = cp
        self.api = ApiClient(cp.api_socket, timeout=30)
        self.stats = {"examples": 0, "accepted": 0, "rejected": 0, "slowest": 0.0}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    work = tmp_path_factory.mktemp("fuzz")
    cp = ControlPlaneThread(work / "state", api_socket=work / "api.sock")
    cp.start()
    t = Target(cp)
    try:
        yield t
    finally:
        s = t.stats
        print(
            f"\nfuzz: {s['examples']} examples through validate, analyze and apply: "
            f"{s['accepted']} applied, {s['rejected']} rejected with field paths, 0 crashes, "
            f"0 API 500s; slowest example {s['slowest'] * 1000:.0f} ms "
            f"(bound {PER_EXAMPLE_S:g} s)"
        )
        cp.close()


def check_validate_and_analyze(text: str) -> None:
    result = load_text(text, "fuzz.yaml")
    for problem in result.problems:
        assert problem.message and problem.source is not None, problem
        if problem.ref is not None and problem.level is Level.ERROR:
            assert problem.path, f"a rejection without a field path: {problem}"
        assert "internal validation error" not in problem.message, problem
    messages = analyze(result.resources, result.problems)
    internal = [m for m in messages if m.code == "IST0001"]
    assert not internal, internal


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=texts())
def test_fuzzed_documents_never_crash_any_entry(target: Target, text: str) -> None:
    started = time.monotonic()
    check_validate_and_analyze(text)
    status, body = target.api.request("POST", "/v1/apply", {"yaml": text, "file": "fuzz.yaml"})
    elapsed = time.monotonic() - started
    assert status in (200, 409, 422), (status, body)
    assert elapsed < PER_EXAMPLE_S, f"{elapsed:.1f} s for one example"
    if status == 422:
        for problem in body["problems"]:
            assert problem.startswith("error: fuzz.yaml:") or "warning" in problem, problem
    s = target.stats
    s["examples"] += 1
    s["accepted" if status == 200 else "rejected"] += 1
    s["slowest"] = max(s["slowest"], elapsed)
    assert target.api.request("GET", "/v1/version")[0] == 200, "the control plane still serves"
