"""A loaded config object: apiVersion, kind, metadata, typed body, and where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sailmesh.config.diagnostics import ObjectRef, Source
from sailmesh.config.models.base import Model
from sailmesh.config.models.meta import ObjectMeta

if TYPE_CHECKING:
    from sailmesh.config.yamlsource import YamlDocument


@dataclass(frozen=True, eq=False)
class Resource:
    """One object. ``body`` holds every top-level field except apiVersion/kind/metadata.

    For Istio kinds ``body.spec`` is the typed spec (``resource.spec``); for Kubernetes kinds the
    body is the kind's own shape (Service has ``spec``, Secret has ``data``/``stringData``...).
    """

    api_version: str
    kind: str
    meta: ObjectMeta
    body: Model
    source: Source | None = None
    document: YamlDocument | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def namespace(self) -> str:
        return self.meta.namespace or ""

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def spec(self) -> Any:
        return getattr(self.body, "spec", None)

    @property
    def labels(self) -> dict[str, str]:
        return self.meta.labels

    @property
    def annotations(self) -> dict[str, str]:
        return self.meta.annotations

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.name, self.meta.namespace)

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity in the store: (kind, namespace, name); API versions share one identity."""
        return (self.kind, self.namespace, self.name)

    def line_of(self, path: str) -> int | None:
        """Line of a field path (``spec.http[0].route``) in the source, or the document's line."""
        if self.document is not None:
            line = self.document.line_of(path)
            if line is not None:
                return line
        return self.source.line if self.source else None

    def source_at(self, path: str) -> Source | None:
        if self.source is None:
            return None
        line = self.line_of(path)
        return Source(self.source.file, line if line is not None else self.source.line)

    def to_dict(self) -> dict[str, Any]:
        """The object as YAML/JSON data (camelCase, unset fields left out)."""
        out: dict[str, Any] = {"apiVersion": self.api_version, "kind": self.kind}
        out["metadata"] = self.meta.model_dump(by_alias=True, exclude_defaults=True, mode="json")
        out.update(self.body.to_yaml_dict())
        return out

    def with_meta(self, **changes: Any) -> Resource:
        return replace(self, meta=self.meta.model_copy(update=changes))
