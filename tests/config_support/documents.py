"""YAML documents for validation tests, built from a kind and a spec, and checks on what loads."""

from __future__ import annotations

from typing import Any

import yaml

from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text


def istio_doc(
    group: str,
    kind: str,
    spec: dict[str, Any] | None,
    version: str = "v1",
    *,
    name: str = "x",
    namespace: str = "default",
    sort_keys: bool = True,
    **meta: Any,
) -> str:
    """One Istio object as YAML; ``spec=None`` leaves the spec out."""
    data: dict[str, Any] = {
        "apiVersion": f"{group}/{version}",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, **meta},
    }
    if spec is not None:
        data["spec"] = spec
    return yaml.safe_dump(data, sort_keys=sort_keys)


def networking_doc(kind: str, spec: dict[str, Any], version: str = "v1", name: str = "x") -> str:
    """A networking.istio.io object in namespace ``default``."""
    return istio_doc("networking.istio.io", kind, spec, version, name=name)


def problems_at(text: str, level: Level) -> list[tuple[str, str]]:
    """(field path, message) of every problem of ``level`` found loading ``text``."""
    return [(p.path, p.message) for p in load_text(text).problems if p.level is level]


def assert_rejected(text: str, path: str, fragment: str) -> None:
    """``text`` loads no resource, and one error at ``path`` says ``fragment``."""
    result = load_text(text)
    errors = [p for p in result.problems if p.level is Level.ERROR]
    assert not result.resources
    assert any(p.path == path and fragment in p.message for p in errors), errors
