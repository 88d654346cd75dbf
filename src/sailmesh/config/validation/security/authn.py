"""Validation rules for security.istio.io: PeerAuthentication,
AuthorizationPolicy (rules in ``authz``) and RequestAuthentication.

Mirrors the checks of istiod's validating webhook (and the CRDs' schema rules), reporting every
problem with its field path and a hint on how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import urlsplit

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.security import (
    JWTRule,
    PeerAuthenticationSpec,
    RequestAuthenticationSpec,
)
from sailmesh.config.resource import Resource
from sailmesh.config.validation.kubernetes.names import check_meta, header_name_problem
from sailmesh.config.validation.security.common import check_policy_head, check_selector
from sailmesh.config.validation.security.jwks import key_problem

VERSIONS = ("v1", "v1beta1")
MAX_SPACE_DELIMITED_CLAIMS = 64


def validate_peer_authentication(resource: Resource, report: Report) -> None:
    spec: PeerAuthenticationSpec = resource.spec
    check_meta(report, resource)
    check_selector(report, "spec.selector", spec.selector)
    if spec.port_level_mtls is None:
        return
    if spec.selector is None or not spec.selector.match_labels:
        report.error(
            "spec.portLevelMtls",
            "port-level mTLS requires a workload selector with "
            "labels (namespace- and mesh-wide policies cannot set it); add "
            "spec.selector.matchLabels or move these ports to a workload policy",
        )
    if not spec.port_level_mtls:
        report.error(
            "spec.portLevelMtls", "must list at least one port; remove the field otherwise"
        )
    for port in spec.port_level_mtls:
        if not 1 <= port <= 65535:
            report.error(
                f"spec.portLevelMtls.{port}",
                f"invalid port {port}: must be between 1 "
                "and 65535 (the workload's container port, not the Service port)",
            )


def validate_request_authentication(resource: Resource, report: Report) -> None:
    spec: RequestAuthenticationSpec = resource.spec
    check_policy_head(report, resource)
    for i, rule in enumerate(spec.jwt_rules or ()):
        _check_jwt_rule(report, f"spec.jwtRules[{i}]", rule)


def _check_jwt_rule(report: Report, path: str, rule: JWTRule) -> None:
    if not rule.issuer and not rule.jwks_uri:  # Istio: either; without issuer, any ``iss``
        report.error(
            join_path(path, "issuer"),
            "issuer or jwksUri must be set: the issuer ('iss' claim) of the tokens, e.g. "
            "'testing@secure.istio.io', or the URI of the key set that verifies them",
        )
    _check_non_empty(report, path, "audiences", rule.audiences, "audience")
    _check_key_set(report, path, rule)
    _check_token_locations(report, path, rule)
    _check_output_headers(report, path, rule)
    if rule.timeout is not None and rule.timeout.nanos <= 0:
        report.error(
            join_path(path, "timeout"),
            f"timeout must be positive (got {rule.timeout!s}), e.g. '5s'",
        )
    claims = rule.space_delimited_claims or []
    if len(claims) > MAX_SPACE_DELIMITED_CLAIMS:
        report.error(
            join_path(path, "spaceDelimitedClaims"),
            f"at most {MAX_SPACE_DELIMITED_CLAIMS} claims are allowed",
        )
    for i, claim in enumerate(claims):
        if not claim:
            report.error(f"{path}.spaceDelimitedClaims[{i}]", "claim name must not be empty")


def _check_non_empty(
    report: Report, path: str, field: str, values: Sequence[str] | None, what: str
) -> None:
    for i, value in enumerate(values or ()):
        if not value:
            report.error(f"{path}.{field}[{i}]", f"{what} must be a non-empty string")


def _check_key_set(report: Report, path: str, rule: JWTRule) -> None:
    """``jwks`` (inline) or ``jwksUri``, never both; each well formed."""
    if rule.jwks_uri is not None and rule.jwks is not None:
        report.error(
            join_path(path, "jwks"),
            "`jwks` and `jwksUri` are mutually exclusive: "
            "inline the key set or give its URL, not both",
        )
    if rule.jwks_uri is not None:
        problem = jwks_uri_problem(rule.jwks_uri)
        if problem:
            report.error(join_path(path, "jwksUri"), problem)
    if rule.jwks is not None:
        problem = jwks_problem(rule.jwks)
        if problem:
            report.error(join_path(path, "jwks"), problem)
        else:
            _check_keys(report, join_path(path, "jwks"), rule.jwks)


def _check_keys(report: Report, path: str, text: str) -> None:
    """Keys Envoy cannot verify with: an error when no key is usable (Envoy would refuse the
    provider), a warning for each unusable key beside usable ones (it is left out)."""
    data = json.loads(text)
    keys = data.get("keys", [data])
    problems = [(i, key_problem(key)) for i, key in enumerate(keys)]
    bad = [(i, p) for i, p in problems if p is not None]
    if len(bad) == len(keys):
        i, first = bad[0]
        report.error(path, f"jwks has no key tokens can be verified with (key #{i}: {first})")
        return
    for i, problem in bad:
        report.warn(path, f"jwks key #{i} is left out: {problem}")


def _check_token_locations(report: Report, path: str, rule: JWTRule) -> None:
    """Where tokens are read from: header names, query parameters, cookies."""
    for i, header in enumerate(rule.from_headers or ()):
        at = f"{path}.fromHeaders[{i}]"
        if not header.name:
            report.error(
                join_path(at, "name"),
                "required field is missing: the header carrying "
                "the token, e.g. 'Authorization' (with prefix 'Bearer ')",
            )
        elif problem := header_name_problem(header.name):
            report.error(join_path(at, "name"), problem)
    _check_non_empty(report, path, "fromParams", rule.from_params, "query parameter")
    _check_non_empty(report, path, "fromCookies", rule.from_cookies, "cookie name")


def _check_output_headers(report: Report, path: str, rule: JWTRule) -> None:
    if rule.output_payload_to_header is not None:
        problem = header_name_problem(rule.output_payload_to_header)
        if problem:
            report.error(join_path(path, "outputPayloadToHeader"), problem)
    seen: set[str] = set()
    for i, item in enumerate(rule.output_claim_to_headers or ()):
        at = f"{path}.outputClaimToHeaders[{i}]"
        if not item.header:
            report.error(
                join_path(at, "header"),
                "required field is missing: the header to create, e.g. 'x-jwt-claim-sub'",
            )
        elif problem := header_name_problem(item.header):
            report.error(join_path(at, "header"), problem)
        elif item.header.lower() in seen:
            report.warn(
                join_path(at, "header"),
                f"header {item.header!r} is already set by an "
                "earlier entry; the later value overwrites it",
            )
        else:
            seen.add(item.header.lower())
        if not item.claim:
            report.error(
                join_path(at, "claim"),
                "required field is missing: the claim to copy, e.g. 'sub' (nested claims as 'a.b')",
            )


def jwks_uri_problem(uri: str) -> str | None:
    """Istio's ``ParseJwksURI``: an http(s) URL with a host (and a valid port)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https"):
        return (
            f"invalid jwksUri {uri!r}: must be an http:// or https:// URL, e.g. "
            "'https://example.com/.well-known/jwks.json'"
        )
    try:
        port = parts.port
    except ValueError:
        return f"invalid jwksUri {uri!r}: the port must be a number from 1 to 65535"
    if not parts.hostname:
        return f"invalid jwksUri {uri!r}: the URL has no host"
    if port == 0:
        return f"invalid jwksUri {uri!r}: the port must be a number from 1 to 65535"
    return None


def jwks_problem(text: str) -> str | None:
    """A JSON Web Key Set (``{"keys": [...]}``) or a single JWK object."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return f"jwks is not valid JSON ({exc}); paste the key set as a JSON string"
    if isinstance(data, dict) and isinstance(data.get("keys"), list):
        keys = data["keys"]
    elif isinstance(data, dict) and "kty" in data:
        keys = [data]
    else:
        return 'jwks must be a JSON Web Key Set such as {"keys": [{"kty": "RSA", ...}]}'
    if not keys:
        return "jwks contains no keys, so no token can be verified"
    for index, key in enumerate(keys):
        if not isinstance(key, dict) or "kty" not in key:
            return f"jwks key #{index} has no 'kty' (key type); each key needs kty, e.g. 'RSA'"
    return None
