"""Gateway checks: workloads selected, ports exposed, conflicts, and TLS credentials."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.analyzers.credentials import CA_SECRET_SUFFIX, credential_problem
from sailmesh.config.analysis.context import (
    AnalysisContext,
    Workload,
    selector_matches,
    selector_string,
)
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem
from sailmesh.config.resource import Resource


def _selector(gw: Resource) -> dict[str, str]:
    return dict(gw.spec.selector or {})


def _selector_path(gw: Resource) -> str:
    keys = sorted(_selector(gw))
    return f"spec.selector.{keys[0]}" if keys else "spec.selector"


def _gateway_pods(ctx: AnalysisContext, gw: Resource) -> list[Workload] | None:
    """Pods the gateway selects, or None when no workloads at all are among the inputs."""
    if not ctx.workloads:
        return None
    return ctx.workloads_matching(_selector(gw))


def _selector_not_found(gw: Resource) -> Problem:
    text = selector_string(_selector(gw))
    return msg.REFERENCED_RESOURCE_NOT_FOUND.at(gw, "selector", text, path=_selector_path(gw))


def _service_ports(ctx: AnalysisContext, pods: list[Workload]) -> set[int]:
    """The ports a Gateway server may name on the gateway pods' Services: a Service port
    (the gateway binds its numeric targetPort, reachable through the Service) or a target
    port itself (bound as is, reachable through the Service port mapping to it). Istio's
    analyzer after istio/istio#51257; a port in neither is unreachable through the Service."""
    ports: set[int] = set()
    for pod in pods:
        for svc in ctx.of_kind("Service"):
            spec: Any = svc.spec
            if svc.namespace != pod.namespace or not spec.selector:
                continue
            if not selector_matches(spec.selector, pod.labels):
                continue
            for p in spec.ports or []:
                if (p.protocol or "TCP") == "TCP":
                    target = p.target_port if isinstance(p.target_port, int) else None
                    ports.update(n for n in (p.port, target) if n)
    return ports


def _served_gateways(ctx: AnalysisContext) -> Iterator[tuple[Resource, Any] | Problem]:
    """Each Gateway with the pods its selector picks; a problem when it picks none."""
    for gw in ctx.of_kind("Gateway"):
        pods = _gateway_pods(ctx, gw)
        if pods is None:
            continue
        if not pods:
            yield _selector_not_found(gw)
            continue
        yield gw, pods


def _ingress_ports(ctx: AnalysisContext) -> Iterator[Problem]:
    for found in _served_gateways(ctx):
        if isinstance(found, Problem):
            yield found
            continue
        gw, pods = found
        exposed = _service_ports(ctx, pods)
        for i, server in enumerate(gw.spec.servers or []):
            number = server.port.number if server.port else None
            if number and number not in exposed:
                yield msg.GATEWAY_PORT_NOT_DEFINED_ON_SERVICE.at(
                    gw, number, selector_string(_selector(gw)), path=f"spec.servers[{i}].port"
                )


INGRESS_GATEWAY_PORT = Analyzer(
    "gateway.IngressGatewayPortAnalyzer",
    "Checks a gateway's ports against the gateway's Kubernetes service ports",
    _ingress_ports,
    ("IST0101", "IST0162"),
)


def _bare(host: str) -> str:
    return host.partition("/")[2] if "/" in host else host


def _overlap(ctx: AnalysisContext, a: Resource, b: Resource) -> bool:
    """Whether two gateways can land on one gateway pod: equal selectors, a shared workload
    among the inputs, or (no workloads known) one selector contained in the other."""
    sa, sb = _selector(a), _selector(b)
    if sa == sb:
        return True
    if ctx.workloads:
        ids = {id(w) for w in ctx.workloads_matching(sa)}
        return any(id(w) in ids for w in ctx.workloads_matching(sb))
    return _selects_superset(sa, sb) or _selects_superset(sb, sa)


def _server_hosts(gw: Resource) -> dict[tuple[int, str], set[str]]:
    """``(port, bind) -> hosts`` of a gateway's servers (namespace prefixes dropped)."""
    out: dict[tuple[int, str], set[str]] = defaultdict(set)
    for server in gw.spec.servers or []:
        key = (server.port.number if server.port else 0, server.bind or "")
        out[key].update(_bare(h) for h in server.hosts or [])
    return out


def _conflicts(ctx: AnalysisContext) -> Iterator[Problem]:
    """Istio's duplicate check: the same exact host on the same port and bind of gateways that
    select a common pod (a wildcard next to a specific host is not a conflict)."""
    gateways = ctx.of_kind("Gateway")
    hosts = {id(gw): _server_hosts(gw) for gw in gateways}
    for gw in gateways:
        for i, server in enumerate(gw.spec.servers or []):
            port = server.port.number if server.port else 0
            mine = {_bare(h) for h in server.hosts or []}
            others = [
                f"{other.namespace}/{other.name}"
                for other in gateways
                if other is not gw
                and mine & hosts[id(other)].get((port, server.bind or ""), set())
                and _overlap(ctx, gw, other)
            ]
            if others:
                yield msg.CONFLICTING_GATEWAYS.at(
                    gw,
                    ",".join(others),
                    selector_string(_selector(gw)),
                    str(port),
                    ",".join(server.hosts or []),
                    path=f"spec.servers[{i}].port.number",
                )


CONFLICTING_GATEWAY = Analyzer(
    "gateway.ConflictingGatewayAnalyzer",
    "Checks a gateway's selector, port number and hosts",
    _conflicts,
    ("IST0145",),
)


def _secrets(ctx: AnalysisContext) -> Iterator[Problem]:
    now = datetime.datetime.now(datetime.UTC)
    for found in _served_gateways(ctx):
        if isinstance(found, Problem):
            yield found
            continue
        gw, pods = found
        namespace = pods[0].namespace
        for path, name, mutual in _credentials(gw):
            secret = ctx.get("Secret", namespace, name)
            if secret is None:
                yield msg.REFERENCED_RESOURCE_NOT_FOUND.at(gw, "credentialName", name, path=path)
                continue
            ca_secret = ctx.get("Secret", namespace, name + CA_SECRET_SUFFIX)
            if credential_problem(secret, now, ca_secret, mutual) is not None:
                yield msg.INVALID_GATEWAY_CREDENTIAL.at(gw, gw.name, namespace, path=path)


def _credentials(gw: Resource) -> Iterator[tuple[str, str, bool]]:
    """``(path, secret name, mutual)`` of each server's ``credentialName``/``credentialNames``."""
    for i, server in enumerate(gw.spec.servers or []):
        tls = server.tls
        if tls is None:
            continue
        mutual = tls.mode == "MUTUAL"
        if tls.credential_name and "://" not in tls.credential_name:
            yield f"spec.servers[{i}].tls.credentialName", tls.credential_name, mutual
        for k, name in enumerate(getattr(tls, "credential_names", None) or []):
            if "://" not in name:
                yield f"spec.servers[{i}].tls.credentialNames[{k}]", name, mutual


SECRET = Analyzer(
    "gateway.SecretAnalyzer",
    "Checks a gateway's referenced secrets for correctness",
    _secrets,
    ("IST0101", "IST0161"),
)


def _same_certificate(a: Any, b: Any) -> bool:
    """Istio's rule: equal credential names, or (neither has one) equal certificate and key files."""
    if a.credential_name and b.credential_name:
        return bool(a.credential_name == b.credential_name)
    if a.credential_name or b.credential_name:
        return False
    if not a.server_certificate or a.server_certificate != b.server_certificate:
        return False
    return bool(a.private_key and a.private_key == b.private_key)


def _selects_superset(selector: dict[str, str], other: dict[str, str]) -> bool:
    """Whether every label of ``selector`` is in ``other`` (an empty selector: all gateways)."""
    return all(other.get(k) == v for k, v in selector.items())


def _duplicate_certificates(ctx: AnalysisContext) -> Iterator[Problem]:
    gateways = ctx.of_kind("Gateway")
    for gw in gateways:
        mine = [s.tls for s in gw.spec.servers or [] if s.tls is not None]
        for other in gateways:
            if other is gw or not _selects_superset(_selector(gw), _selector(other)):
                continue
            theirs = [s.tls for s in other.spec.servers or [] if s.tls is not None]
            if any(_same_certificate(a, b) for a in mine for b in theirs):
                names = f"[{gw.namespace}/{gw.name} {other.namespace}/{other.name}]"
                yield msg.GATEWAY_DUPLICATE_CERTIFICATE.at(gw, names, path="metadata.name")


CERTIFICATE = Analyzer(
    "gateway.CertificateAnalyzer",
    "Checks a gateway certificate",
    _duplicate_certificates,
    ("IST0138",),
)

ANALYZERS = (INGRESS_GATEWAY_PORT, CERTIFICATE, SECRET, CONFLICTING_GATEWAY)
