"""VirtualService routing checks: mesh host conflicts, unreachable rules, regexes, JWT claims,
and TLS/TCP routes for sidecars whose host no service has."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sailmesh.config.analysis import messages as msg
from sailmesh.config.analysis.analyzers._util import match_labels, vs_gateways
from sailmesh.config.analysis.context import (
    MESH_GATEWAY,
    AnalysisContext,
    Workload,
    fqdn,
    selector_matches,
    split_namespaced,
)
from sailmesh.config.analysis.framework import Analyzer
from sailmesh.config.diagnostics import Problem
from sailmesh.config.resource import Resource

CLAIM_PREFIX = "@request.auth.claims."


def _mesh_hosts(ctx: AnalysisContext) -> Iterator[Problem]:
    by_host: dict[tuple[str, str], list[Resource]] = defaultdict(list)
    for vs in ctx.of_kind("VirtualService"):
        if MESH_GATEWAY not in vs_gateways(vs):
            continue
        export = ctx.export_to(vs)
        scopes = {"*"} if "*" in export else {vs.namespace if e == "." else e for e in export}
        for scope in sorted(scopes):
            for h in dict.fromkeys(vs.spec.hosts or []):
                by_host[(scope, fqdn(h, vs.namespace))].append(vs)
    for (_, host), group in by_host.items():
        if len(group) < 2:
            continue
        names = ",".join(f"{r.namespace}/{r.name}" for r in group)
        for vs in group:
            yield msg.CONFLICTING_MESH_GATEWAY_VS_HOSTS.at(vs, names, host, path="metadata.name")


CONFLICTING_MESH_GATEWAY_HOSTS = Analyzer(
    "virtualservice.ConflictingMeshGatewayHostsAnalyzer",
    "Checks if multiple virtual services associated with the mesh gateway have conflicting hosts",
    _mesh_hosts,
    ("IST0109",),
)


def _rule_name(rule: Any, index: int) -> str:
    name = getattr(rule, "name", None)
    return f'"{name}"' if name else f"#{index}"


def _match_key(match: Any) -> str:
    data = match.model_dump(exclude={"name"}, exclude_none=True, mode="json")
    return json.dumps(data, sort_keys=True)


def _unreachable(ctx: AnalysisContext) -> Iterator[Problem]:
    for vs in ctx.of_kind("VirtualService"):
        for kind in ("http", "tcp", "tls"):
            yield from _unreachable_rules(vs, kind, getattr(vs.spec, kind, None) or [])


def _unreachable_rules(vs: Resource, kind: str, rules: list[Any]) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    catch_all: int | None = None
    for i, rule in enumerate(rules):
        path = f"spec.{kind}[{i}]"
        matches = list(rule.match or [])
        if catch_all is not None:
            reason = (
                "only the last rule can have no matches"
                if not matches
                else f"rule {_rule_name(rules[catch_all], catch_all)} before it has no matches"
            )
            yield msg.VS_UNREACHABLE_RULE.at(vs, _rule_name(rule, i), reason, path=path)
            continue
        if not matches:
            catch_all = i
            continue
        duplicates = 0
        for k, match in enumerate(matches):
            key = _match_key(match)
            if key in seen:
                duplicates += 1
                first = seen[key]
                yield msg.VS_INEFFECTIVE_MATCH.at(
                    vs,
                    _rule_name(rule, i),
                    _rule_name(match, k),
                    _rule_name(rules[first], first),
                    path=f"{path}.match[{k}]",
                )
            else:
                seen[key] = i
        if duplicates == len(matches):
            reason = "all matches used by prior rules"
            yield msg.VS_UNREACHABLE_RULE.at(vs, _rule_name(rule, i), reason, path=path)


UNREACHABLE_RULES = Analyzer(
    "virtualservice.UnreachableRulesAnalyzer",
    "Checks for VirtualService rules and matches that can never be used",
    _unreachable,
    ("IST0130", "IST0131"),
)

_RE2_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]")


def regex_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid RE2 expression (Envoy's regex engine), or None."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    if _RE2_UNSUPPORTED.search(pattern):
        return "lookarounds and backreferences are not supported by RE2"
    return None


def _string_matches(match: Any, path: str) -> Iterator[tuple[str, Any]]:
    for name in ("uri", "scheme", "method", "authority"):
        value = getattr(match, name, None)
        if value is not None:
            yield f"{path}.{name}", value
    for name, yaml_name in (
        ("headers", "headers"),
        ("query_params", "queryParams"),
        ("without_headers", "withoutHeaders"),
    ):
        for key, value in (getattr(match, name, None) or {}).items():
            if value is not None:
                yield f"{path}.{yaml_name}.{key}", value


def _regexes(ctx: AnalysisContext) -> Iterator[Problem]:
    for vs in ctx.of_kind("VirtualService"):
        for i, rule in enumerate(vs.spec.http or []):
            fields: list[tuple[str, Any]] = []
            for k, match in enumerate(rule.match or []):
                fields.extend(_string_matches(match, f"spec.http[{i}].match[{k}]"))
            cors = getattr(rule, "cors_policy", None)
            for k, origin in enumerate(getattr(cors, "allow_origins", None) or []):
                fields.append((f"spec.http[{i}].corsPolicy.allowOrigins[{k}]", origin))
            for path, value in fields:
                pattern = getattr(value, "regex", None)
                error = regex_error(pattern) if pattern else None
                if pattern and error:
                    yield msg.INVALID_REGEXP.at(vs, path, pattern, error, path=path + ".regex")


REGEX = Analyzer(
    "virtualservice.RegexAnalyzer",
    "Checks regex syntax",
    _regexes,
    ("IST0122",),
)


def _claim_key(vs: Resource) -> tuple[str, str] | None:
    for i, rule in enumerate(vs.spec.http or []):
        for k, match in enumerate(rule.match or []):
            for key in getattr(match, "headers", None) or {}:
                if key.startswith(CLAIM_PREFIX):
                    return key, f"spec.http[{i}].match[{k}].headers"
    return None


def _has_request_authn(ctx: AnalysisContext, pod: Workload) -> bool:
    """Whether a RequestAuthentication applies to ``pod``: mesh-wide or namespace-wide, or its
    selector matches (a root-namespace selector in every namespace, as in translation)."""
    for ra in ctx.of_kind("RequestAuthentication"):
        if ra.namespace not in (ctx.root_namespace, pod.namespace):
            continue
        if ra.spec.target_ref is not None or ra.spec.target_refs:
            continue  # Gateway API gateways only; gateways here are selected by labels
        selector = match_labels(ra.spec.selector)
        if not selector or selector_matches(selector, pod.labels):
            return True
    return False


def _jwt_claims(ctx: AnalysisContext) -> Iterator[Problem]:
    for vs in ctx.of_kind("VirtualService"):
        found = _claim_key(vs)
        if found is None:
            continue
        key, path = found
        for ref in vs.spec.gateways or []:
            gw = ctx.gateway_for(ref, vs.namespace) if ref != MESH_GATEWAY else None
            if gw is None:
                continue
            selector = dict(gw.spec.selector or {})
            for pod in ctx.workloads_matching(selector):
                if not _has_request_authn(ctx, pod):
                    ns, name = split_namespaced(ref, vs.namespace)
                    yield msg.JWT_CLAIM_ROUTING_WITHOUT_REQUEST_AUTHN.at(
                        vs, key, f"{ns}/{name}", pod.name, path=path
                    )


JWT_CLAIM_ROUTE = Analyzer(
    "virtualservice.JWTClaimRouteAnalyzer",
    "Checks that JWT claim based routing has a RequestAuthentication for the gateway pods",
    _jwt_claims,
    ("IST0149",),
)


def _opaque_hosts(ctx: AnalysisContext) -> Iterator[Problem]:
    """TLS/TCP routes bound to sidecars for a host no service has (Istio builds the sidecar's
    TCP and SNI chains from services only; HTTP routes are not concerned)."""
    if not ctx.has_registry:
        return
    for vs in ctx.of_kind("VirtualService"):
        kinds = [k for k in ("tls", "tcp") if getattr(vs.spec, k, None)]
        if not kinds or MESH_GATEWAY not in vs_gateways(vs):
            continue
        for i, host in enumerate(vs.spec.hosts or []):
            if not ctx.services_matching(host, vs.namespace):
                what = "/".join(k.upper() for k in kinds)
                yield msg.OPAQUE_ROUTES_WITHOUT_SERVICE.at(vs, host, what, path=f"spec.hosts[{i}]")


OPAQUE_ROUTES_WITHOUT_SERVICE = Analyzer(
    "virtualservice.OpaqueRoutesWithoutServiceAnalyzer",
    "Checks that TLS and TCP routes bound to sidecars name a host some service has",
    _opaque_hosts,
    ("SM0003",),
)

ANALYZERS = (
    CONFLICTING_MESH_GATEWAY_HOSTS,
    JWT_CLAIM_ROUTE,
    REGEX,
    UNREACHABLE_RULES,
    OPAQUE_ROUTES_WITHOUT_SERVICE,
)
