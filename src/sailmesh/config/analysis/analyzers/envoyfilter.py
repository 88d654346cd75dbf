"""EnvoyFilter patches whose operation Envoy config ignores or may apply out of order (IST0151-0155).

A relative operation (INSERT_BEFORE/AFTER, MERGE, REPLACE, REMOVE) without a ``priority`` may
be applied before the object it patches exists (IST0151), or, when another patch of the same
filter name matches a ``proxyVersion``, break across upgrades (IST0155). ADD and REMOVE do
nothing on ROUTE_CONFIGURATION and HTTP_ROUTE (IST0153, IST0154); REPLACE only works on
HTTP_FILTER and NETWORK_FILTER (IST0152).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.context import AnalysisContext
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem
from sailmesh.config.resource import Resource

_ROUTE_LEVEL = frozenset({"ROUTE_CONFIGURATION", "HTTP_ROUTE"})
_REPLACEABLE = frozenset({"HTTP_FILTER", "NETWORK_FILTER"})
_RELATIVE = frozenset({"INSERT_BEFORE", "INSERT_AFTER", "MERGE"})


def _filter_name(patch: Any) -> str:
    """The filter a patch is about: its value's ``name``, else the listener filter it matches."""
    value = patch.patch.value or {}
    if isinstance(value.get("name"), str):
        return str(value["name"])
    listener = patch.match.listener if patch.match is not None else None
    chain = listener.filter_chain if listener is not None else None
    flt = chain.filter if chain is not None else None
    return str(flt.name or "") if flt is not None else ""


def _proxy_version(patch: Any) -> bool:
    proxy = patch.match.proxy if patch.match is not None else None
    return bool(proxy is not None and proxy.proxy_version)


def _patches(ctx: AnalysisContext) -> Iterator[Problem]:
    versioned: set[str] = set()  # filter names patched with a proxyVersion match so far
    for ef in ctx.of_kind("EnvoyFilter"):
        yield from _check(ef, versioned)


def _check(ef: Resource, versioned: set[str]) -> Iterator[Problem]:
    spec: Any = ef.spec
    for i, patch in enumerate(spec.config_patches or []):
        if patch.patch is None:
            break
        name = _filter_name(patch)
        operation, apply_to, path = (
            patch.patch.operation,
            patch.apply_to,
            f"spec.configPatches[{i}]",
        )
        relative = operation in _RELATIVE
        if operation in ("ADD", "REMOVE") and apply_to in _ROUTE_LEVEL:
            kind = (
                msg.ENVOY_FILTER_USES_ADD_OPERATION_INCORRECTLY
                if operation == "ADD"
                else msg.ENVOY_FILTER_USES_REMOVE_OPERATION_INCORRECTLY
            )
            yield kind.at(ef, path=path)
        elif operation == "REPLACE" and apply_to not in _REPLACEABLE:
            yield msg.ENVOY_FILTER_USES_REPLACE_OPERATION_INCORRECTLY.at(ef, path=path)
        else:
            relative = relative or operation in ("REMOVE", "REPLACE")
        if relative and not spec.priority:
            kind = (
                msg.ENVOY_FILTER_USES_RELATIVE_OPERATION_WITH_PROXY_VERSION
                if name in versioned
                else msg.ENVOY_FILTER_USES_RELATIVE_OPERATION
            )
            yield kind.at(ef, path=path)
        if _proxy_version(patch):
            versioned.add(name)


ENVOY_PATCH = Analyzer(
    "envoyfilter.EnvoyPatchAnalyzer",
    "Checks an envoyFilters",
    _patches,
    ("IST0151", "IST0152", "IST0153", "IST0154", "IST0155"),
)

ANALYZERS = (ENVOY_PATCH,)
