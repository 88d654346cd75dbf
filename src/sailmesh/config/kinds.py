"""The kinds sailmesh understands: group, served versions, body model and validator per kind.

Each API group contributes a ``KINDS`` tuple from ``sailmesh.config.validation.<group>``; this
module joins them into lookups by kind and by ``apiVersion``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError, create_model

from sailmesh.config.models.base import Model

if TYPE_CHECKING:
    from sailmesh.config.diagnostics import Report
    from sailmesh.config.resource import Resource

Validator = Callable[["Resource", "Report"], None]


@dataclass(frozen=True)
class KindInfo:
    """Static facts about one kind."""

    kind: str
    group: str
    versions: tuple[str, ...]
    plural: str
    body: type[Model]
    validate: Validator | None = None
    namespaced: bool = True
    deprecated_versions: tuple[str, ...] = ()

    @property
    def api_versions(self) -> tuple[str, ...]:
        return tuple(f"{self.group}/{v}" if self.group else v for v in self.versions)

    @property
    def preferred_api_version(self) -> str:
        return self.api_versions[0]


def istio_body(kind: str, spec: type[Model]) -> type[Model]:
    """Body model for an Istio kind: ``spec`` (typed) plus a free-form ``status`` that is ignored."""
    try:
        default: Any = spec()
    except ValidationError:
        default = ...
    body: type[Model] = create_model(
        f"{kind}Object",
        __base__=Model,
        spec=(spec, default),
        status=(dict[str, Any] | None, None),
    )
    return body


@cache
def all_kinds() -> tuple[KindInfo, ...]:
    from sailmesh.config.validation import (
        extensions,
        install,
        kubernetes,
        networking,
        security,
        telemetry,
    )

    return (
        *networking.KINDS,
        *security.KINDS,
        *telemetry.KINDS,
        *extensions.KINDS,
        *kubernetes.KINDS,
        *install.KINDS,
    )


@cache
def _by_api_version() -> dict[tuple[str, str], KindInfo]:
    return {(api, k.kind): k for k in all_kinds() for api in k.api_versions}


@cache
def _by_name() -> dict[str, KindInfo]:
    out: dict[str, KindInfo] = {}
    for k in all_kinds():
        for alias in (k.kind, k.kind.lower(), k.plural):
            out.setdefault(alias, k)
    return out


def lookup(api_version: str, kind: str) -> KindInfo | None:
    """The kind served at ``apiVersion``, or None."""
    return _by_api_version().get((api_version, kind))


def find_kind(name: str) -> KindInfo | None:
    """A kind by its name, lowercase name or plural (as ``sailctl get`` accepts)."""
    return _by_name().get(name) or _by_name().get(name.lower())


def kinds_named(kind: str) -> list[KindInfo]:
    return [k for k in all_kinds() if k.kind == kind]
