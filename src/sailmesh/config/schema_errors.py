"""Pydantic's validation errors turned into field-path problems with helpful messages.

Unknown fields get a "did you mean" hint, a hint for fields people bring from older Istio APIs,
or the place where such a field does exist in the kind's schema.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from sailmesh.config.diagnostics import Level, Problem


def loc_to_path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def pydantic_problems(
    exc: ValidationError, root: type[BaseModel], prefix: tuple[str, ...] = ()
) -> list[Problem]:
    errors = exc.errors(include_url=False)
    unknown: dict[tuple[Any, ...], set[str]] = {}
    for err in errors:
        if err["type"] == "extra_forbidden":
            unknown.setdefault(tuple(err["loc"])[:-1], set()).add(str(err["loc"][-1]))
    problems = []
    for err in errors:
        loc = tuple(err["loc"])
        siblings = frozenset(unknown.get(loc[:-1], set()) - {str(loc[-1]) if loc else ""})
        path = loc_to_path(prefix + loc)
        problems.append(Problem(Level.ERROR, _message(err, root, loc, siblings), path))
    return problems


def _message(
    err: Any, root: type[BaseModel], loc: tuple[Any, ...], siblings: frozenset[str] = frozenset()
) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return _unknown_field_message(root, loc, siblings)
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"invalid value {err.get('input')!r}: must be one of {expected}"
    if kind in ("value_error", "assertion_error"):
        return str(err.get("ctx", {}).get("error", err["msg"]))
    return f"{err['msg']} (got {_short(err.get('input'))})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# Fields people write from older Istio APIs or other tools, and what Istio wants instead,
# keyed by (model class name, field name).
_FIELD_HINTS: dict[tuple[str, str], str] = {
    (
        "Server",
        "redirect",
    ): "to redirect HTTP to HTTPS set `tls: {httpsRedirect: true}` on this server",
    ("Tracing", "sampling"): "set the sampling rate with `randomSamplingPercentage: <0-100>`",
    ("Tracing", "overrides"): "tracing has no overrides: use `customTags` for span tags; "
    "metric overrides belong under spec.metrics[].overrides",
    (
        "MetricsOverrides",
        "dimensions",
    ): "metric labels are set with `tagOverrides: {<tag>: {value: <expression>}}`",
    (
        "MetricsOverrides",
        "tagged_fields",
    ): "metric labels are set with `tagOverrides: {<tag>: {value: <expression>}}`",
    ("WorkloadEntrySpec", "port"): "endpoint ports are a map from service port name to number, "
    "e.g. `ports: {http: 8080}`",
    (
        "TCPSettings",
        "keepAlive",
    ): "TCP keepalive is `tcpKeepalive: {time: 7200s, interval: 75s, probes: 9}`",
}


def _unknown_field_message(
    root: type[BaseModel], loc: tuple[Any, ...], siblings: frozenset[str] = frozenset()
) -> str:
    name = str(loc[-1])
    parent = model_at(root, loc[:-1])
    msg = f"unknown field {name!r}"
    if parent is None:
        return msg
    hint = _FIELD_HINTS.get((parent.__name__, name))
    if hint:
        return f"{msg}; {hint}"
    allowed = sorted(_aliases(parent))
    by_lower = {a.lower(): a for a in allowed}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.75)
    if close:
        return f"{msg}; did you mean {by_lower[close[0]]!r}?"
    index = field_index(root)
    elsewhere = [p for p in index.get(name, ()) if p != loc_to_path(loc)]
    if elsewhere:
        # Prefer the place where this object's other misplaced fields also belong.
        def fit(path: str) -> tuple[int, int]:
            parent_path = path.rpartition(".")[0]
            shared = sum(f"{parent_path}.{s}" in index.get(s, ()) for s in siblings)
            return (-shared, path.count("."))

        elsewhere.sort(key=fit)
        return f"{msg} here; {name!r} belongs under {_or_list(elsewhere)}"
    if allowed:
        return f"{msg}; valid fields here: {', '.join(allowed)}"
    return msg


def _or_list(paths: list[str]) -> str:
    shown = paths[:3]
    return " or ".join(shown) + (f" (and {len(paths) - 3} more)" if len(paths) > 3 else "")


def _aliases(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def _model_args(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_args(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, dict, set, frozenset):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out += _model_args(arg)
        return out
    return [annotation]


def _submodel(annotation: Any) -> type[BaseModel] | None:
    for arg in _model_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class describing the object at ``loc`` (list indexes and map keys skipped)."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        by_alias = {(f.alias or n): f for n, f in model.model_fields.items()}
        fld = by_alias.get(str(part)) or model.model_fields.get(str(part))
        if fld is None:
            continue  # a map key: stay on the value model
        model = _submodel(fld.annotation)
    return model


@cache
def field_index(root: type[BaseModel]) -> dict[str, list[str]]:
    """Every field name reachable from ``root`` mapped to the paths where it is valid."""
    index: dict[str, list[str]] = {}

    def walk(model: type[BaseModel], path: str, seen: frozenset[type[BaseModel]]) -> None:
        for name, fld in model.model_fields.items():
            alias = fld.alias or name
            here = f"{path}.{alias}" if path else alias
            index.setdefault(alias, []).append(here)
            sub = _submodel(fld.annotation)
            if sub is not None and sub not in seen:
                walk(sub, here, seen | {sub})

    walk(root, "", frozenset({root}))
    return index
