"""Telemetry objects for the telemetry tests, from short YAML (see config_support.manifests)."""

from __future__ import annotations

from config_support.manifests import manifests
from sailmesh.config.load import load_text
from sailmesh.config.resource import Resource


def objects(text: str) -> list[Resource]:
    result = load_text(manifests(text), "test.yaml")
    assert result.ok, result.problems
    return result.resources
