"""The ordered-list operations of EnvoyFilter (filters, listener filters, routes).

In: the current items (messages), one patch, a predicate telling whether an item is the one
the patch's match names, and whether the match names one at all. Out: the new list. Istio's
semantics: ADD appends; INSERT_FIRST prepends; INSERT_BEFORE/INSERT_AFTER insert next to the
first matching item (without an item match: at the start / the end; with one that matches
nothing: no change); REPLACE replaces the first matching item; REMOVE drops every matching
item (REPLACE and REMOVE need an item match). Values are copied, never shared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from google.protobuf.message import Message

from sailmesh.xds.envoyfilter.patches import Patch, clone

M = TypeVar("M", bound=Message)

LIST_OPERATIONS = frozenset(
    {"ADD", "INSERT_FIRST", "INSERT_BEFORE", "INSERT_AFTER", "REPLACE", "REMOVE"}
)


def apply_list_operation(
    items: Sequence[M], patch: Patch, matches: Callable[[M], bool], has_item_match: bool
) -> list[M]:
    """``items`` after ``patch`` (see the module docstring); other operations change nothing."""
    out = list(items)
    op = patch.operation
    value = patch.value
    if op == "REMOVE":
        return [item for item in out if not matches(item)] if has_item_match else out
    if value is None:
        return out
    fresh: M = clone(value)
    if op == "ADD":
        return [*out, fresh]
    if op == "INSERT_FIRST":
        return [fresh, *out]
    if op in ("INSERT_BEFORE", "INSERT_AFTER"):
        if not has_item_match:
            return [fresh, *out] if op == "INSERT_BEFORE" else [*out, fresh]
        for i, item in enumerate(out):
            if matches(item):
                at = i if op == "INSERT_BEFORE" else i + 1
                return [*out[:at], fresh, *out[at:]]
        return out
    if op == "REPLACE" and has_item_match:
        for i, item in enumerate(out):
            if matches(item):
                return [*out[:i], fresh, *out[i + 1 :]]
    return out


def set_repeated(field: object, items: Sequence[Message]) -> None:
    """Replace the contents of a repeated message field with ``items``."""
    del field[:]  # type: ignore[attr-defined]
    field.extend(items)  # type: ignore[attr-defined]
