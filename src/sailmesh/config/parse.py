"""Turning YAML documents into typed resources, with every problem located.

``parse_document`` checks apiVersion/kind against the kind table, types metadata and body with
pydantic, converts pydantic's errors into field-path problems (``schema_errors``), and runs the
kind's semantic validator (``validation.registry``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from sailmesh.config import kinds as kind_table
from sailmesh.config.diagnostics import Level, ObjectRef, Problem, Report, Source
from sailmesh.config.models.base import Model
from sailmesh.config.models.meta import ObjectMeta
from sailmesh.config.resource import Resource
from sailmesh.config.schema_errors import pydantic_problems
from sailmesh.config.validation.registry import validator_for
from sailmesh.config.yamlsource import YamlDocument, duplicate_keys

DEFAULT_NAMESPACE = "default"
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
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
    ref = _ref_from_raw(data)
    info, problem = _find_kind(doc, ref, data)
    if info is None:
        return None, [problem] if problem else []
    report = Report()
    duplicates = _duplicate_key_problems(doc)
    meta = _parse_meta(data.get("metadata"), info, default_namespace, report)
    if meta is not None:
        ref = ObjectRef(info.kind, meta.name, meta.namespace)
    body = _parse_body(data, info, report)
    if body is None:
        return None, [p.located(ref, None) for p in duplicates] + _locate(report.problems, doc, ref)
    # Validate the body even when metadata is broken, so one pass reports everything.
    placeholder = ObjectMeta(name=ref.name, namespace=ref.namespace or default_namespace)
    resource = Resource(data["apiVersion"], info.kind, meta or placeholder, body, doc.source, doc)
    _validate(resource, info, report)
    problems = [p.located(ref, None) for p in duplicates] + _locate(report.problems, doc, ref)
    if report.has_errors or meta is None or duplicates:
        return None, problems
    return resource, problems


def _duplicate_key_problems(doc: YamlDocument) -> list[Problem]:
    return [
        Problem(
            Level.ERROR,
            "duplicate key: the mapping names this field twice (YAML would keep only the last)",
            path,
            source=Source(doc.file, line),
        )
        for path, line in duplicate_keys(doc.node)
    ]


def _ref_from_raw(data: dict[str, Any]) -> ObjectRef:
    """The object's kind, name and namespace as written, for locating early problems."""
    raw_meta: dict[str, Any] = data["metadata"] if isinstance(data.get("metadata"), dict) else {}
    raw_ns = raw_meta.get("namespace")
    return ObjectRef(
        str(data.get("kind") or "?"),
        str(raw_meta.get("name") or "?"),
        raw_ns if isinstance(raw_ns, str) else None,
    )


def _find_kind(
    doc: YamlDocument, ref: ObjectRef, data: dict[str, Any]
) -> tuple[kind_table.KindInfo | None, Problem | None]:
    """The kind served at the document's apiVersion, or the problem saying why there is none."""
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if not isinstance(api_version, str) or not api_version:
        return None, _at(doc, ref, "apiVersion", "required field is missing")
    if not isinstance(kind, str) or not kind:
        return None, _at(doc, ref, "kind", "required field is missing")
    info = kind_table.lookup(api_version, kind)
    if info is None:
        path = "apiVersion" if kind_table.kinds_named(kind) else "kind"
        return None, _at(doc, ref, path, _unknown_kind_message(api_version, kind))
    return info, None


def _parse_body(data: dict[str, Any], info: kind_table.KindInfo, report: Report) -> Model | None:
    body_data = {k: v for k, v in data.items() if k not in _TOP_LEVEL}
    try:
        return info.body.model_validate(body_data)
    except ValidationError as exc:
        report.extend(pydantic_problems(exc, info.body))
        return None


def _validate(resource: Resource, info: kind_table.KindInfo, report: Report) -> None:
    validate = validator_for(info.group, info.kind)
    if validate is None:
        return
    try:
        validate(resource, report)
    except Exception as exc:  # a validator bug must not hide the object's location
        report.error("", f"internal validation error ({type(exc).__name__}: {exc})")


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
    written = bool(meta.namespace)
    if info.namespaced and not meta.namespace:
        meta = meta.model_copy(update={"namespace": default_ns})
    elif not info.namespaced and meta.namespace:
        meta = meta.model_copy(update={"namespace": None})
    if info.namespaced:
        _check_namespace(meta.namespace or "", written, report)
    return meta


def _check_namespace(namespace: str, written: bool, report: Report) -> None:
    """Namespaces are RFC 1123 labels (as in Kubernetes): this also keeps keys and paths sane."""
    origin = "" if written else " (the default namespace of this apply: set it with -n)"
    if not namespace:
        report.error("metadata.namespace", f"the namespace is empty{origin}")
    elif not _DNS1123_LABEL.match(namespace) or len(namespace) > 63:
        report.error(
            "metadata.namespace",
            f"invalid namespace {namespace[:80]!r}{origin}: must be a lowercase RFC 1123 label "
            "(a-z, 0-9, '-'; start and end alphanumeric; at most 63 characters)",
        )


#: Istio kinds removed from Istio (group, kind) -> what replaced them.
REMOVED_KINDS = {
    **dict.fromkeys(
        [("rbac.istio.io", k) for k in ("ServiceRole", "ServiceRoleBinding", "RbacConfig")]
        + [("rbac.istio.io", "ClusterRbacConfig")],
        "AuthorizationPolicy (security.istio.io/v1)",
    ),
    ("authentication.istio.io", "Policy"): "PeerAuthentication and RequestAuthentication "
    "(security.istio.io/v1)",
    ("authentication.istio.io", "MeshPolicy"): "PeerAuthentication in the root namespace "
    "(security.istio.io/v1)",
}


def _unknown_kind_message(api_version: str, kind: str) -> str:
    group = api_version.rpartition("/")[0]
    if (group, kind) in REMOVED_KINDS:
        return (
            f"custom resource type {group} {kind} is removed from Istio; use "
            f"{REMOVED_KINDS[(group, kind)]}"
        )
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
