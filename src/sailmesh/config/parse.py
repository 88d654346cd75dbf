"""Turning YAML documents into typed resources, with every problem located.

``parse_document`` checks apiVersion/kind against the kind table, types metadata and body with
pydantic, converts pydantic's errors into field-path problems (unknown fields get a "did you
mean" hint naming where such a field does exist), and runs the kind's semantic validator.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from sailmesh.config import kinds as kind_table
from sailmesh.config.diagnostics import Level, ObjectRef, Problem, Report, Source
from sailmesh.config.models.base import Model
from sailmesh.config.models.meta import ObjectMeta
from sailmesh.config.resource import Resource
from sailmesh.config.validation.registry import validator_for
from sailmesh.config.yamlsource import YamlDocument

DEFAULT_NAMESPACE = "default"
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_TOP_LEVEL = ("apiVersion", "kind", "metadata")


@dataclass
class ParseResult:
    """Resources that parsed and validated without errors, and every problem found."""

    resources: list[Resource] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rejected: int = 0

    @property
    def ok(self) -> bool:
        return not any(p.level is Level.ERROR for p in self.problems)


def parse_documents(
    docs: Iterable[YamlDocument], default_namespace: str = DEFAULT_NAMESPACE
) -> ParseResult:
    """Parse many documents (``kind: List`` documents are expanded)."""
    result = ParseResult()
    for doc in docs:
        for item in _expand_lists(doc):
            resource, problems = parse_document(item, default_namespace)
            result.problems.extend(problems)
            if resource is not None:
                result.resources.append(resource)
            else:
                result.rejected += 1
    return result


def _expand_lists(doc: YamlDocument) -> list[YamlDocument]:
    data = doc.data
    if (
        isinstance(data, dict)
        and data.get("kind") == "List"
        and isinstance(data.get("items"), list)
    ):
        items = data["items"]
        nodes = _list_item_nodes(doc)
        return [
            YamlDocument(
                item,
                doc.file,
                nodes[i].start_mark.line + 1 if i < len(nodes) else doc.line,
                nodes[i] if i < len(nodes) else None,
            )
            for i, item in enumerate(items)
        ]
    return [doc]


def _list_item_nodes(doc: YamlDocument) -> list[Any]:
    import yaml

    if isinstance(doc.node, yaml.MappingNode):
        for key, value in doc.node.value:
            if key.value == "items" and isinstance(value, yaml.SequenceNode):
                return list(value.value)
    return []


def parse_document(
    doc: YamlDocument, default_namespace: str = DEFAULT_NAMESPACE
) -> tuple[Resource | None, list[Problem]]:
    """One document to a validated resource. Returns ``(None, problems)`` when it has errors."""
    data = doc.data
    if not isinstance(data, dict):
        return None, [
            _at(
                doc,
                None,
                "",
                f"expected a mapping with apiVersion and kind, got {type(data).__name__}",
            )
        ]
    api_version, kind = data.get("apiVersion"), data.get("kind")
    raw_meta: dict[str, Any] = data["metadata"] if isinstance(data.get("metadata"), dict) else {}
    raw_ns = raw_meta.get("namespace")
    ref = ObjectRef(
        str(kind or "?"),
        str(raw_meta.get("name") or "?"),
        raw_ns if isinstance(raw_ns, str) else None,
    )
    if not isinstance(api_version, str) or not api_version:
        return None, [_at(doc, ref, "apiVersion", "required field is missing")]
    if not isinstance(kind, str) or not kind:
        return None, [_at(doc, ref, "kind", "required field is missing")]
    info = kind_table.lookup(api_version, kind)
    if info is None:
        return None, [
            _at(
                doc,
                ref,
                "apiVersion" if kind_table.kinds_named(kind) else "kind",
                _unknown_kind_message(api_version, kind),
            )
        ]

    report = Report()
    meta = _parse_meta(data.get("metadata"), info, default_namespace, report)
    ref = ObjectRef(
        kind, meta.name if meta else ref.name, meta.namespace if meta else ref.namespace
    )
    body_data = {k: v for k, v in data.items() if k not in _TOP_LEVEL}
    body: Model | None = None
    try:
        body = info.body.model_validate(body_data)
    except ValidationError as exc:
        report.extend(pydantic_problems(exc, info.body))
    if body is None:
        return None, _locate(report.problems, doc, ref)

    # Validate the body even when metadata is broken, so one pass reports everything.
    placeholder = ObjectMeta(name=ref.name, namespace=ref.namespace or default_namespace)
    resource = Resource(api_version, kind, meta or placeholder, body, doc.source, doc)
    validate = validator_for(info.group, info.kind)
    if validate is not None:
        try:
            validate(resource, report)
        except Exception as exc:  # a validator bug must not hide the object's location
            report.error("", f"internal validation error ({type(exc).__name__}: {exc})")
    problems = _locate(report.problems, doc, ref)
    if report.has_errors or meta is None:
        return None, problems
    return resource, problems


def _parse_meta(
    raw: Any, info: kind_table.KindInfo, default_ns: str, report: Report
) -> ObjectMeta | None:
    if raw is None:
        report.error(
            "metadata.name",
            "required field is missing: every object needs a name (add `metadata: {name: ...}`)",
        )
        return None
    try:
        meta = ObjectMeta.model_validate(raw)
    except ValidationError as exc:
        report.extend(pydantic_problems(exc, ObjectMeta, prefix=("metadata",)))
        return None
    if not meta.name:
        report.error("metadata.name", "required field is missing: every object needs a name")
    elif not _DNS1123_SUBDOMAIN.match(meta.name) or len(meta.name) > 253:
        report.error(
            "metadata.name",
            f"invalid name {meta.name!r}: must be a lowercase RFC 1123 "
            "subdomain (a-z, 0-9, '-', '.'; start and end alphanumeric)",
        )
    if info.namespaced and not meta.namespace:
        meta = meta.model_copy(update={"namespace": default_ns})
    elif not info.namespaced and meta.namespace:
        meta = meta.model_copy(update={"namespace": None})
    return meta


def _unknown_kind_message(api_version: str, kind: str) -> str:
    same = kind_table.kinds_named(kind)
    if same:
        served = ", ".join(a for k in same for a in k.api_versions)
        return f"{kind} is not served at apiVersion {api_version!r}; use one of: {served}"
    names = sorted({k.kind for k in kind_table.all_kinds()})
    close = difflib.get_close_matches(kind, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known kinds: {', '.join(names)}"
    return f"unknown kind {kind!r} (apiVersion {api_version!r}){hint}"


def _at(doc: YamlDocument, ref: ObjectRef | None, path: str, message: str) -> Problem:
    return Problem(Level.ERROR, message, path, ref, Source(doc.file, doc.line_of(path) or doc.line))


def _locate(problems: list[Problem], doc: YamlDocument, ref: ObjectRef) -> list[Problem]:
    return [p.located(ref, Source(doc.file, doc.line_of(p.path) or doc.line)) for p in problems]


# --- pydantic errors -> field-path problems ---------------------------------------------------


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
