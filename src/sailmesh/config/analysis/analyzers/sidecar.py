"""Sidecar egress hosts that name no known service."""

from __future__ import annotations

from collections.abc import Iterator

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.context import AnalysisContext, fqdn
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem
from sailmesh.config.resource import Resource


def _imports(ctx: AnalysisContext, sidecar: Resource, ns: str, host: str) -> bool:
    """Whether ``ns/host`` in a Sidecar's egress hosts names a service declared in ``ns``."""
    for s in ctx.services:
        if ns != "*" and s.namespace != ns:
            continue
        if s.host == fqdn(host, s.namespace) and s.visible_in({"*", sidecar.namespace}):
            return True
    return False


def _egress_hosts(ctx: AnalysisContext) -> Iterator[Problem]:
    if not ctx.has_registry:
        return
    for sc in ctx.of_kind("Sidecar"):
        for i, listener in enumerate(sc.spec.egress or []):
            for k, entry in enumerate(listener.hosts or []):
                ns, sep, host = entry.partition("/")
                if not sep or ns == "~" or "*" in host:
                    continue
                ns = sc.namespace if ns == "." else ns
                if not _imports(ctx, sc, ns, host):
                    path = f"spec.egress[{i}].hosts[{k}]"
                    yield msg.REFERENCED_RESOURCE_NOT_FOUND.at(sc, "host", entry, path=path)


EGRESS_HOSTS = Analyzer(
    "sidecar.EgressHostAnalyzer",
    "Checks that the hosts a Sidecar imports name services or ServiceEntries",
    _egress_hosts,
    ("IST0101",),
)


ANALYZERS = (EGRESS_HOSTS,)
