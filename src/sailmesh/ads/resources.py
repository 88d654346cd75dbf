"""The frozen per-proxy :class:`ResourceSnapshot` and the push order of xDS types.

The type URLs themselves live in :mod:`sailmesh.typeurls` (re-exported here).

Versions are content hashes: each resource's version is a hash of its deterministic
serialization and each type's version is a hash of its (name, resource version) pairs, so a
control plane restarted with the same config hands Envoy the versions it already has.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from google.protobuf import any_pb2

from sailmesh.typeurls import CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET, SHORT_NAMES, short_name

__all__ = [
    "CLUSTER",
    "ENDPOINT",
    "GATED_TYPES",
    "LISTENER",
    "PUSH_ORDER",
    "ROUTE",
    "SECRET",
    "SHORT_NAMES",
    "WARMING_TYPES",
    "WILDCARD_TYPES",
    "ResourceSnapshot",
    "TypeResources",
    "short_name",
]

#: The order in which types are pushed: clusters and endpoints before what references them.
PUSH_ORDER: tuple[str, ...] = (CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET)
#: Types Envoy subscribes to as a whole (wildcard); the others are asked for by name.
WILDCARD_TYPES: frozenset[str] = frozenset({CLUSTER, LISTENER})
#: Types held back until the clusters and endpoints they may reference are acknowledged.
GATED_TYPES: frozenset[str] = frozenset({LISTENER, ROUTE})
#: Types whose acknowledgement opens the gate.
WARMING_TYPES: frozenset[str] = frozenset({CLUSTER, ENDPOINT})


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass(frozen=True)
class TypeResources:
    """All resources of one type for one proxy, packed once, with their versions."""

    type_url: str
    version: str
    packed: Mapping[str, any_pb2.Any]
    versions: Mapping[str, str]
    #: Encodings derived from these resources, shared by every stream sending them
    #: (see :mod:`sailmesh.ads.wire`).
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, type_url: str, resources: Mapping[str, Any]) -> TypeResources:
        """Pack messages (or pre-packed ``Any``) keyed by resource name; hash their bytes."""
        packed: dict[str, any_pb2.Any] = {}
        versions: dict[str, str] = {}
        for name in sorted(resources):
            message = resources[name]
            if isinstance(message, any_pb2.Any):
                value = message
            else:
                data = message.SerializeToString(deterministic=True)
                value = any_pb2.Any(type_url=type_url, value=data)
            packed[name] = value
            versions[name] = _digest(value.value)
        return cls._of(type_url, packed, versions)

    @classmethod
    def merge(cls, type_url: str, *parts: TypeResources) -> TypeResources:
        """The union of already built sets (later parts win a name), without hashing again;
        equal to :meth:`build` of the union."""
        packed: dict[str, any_pb2.Any] = {}
        versions: dict[str, str] = {}
        for part in parts:
            packed.update(part.packed)
            versions.update(part.versions)
        names = sorted(packed)
        return cls._of(type_url, {n: packed[n] for n in names}, {n: versions[n] for n in names})

    @classmethod
    def _of(
        cls, type_url: str, packed: dict[str, any_pb2.Any], versions: dict[str, str]
    ) -> TypeResources:
        summary = "\n".join(f"{name}\0{v}" for name, v in versions.items())
        return cls(
            type_url=type_url,
            version=_digest(f"{type_url}\n{summary}".encode()),
            packed=MappingProxyType(packed),
            versions=MappingProxyType(versions),
        )


def changes_between(
    old: TypeResources, new: TypeResources
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names in ``new`` that ``old`` lacks or has at another version, names only in ``old``),
    sorted; computed once per pair (kept on ``new``, by ``old``'s content version)."""
    if old.version == new.version:
        return (), ()
    diffs: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = new.memo.setdefault("diff", {})
    found = diffs.get(old.version)
    if found is None:
        before, after = old.versions, new.versions
        changed = tuple(sorted(n for n, v in after.items() if before.get(n) != v))
        gone = tuple(sorted(n for n in before if n not in after))
        if len(diffs) >= _MAX_DIFFS:
            diffs.pop(next(iter(diffs)))
        found = diffs[old.version] = (changed, gone)
    return found


#: Differences kept per TypeResources (one per earlier set some stream holds).
_MAX_DIFFS = 16


def retaining(old: TypeResources, new: TypeResources) -> TypeResources:
    """``new`` plus the resources only ``old`` has (``new`` itself when there are none);
    computed once per pair (kept on ``new``, by ``old``'s content version)."""
    gone = changes_between(old, new)[1]
    if not gone:
        return new
    kept: dict[str, TypeResources] = new.memo.setdefault("retaining", {})
    found = kept.get(old.version)
    if found is None:
        part = TypeResources._of(
            new.type_url,
            {n: old.packed[n] for n in gone},
            {n: old.versions[n] for n in gone},
        )
        if len(kept) >= _MAX_DIFFS:
            kept.pop(next(iter(kept)))
        found = kept[old.version] = TypeResources.merge(new.type_url, part, new)
    return found


def subscribed_versions(resources: TypeResources, names: frozenset[str]) -> Mapping[str, str]:
    """The versions of the ``names`` that ``resources`` has; computed once per name set (streams
    subscribing to the same names share the set object, see ``ads.stream.shared_names``)."""
    views: dict[frozenset[str], Mapping[str, str]] = resources.memo.setdefault("subscribed", {})
    found = views.get(names)
    if found is None:
        versions = resources.versions
        found = MappingProxyType({n: versions[n] for n in sorted(names) if n in versions})
        if len(views) >= _MAX_DIFFS:
            views.pop(next(iter(views)))
        views[names] = found
    return found


@dataclass(frozen=True)
class ResourceSnapshot:
    """Everything one proxy should have, per type URL. Types absent here are empty."""

    types: Mapping[str, TypeResources] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def build(cls, resources: Mapping[str, Mapping[str, Any]]) -> ResourceSnapshot:
        """From ``{type_url: {name: message}}`` as produced by the ``xds`` translator."""
        built = {t: TypeResources.build(t, named) for t, named in resources.items()}
        return cls(types=MappingProxyType(built))

    def of(self, type_url: str) -> TypeResources:
        """The resources of ``type_url`` (an empty, versioned set when the type is absent)."""
        found = self.types.get(type_url)
        if found is None:
            return _empty(type_url)
        return found

    def version(self, type_url: str) -> str:
        return self.of(type_url).version

    def __iter__(self) -> Iterator[str]:
        return iter(self.types)


@functools.cache
def _empty(type_url: str) -> TypeResources:
    return TypeResources.build(type_url, {})
