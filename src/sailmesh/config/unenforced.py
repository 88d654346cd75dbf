"""Finding the uses of fields sailmesh accepts but does not enforce (SM0001 NotEnforced).

In: a :class:`~sailmesh.config.resource.Resource`. Out: one :class:`Use` per concrete field
path (``spec.http[0].retries.retryRemoteLocalities``) that matches an entry of
:data:`sailmesh.config.enforcement.NOT_ENFORCED`, and the same as warnings
(:func:`not_enforced_problems`) or one-line messages for ``sailctl apply``
(:func:`apply_warning`).

The resource is read through its typed body (camelCase names, defaults left out), so fields
that are unset, set to their default, empty, or ``false`` are not uses; a whole-kind entry
matches every object of the kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from sailmesh.config.diagnostics import Level, Problem, join_path
from sailmesh.config.enforcement import NOT_ENFORCED, WHOLE_KIND, NotEnforced
from sailmesh.config.resource import Resource

CODE = "SM0001"
NAME = "NotEnforced"
TEMPLATE = "not enforced: %s"
_ANY_ITEM = "[*]"
_ANY_KEY = "*"


@dataclass(frozen=True)
class Use:
    """A field of a resource that is set and not enforced."""

    path: str
    entry: NotEnforced

    @property
    def message(self) -> str:
        return TEMPLATE % self.entry.reason


def split_pattern(pattern: str) -> tuple[str, ...]:
    """``spec.http[*].retries`` -> ``("spec", "http", "[*]", "retries")``."""
    out: list[str] = []
    for part in pattern.split("."):
        name = part.removesuffix(_ANY_ITEM)
        items = 0
        while name != part:
            items += 1
            part, name = name, name.removesuffix(_ANY_ITEM)
        if name:
            out.append(name)
        out += [_ANY_ITEM] * items
    return tuple(out)


@cache
def _by_kind() -> dict[str, tuple[tuple[NotEnforced, tuple[str, ...]], ...]]:
    grouped: dict[str, list[tuple[NotEnforced, tuple[str, ...]]]] = {}
    for entry in NOT_ENFORCED:
        grouped.setdefault(entry.kind, []).append((entry, split_pattern(entry.path)))
    return {kind: tuple(entries) for kind, entries in grouped.items()}


def _is_use(value: Any, entry: NotEnforced) -> bool:
    if value is None or value is False or value in ("", [], {}):
        return False
    if entry.except_values and str(value).upper() in {v.upper() for v in entry.except_values}:
        return False
    return entry.when is None or entry.when(value)


def _walk(value: Any, segments: tuple[str, ...], path: str, entry: NotEnforced) -> Iterator[str]:
    if not segments:
        if _is_use(value, entry):
            yield path
        return
    head, rest = segments[0], segments[1:]
    if head == _ANY_ITEM:
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from _walk(item, rest, join_path(path, i), entry)
        return
    if not isinstance(value, dict):
        return
    if head == _ANY_KEY:
        for key in value:
            if str(key) not in entry.except_keys:
                yield from _walk(value[key], rest, join_path(path, str(key)), entry)
    elif head in value:
        yield from _walk(value[head], rest, join_path(path, head), entry)


def _document(resource: Resource) -> dict[str, Any]:
    """The resource's body as Istio's YAML data, unset and default fields left out."""
    return resource.body.model_dump(by_alias=True, exclude_defaults=True, mode="json")


def find_unenforced(resource: Resource) -> list[Use]:
    """Every use in ``resource`` of a kind or field sailmesh does not enforce, in table order."""
    entries = _by_kind().get(resource.kind, ())
    if not entries:
        return []
    document = _document(resource)
    uses: list[Use] = []
    for entry, segments in entries:
        if entry.whole_kind:
            uses.append(Use(WHOLE_KIND, entry))
            continue
        uses.extend(Use(path, entry) for path in _walk(document, segments, "", entry))
    return uses


def not_enforced_problems(resources: Iterable[Resource]) -> list[Problem]:
    """SM0001 warnings, one per use, with the field path and located at the field's line."""
    return [
        Problem(
            Level.WARNING,
            use.message,
            use.path,
            r.ref,
            r.source_at(use.path) if r.source is not None else None,
            CODE,
        )
        for r in resources
        for use in find_unenforced(r)
    ]


def apply_warning(problem: Problem) -> str:
    """``Warning: [SM0001] AuthorizationPolicy default/deny-all spec: not enforced: ...``."""
    ref = f" {problem.ref}" if problem.ref is not None else ""
    return f"{problem.level.title}: [{problem.code}]{ref} {problem.path}: {problem.message}"
