"""Gateway checks: workloads selected, ports exposed, conflicts, and TLS credentials."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.context import (
    AnalysisContext,
    Workload,
    host_matches,
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
    """Target ports of the TCP ports of the Services that select the gateway pods."""
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
                    ports.add(target or p.port or 0)
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


def _conflicts(ctx: AnalysisContext) -> Iterator[Problem]:
    by_key: dict[tuple[str, int], dict[Resource, list[str]]] = defaultdict(dict)
    gateways = ctx.of_kind("Gateway")
    for gw in gateways:
        for server in gw.spec.servers or []:
            key = (selector_string(_selector(gw)), server.port.number if server.port else 0)
            by_key[key].setdefault(gw, []).extend(_bare(h) for h in server.hosts or [])
    for gw in gateways:
        selector = selector_string(_selector(gw))
        for i, server in enumerate(gw.spec.servers or []):
            port = server.port.number if server.port else 0
            hosts = [_bare(h) for h in server.hosts or []]
            others = [
                f"{other.namespace}/{other.name}"
                for other, other_hosts in by_key[(selector, port)].items()
                if other is not gw and any(host_matches(a, b) for a in hosts for b in other_hosts)
            ]
            if others:
                yield msg.CONFLICTING_GATEWAYS.at(
                    gw,
                    ",".join(others),
                    selector,
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


def _secret_value(secret: Resource, *keys: str) -> bytes | None:
    body: Any = secret.body
    for key in keys:
        if body.string_data and key in body.string_data:
            return str(body.string_data[key]).encode()
        if body.data and key in body.data:
            try:
                return base64.b64decode(body.data[key], validate=True)
            except (binascii.Error, ValueError):
                return b""
    return None


def credential_valid(secret: Resource) -> bool:
    """A PEM certificate and private key under ``tls.crt``/``tls.key`` (or ``cert``/``key``)."""
    cert = _secret_value(secret, "tls.crt", "cert")
    key = _secret_value(secret, "tls.key", "key")
    if not cert or not key:
        return False
    try:
        x509.load_pem_x509_certificate(cert)
        serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError):
        return False
    return True


def _secrets(ctx: AnalysisContext) -> Iterator[Problem]:
    for found in _served_gateways(ctx):
        if isinstance(found, Problem):
            yield found
            continue
        gw, pods = found
        namespace = pods[0].namespace
        for path, name in _credentials(gw):
            secret = ctx.get("Secret", namespace, name)
            if secret is None:
                yield msg.REFERENCED_RESOURCE_NOT_FOUND.at(gw, "credentialName", name, path=path)
            elif not credential_valid(secret):
                yield msg.INVALID_GATEWAY_CREDENTIAL.at(gw, gw.name, namespace, path=path)


def _credentials(gw: Resource) -> Iterator[tuple[str, str]]:
    """``(path, secret name)`` of each server's ``credentialName``/``credentialNames``."""
    for i, server in enumerate(gw.spec.servers or []):
        tls = server.tls
        if tls is None:
            continue
        if tls.credential_name and "://" not in tls.credential_name:
            yield f"spec.servers[{i}].tls.credentialName", tls.credential_name
        for k, name in enumerate(getattr(tls, "credential_names", None) or []):
            if "://" not in name:
                yield f"spec.servers[{i}].tls.credentialNames[{k}]", name


SECRET = Analyzer(
    "gateway.SecretAnalyzer",
    "Checks a gateway's referenced secrets for correctness",
    _secrets,
    ("IST0101", "IST0161"),
)

ANALYZERS = (INGRESS_GATEWAY_PORT, SECRET, CONFLICTING_GATEWAY)
