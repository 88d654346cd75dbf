"""EnvoyFilter ``configPatches`` compiled for one proxy: the patches whose context and proxy
match hold, with their values converted to Envoy messages.

In: the EnvoyFilters of :mod:`.select` (in order), the proxy and the node metadata it would
send. Out: :class:`Patches`, the :class:`Patch` list per ``applyTo`` in application order,
plus :class:`Skipped` records for patches whose value is not valid Envoy configuration (those
are left out, and the control plane logs them; Istio's webhook rejects such objects at
admission).

Proxy match (Istio's): ``proxy.proxyVersion`` is a regex matched against the node's
``ISTIO_VERSION`` (:data:`PROXY_VERSION` for sailmesh proxies), ``proxy.metadata`` entries
must equal the node metadata's values (``NAMESPACE``, ``SERVICE_ACCOUNT``,
``INTERCEPTION_MODE``, ``NAME``, ``CLUSTER_ID``, ``ISTIO_VERSION``, ``LABELS`` as a map is not
comparable).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from sailmesh.config.resource import Resource
from sailmesh.config.validation.envoy_values import PatchValueError, to_message, value_type
from sailmesh.snapshot.proxy import Proxy

#: The Istio version sailmesh proxies report as ``ISTIO_VERSION`` (what ``proxyVersion``
#: regexes are matched against): the Istio release whose APIs sailmesh follows.
PROXY_VERSION = "1.31.0"


#: The targets of MERGE_AND_REPLACE_LIST (Istio 1.31); elsewhere it does nothing.
REPLACE_LIST_TARGETS = frozenset(
    {"CLUSTER", "LISTENER", "FILTER_CHAIN", "ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE"}
)


@dataclass(frozen=True)
class Patch:
    """One config patch of one EnvoyFilter (``index`` into its ``configPatches``)."""

    source: Resource
    index: int
    apply_to: str
    operation: str
    context: str
    match: Any  # EnvoyConfigObjectMatch | None
    value: Message | None
    #: MERGE_AND_REPLACE_LIST (compiled as a MERGE whose lists replace the generated ones).
    replace_lists: bool = False

    @property
    def where(self) -> str:
        return f"EnvoyFilter {self.source.namespace}/{self.source.name} configPatches[{self.index}]"


@dataclass(frozen=True)
class Skipped:
    """A patch left out because its value does not convert (``reason``)."""

    where: str
    reason: str


@dataclass
class Patches:
    by_type: dict[str, list[Patch]] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)

    def of(self, apply_to: str) -> list[Patch]:
        return self.by_type.get(apply_to, [])

    def __bool__(self) -> bool:
        return any(self.by_type.values())


def node_metadata(proxy: Proxy) -> dict[str, str]:
    """The string node metadata ``proxy.metadata`` matches compare with."""
    return {
        "NAMESPACE": proxy.namespace,
        "SERVICE_ACCOUNT": proxy.service_account,
        "INTERCEPTION_MODE": proxy.interception,
        "NAME": proxy.pod_name,
        "CLUSTER_ID": "Kubernetes",
        "ISTIO_VERSION": PROXY_VERSION,
    }


_CONVERTED: dict[tuple[Any, ...], Message | PatchValueError] = {}


def compile_patches(filters: list[Resource], proxy: Proxy) -> Patches:
    """The patches of ``filters`` (in order) whose proxy match holds for ``proxy``."""
    out = Patches()
    meta = node_metadata(proxy)
    for ef in filters:
        for index, cp in enumerate(ef.spec.config_patches or []):
            if cp.patch is None or cp.apply_to in (None, "INVALID"):
                continue
            match = cp.match
            if match is not None and not _proxy_matches(match.proxy, meta):
                continue
            if match is not None and (match.waypoint is not None or match.context == "WAYPOINT"):
                continue  # waypoint proxies only: there are none here
            value = _value(ef, index, cp)
            where = f"EnvoyFilter {ef.namespace}/{ef.name} configPatches[{index}]"
            if isinstance(value, PatchValueError):
                out.skipped.append(Skipped(where, str(value)))
                continue
            operation = cp.patch.operation or "INVALID"
            replace_lists = operation == "MERGE_AND_REPLACE_LIST"
            if replace_lists and cp.apply_to in REPLACE_LIST_TARGETS:
                operation = "MERGE"
            patch = Patch(
                source=ef,
                index=index,
                apply_to=cp.apply_to,
                operation=operation,
                context=(match.context if match is not None else None) or "ANY",
                match=match,
                value=value,
                replace_lists=replace_lists,
            )
            out.by_type.setdefault(patch.apply_to, []).append(patch)
    return out


def _proxy_matches(match: Any, meta: Mapping[str, str]) -> bool:
    if match is None:
        return True
    if match.proxy_version:
        try:
            if not re.match(match.proxy_version, meta["ISTIO_VERSION"]):
                return False
        except re.error:
            return False
    return all(meta.get(k) == v for k, v in (match.metadata or {}).items())


def _value(ef: Resource, index: int, cp: Any) -> Message | PatchValueError | None:
    raw = cp.patch.value
    if raw is None:
        return None
    key = (ef.key, ef.meta.resource_version, index, cp.apply_to, repr(raw))
    found = _CONVERTED.get(key)
    if found is None:
        try:
            found = to_message(raw, _value_type(cp.apply_to))
        except PatchValueError as exc:
            found = exc
        if len(_CONVERTED) > 4096:
            _CONVERTED.clear()
        _CONVERTED[key] = found
    return found


def _value_type(apply_to: str) -> type[Message]:
    found = value_type(apply_to)
    assert found is not None, apply_to  # validation admits only the applyTo values it names
    return found


def context_matches(patch: Patch, context: str) -> bool:
    """Whether ``patch`` applies to objects of ``context`` (Istio's patchContextMatch)."""
    return patch.context in ("ANY", context)


def clone(message: Message) -> Message:
    out = type(message)()
    out.CopyFrom(message)
    return out
