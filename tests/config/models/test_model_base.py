"""Shared value types of the models: Istio durations."""

from __future__ import annotations

import pytest

from sailmesh.config.models.base import camel_alias, parse_duration_nanos


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("1s", 10**9),
        ("0.5s", 5 * 10**8),
        ("250ms", 25 * 10**7),
        ("1m30s", 90 * 10**9),
        ("1h", 3600 * 10**9),
        ("10us", 10**4),
        ("0", 0),
        ("-1s", -(10**9)),
        (".5s", 5 * 10**8),
    ],
)
def test_duration_parsing(text: str, nanos: int) -> None:
    assert parse_duration_nanos(text) == nanos


@pytest.mark.parametrize("text", ["", "5", "1x", "s", "1s2", "1.2.3s", "--1s"])
def test_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration_nanos(text)


@pytest.mark.parametrize(
    ("name", "alias"),
    [
        ("hosts", "hosts"),
        ("consecutive_5xx_errors", "consecutive5xxErrors"),
        ("h2_upgrade_policy", "h2UpgradePolicy"),
        ("max_requests_per_connection", "maxRequestsPerConnection"),
    ],
)
def test_camel_alias(name: str, alias: str) -> None:
    assert camel_alias(name) == alias
