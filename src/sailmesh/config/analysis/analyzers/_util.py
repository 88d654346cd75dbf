"""Helpers shared by the analyzers: walking VirtualService destinations with their field paths."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sailmesh.config.analysis.context import MESH_GATEWAY
from sailmesh.config.resource import Resource


@dataclass(frozen=True)
class Dest:
    """A destination of a VirtualService route and the path of its ``host`` field."""

    destination: Any
    path: str
    mirror: bool = False

    @property
    def host(self) -> str:
        return str(self.destination.host or "")

    @property
    def subset(self) -> str:
        return str(getattr(self.destination, "subset", None) or "")

    @property
    def port(self) -> int | None:
        port = getattr(self.destination, "port", None)
        number = getattr(port, "number", None) if port is not None else None
        return int(number) if number else None


def route_destinations(vs: Resource) -> Iterator[Dest]:
    """Destinations of ``http``, ``tcp`` and ``tls`` routes (not mirrors)."""
    spec = vs.spec
    for kind in ("http", "tcp", "tls"):
        for i, rule in enumerate(getattr(spec, kind, None) or []):
            for j, route in enumerate(rule.route or []):
                if route.destination is not None:
                    yield Dest(route.destination, f"spec.{kind}[{i}].route[{j}].destination.host")


def mirror_destinations(vs: Resource) -> Iterator[Dest]:
    """``http[].mirror`` and ``http[].mirrors[].destination``."""
    for i, rule in enumerate(vs.spec.http or []):
        if getattr(rule, "mirror", None) is not None:
            yield Dest(rule.mirror, f"spec.http[{i}].mirror.host", mirror=True)
        for k, m in enumerate(getattr(rule, "mirrors", None) or []):
            if m.destination is not None:
                yield Dest(m.destination, f"spec.http[{i}].mirrors[{k}].destination.host", True)


def vs_gateways(vs: Resource) -> list[str]:
    """The gateways a VirtualService binds to (``mesh`` when none is listed)."""
    return list(vs.spec.gateways or []) or [MESH_GATEWAY]


def match_labels(selector: Any) -> dict[str, str] | None:
    """Labels of a ``selector`` (``matchLabels``) or ``workloadSelector`` (``labels``)."""
    if selector is None:
        return None
    labels = getattr(selector, "match_labels", None)
    if labels is None:
        labels = getattr(selector, "labels", None)
    return dict(labels) if labels else None


def name_list(resources: list[Resource]) -> str:
    """Go's ``%v`` of a list of ``ns/name`` strings: ``[ns/a ns/b]``."""
    return "[" + " ".join(f"{r.namespace}/{r.name}" for r in resources) + "]"


def selector_path(resource: Resource, field: str, labels: dict[str, str]) -> str:
    """Path of the first label of a selector (``spec.selector.matchLabels.app``)."""
    keys = sorted(labels)
    return f"{field}.{keys[0]}" if keys and "." not in keys[0] else field
