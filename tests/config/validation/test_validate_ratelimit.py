"""RateLimitPolicy validation: a table of documents and the problems (path, message) they get."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sailmesh.config.load import load_text


def _doc(spec: dict[str, Any]) -> str:
    return json.dumps(
        {
            "apiVersion": "sailmesh.io/v1alpha1",
            "kind": "RateLimitPolicy",
            "metadata": {"name": "rl", "namespace": "default"},
            "spec": spec,
        }
    )


OK_LIMIT = {"name": "all", "requests": 10, "per": "1s"}

CASES: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    ("valid", {"selector": {"matchLabels": {"app": "a"}}, "limits": [OK_LIMIT, {"name": "u", "requests": 1, "per": "1m", "perHeader": "x-user", "match": {"path": {"prefix": "/api"}, "method": "GET", "headers": {"x-a": {"regex": "^b.*"}}}}]}, []),
    ("no limits", {"limits": []}, [("spec.limits", "at least one limit")]),
    ("empty selector", {"selector": {"matchLabels": {}}, "limits": [OK_LIMIT]}, [("spec.selector.matchLabels", "at least one label")]),
    ("missing fields", {"limits": [{}]}, [("spec.limits[0].name", "required"), ("spec.limits[0].requests", "required"), ("spec.limits[0].per", "required")]),
    ("bad values", {"limits": [{"name": "A b", "requests": 0, "per": "10ms"}]}, [("spec.limits[0].name", "lowercase"), ("spec.limits[0].requests", "at least 1"), ("spec.limits[0].per", "at least 50ms")]),
    ("two defaults", {"limits": [OK_LIMIT, {**OK_LIMIT, "name": "other"}]}, [("spec.limits[1]", "only one limit")]),
    ("duplicate names", {"limits": [OK_LIMIT, {**OK_LIMIT, "perHeader": "x-u"}]}, [("spec.limits[1].name", "duplicate")]),
    ("bad match", {"limits": [{**OK_LIMIT, "match": {"path": {"exact": "/a", "prefix": "/b"}, "method": "FETCH", "headers": {"X-A": {"regex": "("}}}}]}, [("spec.limits[0].match.path", "exactly one"), ("spec.limits[0].match.method", "unknown method"), ("spec.limits[0].match.headers.X-A", "lowercase"), ("spec.limits[0].match.headers.X-A.regex", "invalid regex")]),
    ("empty match", {"limits": [{**OK_LIMIT, "match": {}}]}, [("spec.limits[0].match", "empty match")]),
    ("bad header", {"limits": [{**OK_LIMIT, "perHeader": "X User"}]}, [("spec.limits[0].perHeader", "header name")]),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rate_limit_policy(spec: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    result = load_text(_doc(spec), "rl.yaml")
    got = [(p.path, p.message) for p in result.problems]
    assert [path for path, _ in got] == [path for path, _ in expected], got
    for (_, message), (_, wanted) in zip(got, expected, strict=True):
        assert wanted in message, got
    assert all(str(p.ref) == "RateLimitPolicy default/rl" for p in result.problems)
    assert all(p.source is not None and p.source.file == "rl.yaml" for p in result.problems)
