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


def _may_disable_mtls(ctx: AnalysisContext, namespace: str, port: int) -> bool:
    """Whether some PeerAuthentication of ``namespace`` or the root namespace could turn mutual
    TLS off on ``port`` (selectors are not resolved: a possible DISABLE keeps the check quiet)."""
    for pa in ctx.of_kind("PeerAuthentication"):
        if pa.namespace not in (namespace, ctx.root_namespace) or pa.spec is None:
            continue
        if pa.spec.mtls is not None and pa.spec.mtls.mode == "DISABLE":
            return True
        level = (pa.spec.port_level_mtls or {}).get(port)
        if level is not None and level.mode == "DISABLE":
            return True
    return False


def _ingress_tls(ctx: AnalysisContext) -> Iterator[Problem]:
    for sc in ctx.of_kind("Sidecar"):
        for i, listener in enumerate(sc.spec.ingress or []):
            number = listener.port.number if listener.port is not None else None
            if listener.tls is None or number is None:
                continue
            if not _may_disable_mtls(ctx, sc.namespace, number):
                yield msg.INGRESS_TLS_UNDER_MUTUAL_TLS.at(
                    sc, number, number, path=f"spec.ingress[{i}].tls"
                )


INGRESS_TLS = Analyzer(
    "sidecar.IngressTlsAnalyzer",
    "Checks that a Sidecar ingress listener's own TLS is not overridden by mutual TLS",
    _ingress_tls,
    ("SM0004",),
)


ANALYZERS = (EGRESS_HOSTS, INGRESS_TLS)
