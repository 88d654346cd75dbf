"""The ``envoy.filters.http.jwt_authn`` filter of a proxy: its providers and Istio's requirement.

In: the proxy's scope. Out: ``[]`` when no RequestAuthentication applies, else one HTTP filter
holding one provider per ``jwtRules`` entry of every applicable policy (rules sorted by issuer,
providers named ``origins-<i>`` as Istio names them), and one rule for every path:

- one provider: ``requires_any [origins-0, allow_missing]``;
- several: ``requires_any [origins-0, ..., origins-n, requires_all [any(origins-i,
  allow_missing) for each i]]``.

So a request without a token passes (without identity: authorization decides whether that is
enough, e.g. ``requestPrincipals: ["*"]``), a token any provider verifies passes (the outer
``origins-i``, which also covers providers reading the same header), and a token that is
present but fails verification everywhere (bad signature, unknown issuer, wrong audience,
expired) is answered 401 by Envoy. CORS preflight requests bypass the check, as in Istio.
"""

from __future__ import annotations

from envoy.config.route.v3 import route_components_pb2 as route_pb2
from envoy.extensions.filters.http.jwt_authn.v3 import config_pb2 as jwt_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf import empty_pb2

from sailmesh.config.models.security import JWTRule
from sailmesh.xds import pb
from sailmesh.xds.jwt.provider import JWT_AUTHN_FILTER, build_provider
from sailmesh.xds.jwt.select import policies_for
from sailmesh.xds.scope import ProxyScope


def jwt_authn_filters(scope: ProxyScope) -> list[hcm_pb2.HttpFilter]:
    """The proxy's jwt_authn filter (a list of one), or ``[]`` when no policy applies."""
    config = jwt_authentication(scope)
    if config is None:
        return []
    return [hcm_pb2.HttpFilter(name=JWT_AUTHN_FILTER, typed_config=pb.pack(config))]


def jwt_authentication(scope: ProxyScope) -> jwt_pb2.JwtAuthentication | None:
    """The filter's configuration (memoized per scope), None without rules."""
    if "jwt_authn" not in scope.memo:
        scope.memo["jwt_authn"] = _build(scope)
    found: jwt_pb2.JwtAuthentication | None = scope.memo["jwt_authn"]
    return found


def _build(scope: ProxyScope) -> jwt_pb2.JwtAuthentication | None:
    rules: list[tuple[JWTRule, str]] = [
        (rule, policy.namespace)
        for policy in policies_for(scope.proxy, scope.snapshot)
        for rule in policy.spec.jwt_rules or []
    ]
    if not rules:
        return None
    rules.sort(key=lambda entry: entry[0].issuer or "")
    gateway = scope.proxy.type == "router"
    config = jwt_pb2.JwtAuthentication(bypass_cors_preflight=True)
    provider_names = []
    for i, (rule, namespace) in enumerate(rules):
        name = f"origins-{i}"
        config.providers[name].CopyFrom(build_provider(rule, namespace, scope, gateway))
        provider_names.append(name)
    config.rules.add(match=route_pb2.RouteMatch(prefix="/"), requires=requirement(provider_names))
    return config


def requirement(provider_names: list[str]) -> jwt_pb2.JwtRequirement:
    """Istio's requirement over ``provider_names`` (see the module docstring)."""
    optional = [_any_of(_provider(name), _allow_missing()) for name in provider_names]
    if len(optional) == 1:
        return optional[0]
    all_optional = jwt_pb2.JwtRequirement()
    all_optional.requires_all.requirements.extend(optional)
    return _any_of(*(_provider(name) for name in provider_names), all_optional)


def _provider(name: str) -> jwt_pb2.JwtRequirement:
    return jwt_pb2.JwtRequirement(provider_name=name)


def _allow_missing() -> jwt_pb2.JwtRequirement:
    return jwt_pb2.JwtRequirement(allow_missing=empty_pb2.Empty())


def _any_of(*requirements: jwt_pb2.JwtRequirement) -> jwt_pb2.JwtRequirement:
    out = jwt_pb2.JwtRequirement()
    out.requires_any.requirements.extend(requirements)
    return out
