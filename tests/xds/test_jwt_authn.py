"""The jwt_authn filter a proxy gets (xds/jwt/authn.py, provider.py) and where it goes."""

from __future__ import annotations

from typing import Any

import pytest
import xds_fixtures as fx
from envoy.extensions.filters.http.jwt_authn.v3 import config_pb2 as jwt_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from config_support.manifests import manifests
from sailmesh.registry.model import frozen_map
from sailmesh.snapshot.proxy import Proxy
from sailmesh.typeurls import LISTENER
from sailmesh.xds import request_security
from sailmesh.xds.generate import generate
from sailmesh.xds.jwt import JWT_AUTHN_FILTER, PAYLOAD_KEY
from sailmesh.xds.jwt.authn import jwt_authentication, jwt_authn_filters, requirement
from sailmesh.xds.jwt.keys import NO_KEYS
from sailmesh.xds.scope import build_scope

JWKS = '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}'
GATEWAY = Proxy(
    type="router",
    ip="10.244.0.50",
    pod_name="ingress-1",
    namespace="default",
    labels=frozen_map({"istio": "ingressgateway"}),
)


def policy(rules: str, selector: str = "") -> str:
    return manifests(f"RequestAuthentication default/ra\n{selector}  jwtRules:\n{rules}")


def authn(text: str, proxy: Proxy | None = None) -> jwt_pb2.JwtAuthentication:
    scope = build_scope(proxy or fx.productpage_proxy(), fx.snapshot(fx.config(text)))
    found = jwt_authentication(scope)
    assert found is not None
    return found


def test_the_contract_with_authorization_holds() -> None:
    assert request_security.JWT_METADATA_NAMESPACE == JWT_AUTHN_FILTER
    assert request_security.JWT_PAYLOAD_KEY == PAYLOAD_KEY


def test_no_policy_no_filter() -> None:
    scope = build_scope(fx.productpage_proxy(), fx.snapshot([]))
    assert jwt_authn_filters(scope) == []
    other = policy(f"  - {{issuer: i, jwks: '{JWKS}'}}\n", "  selector: {matchLabels: {app: x}}\n")
    scope = build_scope(fx.productpage_proxy(), fx.snapshot(fx.config(other)))
    assert jwt_authn_filters(scope) == []


def test_a_rule_becomes_a_provider_as_istio_builds_it() -> None:
    config = authn(
        policy(f"""\
  - issuer: https://issuer.example.com
    audiences: [a1, a2]
    jwks: '{JWKS}'
    fromHeaders: [{{name: x-token, prefix: "Token "}}, {{name: x-raw}}]
    fromParams: [tok]
    fromCookies: [session]
    forwardOriginalToken: true
    outputPayloadToHeader: x-payload
    outputClaimToHeaders: [{{header: x-sub, claim: sub}}, {{header: x-team, claim: org.team}}]
    spaceDelimitedClaims: [roles, scope]
""")
    )
    assert list(config.providers) == ["origins-0"]
    provider = config.providers["origins-0"]
    assert provider.issuer == "https://issuer.example.com"
    assert list(provider.audiences) == ["a1", "a2"]
    assert provider.local_jwks.inline_string == JWKS
    assert [(h.name, h.value_prefix) for h in provider.from_headers] == [
        ("x-token", "Token "),
        ("x-raw", ""),
    ]
    assert (list(provider.from_params), list(provider.from_cookies)) == (["tok"], ["session"])
    assert provider.forward and provider.forward_payload_header == "x-payload"
    assert [(c.header_name, c.claim_name) for c in provider.claim_to_headers] == [
        ("x-sub", "sub"),
        ("x-team", "org.team"),
    ]
    assert provider.payload_in_metadata == PAYLOAD_KEY
    spaced = provider.normalize_payload_in_metadata.space_delimited_claims
    assert list(spaced) == ["permission", "roles", "scope"]
    assert not provider.clear_route_cache  # a sidecar's inbound route never depends on claims
    assert config.bypass_cors_preflight
    (rule,) = config.rules
    assert rule.match.prefix == "/"


def test_defaults_strip_the_token_and_read_envoys_default_locations() -> None:
    provider = authn(policy(f"  - {{issuer: i, jwks: '{JWKS}'}}\n")).providers["origins-0"]
    assert not provider.forward
    assert not provider.from_headers and not provider.from_params and not provider.from_cookies
    assert not provider.forward_payload_header


def test_one_provider_is_required_only_when_a_token_is_present() -> None:
    assert requirement(["origins-0"]) == jwt_pb2.JwtRequirement(
        requires_any=jwt_pb2.JwtRequirementOrList(
            requirements=[
                jwt_pb2.JwtRequirement(provider_name="origins-0"),
                jwt_pb2.JwtRequirement(allow_missing={}),
            ]
        )
    )


def test_several_providers_any_one_or_all_missing() -> None:
    found = requirement(["origins-0", "origins-1"])
    outer = found.requires_any.requirements
    assert [r.provider_name for r in outer[:2]] == ["origins-0", "origins-1"]
    inner = outer[2].requires_all.requirements
    assert [r.requires_any.requirements[0].provider_name for r in inner] == [
        "origins-0",
        "origins-1",
    ]
    assert all(r.requires_any.requirements[1].HasField("allow_missing") for r in inner)


def test_rules_of_every_policy_are_merged_and_sorted_by_issuer() -> None:
    text = "\n---\n".join(
        [
            policy(
                f"  - {{issuer: zeta, jwks: '{JWKS}'}}\n  - {{issuer: alpha, jwks: '{JWKS}'}}\n"
            ),
            manifests(
                f"RequestAuthentication istio-system/mesh\n  jwtRules:\n"
                f"  - {{issuer: mid, jwks: '{JWKS}'}}\n"
            ),
        ]
    )
    config = authn(text)
    issuers = [config.providers[f"origins-{i}"].issuer for i in range(3)]
    assert issuers == ["alpha", "mid", "zeta"]


def test_gateways_clear_the_route_cache_after_verification() -> None:
    text = policy(f"  - {{issuer: i, jwks: '{JWKS}'}}\n")
    assert authn(text, GATEWAY).providers["origins-0"].clear_route_cache


@pytest.mark.parametrize(
    ("uri", "cluster"),
    [
        ("http://reviews.default.svc.cluster.local:9080/keys", "outbound|9080||reviews.default.svc.cluster.local"),
        ("http://reviews:9080/keys", "outbound|9080||reviews.default.svc.cluster.local"),
        ("http://reviews.default:9080/keys", "outbound|9080||reviews.default.svc.cluster.local"),
        ("http://reviews.default.svc:9080/keys", "outbound|9080||reviews.default.svc.cluster.local"),
        # no such port or host: Istio's name all the same (the fetch fails: tokens refused)
        ("http://reviews/keys", "outbound|80||reviews"),
        ("https://keys.example.com/jwks.json", "outbound|443||keys.example.com"),
    ],
)  # fmt: skip
def test_keys_are_fetched_through_the_outbound_cluster_of_the_uri(uri: str, cluster: str) -> None:
    remote = authn(policy(f"  - {{issuer: i, jwksUri: '{uri}'}}\n")).providers["origins-0"]
    assert remote.remote_jwks.http_uri.uri == uri
    assert remote.remote_jwks.http_uri.cluster == cluster
    assert remote.remote_jwks.http_uri.timeout.seconds == 5
    assert remote.remote_jwks.cache_duration.seconds == 300


def test_a_service_entry_host_serves_keys() -> None:
    text = manifests("""
ServiceEntry default/keys
  hosts: [keys.example.com]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
""")
    text += "\n---\n" + policy(
        "  - {issuer: i, jwksUri: 'https://keys.example.com/j', timeout: 2s}\n"
    )
    from sailmesh.registry.convert import service_entry_services

    resources = fx.config(text)
    entries = [s for r in resources if r.kind == "ServiceEntry" for s in service_entry_services(r)]
    scope = build_scope(fx.productpage_proxy(), fx.snapshot(resources, extra_services=entries))
    config = jwt_authentication(scope)
    assert config is not None
    http_uri = config.providers["origins-0"].remote_jwks.http_uri
    assert http_uri.cluster == "outbound|443||keys.example.com"
    assert http_uri.timeout.seconds == 2


def test_a_rule_without_keys_verifies_nothing() -> None:
    provider = authn(policy("  - {issuer: i}\n")).providers["origins-0"]
    assert provider.local_jwks.inline_string == NO_KEYS


def hcm_filters(listener: Any, chain_name: str) -> list[str]:
    for chain in listener.filter_chains:
        if chain.name == chain_name:
            hcm = hcm_pb2.HttpConnectionManager()
            chain.filters[-1].typed_config.Unpack(hcm)
            return [f.name for f in hcm.http_filters]
    raise AssertionError(f"no filter chain {chain_name}")


def test_the_filter_comes_first_on_inbound_and_gateway_connection_managers() -> None:
    text = (
        policy(f"  - {{issuer: i, jwks: '{JWKS}'}}\n")
        + "\n---\n"
        + manifests("""
Gateway default/gw
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
""")
    )
    snap = fx.snapshot(fx.config(text))
    inbound = generate(fx.productpage_proxy(), snap, [LISTENER])[LISTENER]["virtualInbound"]
    assert hcm_filters(inbound, "0.0.0.0_9080") == [
        JWT_AUTHN_FILTER, "envoy.filters.http.grpc_stats", "envoy.filters.http.router"]  # fmt: skip
    gateway = generate(GATEWAY, snap, [LISTENER])[LISTENER]["0.0.0.0_8080"]
    assert hcm_filters(gateway, "")[0] == JWT_AUTHN_FILTER
    # outbound listeners of the sidecar never verify tokens
    outbound = generate(fx.productpage_proxy(), snap, [LISTENER])[LISTENER]
    assert JWT_AUTHN_FILTER.encode() not in outbound["0.0.0.0_9080"].SerializeToString()
