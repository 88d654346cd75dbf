"""The Prometheus add-on's HTTP API for tests: instant queries, and waiting for a value."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

Series = list[tuple[dict[str, str], float]]


def api(url: str, path: str, **params: str) -> dict[str, Any]:
    """GET ``/api/v1/<path>``; the decoded answer (``status`` is ``success`` or ``error``)."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    try:
        with urllib.request.urlopen(f"{url}/api/v1/{path}{query}", timeout=10) as response:
            answer: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as exc:  # 400/422: bad expressions come back as JSON
        answer = json.load(exc)
    return answer


def query(url: str, expr: str) -> Series:
    """The instant vector of ``expr`` (labels, value); fails on a query error."""
    answer = api(url, "query", query=expr)
    assert answer["status"] == "success", (expr, answer)
    data = answer["data"]
    if data["resultType"] == "scalar":
        return [({}, float(data["result"][1]))]
    return [(r["metric"], float(r["value"][1])) for r in data["result"]]


def value(url: str, expr: str) -> float:
    """The single value of ``expr`` (0 when it has no series)."""
    found = query(url, expr)
    assert len(found) <= 1, (expr, found)
    return found[0][1] if found else 0.0


def wait_for_value(
    url: str, expr: str, accept: Callable[[float], bool], timeout: float = 30.0
) -> float:
    """Poll ``expr`` until ``accept(value)``; its last value (fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        current = value(url, expr)
        if accept(current):
            return current
        assert time.monotonic() < deadline, f"{expr} stayed at {current} for {timeout}s"
        time.sleep(0.5)
