"""Request principals and ``request.auth.*`` conditions on real Envoy (and the seed examples
that use them): the RBAC filters sailmesh
builds read the JWT payloads that ``envoy.filters.http.jwt_authn`` records (the contract of
:mod:`sailmesh.xds.request_security`: namespace ``envoy.filters.http.jwt_authn``, key
``payload``).

One Envoy on 127.0.0.1 runs a jwt_authn filter configured as that contract says (a stand-in
for RequestAuthentication's translation: one provider, tokens optional, invalid ones refused),
then the authorization filters translated from the policy below, then a backend.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import xds_fixtures as fx
from authz_cases import world
from google.protobuf import json_format

from config_support.manifests import manifests
from e2e_support.backend import Backend
from e2e_support.jwt_tokens import Issuer
from e2e_support.proxy import free_port
from e2e_support.seed_docs import seed_yaml
from sailmesh.registry.model import frozen_map
from sailmesh.runtime.envoy import EnvoyProcess
from sailmesh.snapshot.proxy import Proxy
from sailmesh.xds.authz.filters import http_filters
from sailmesh.xds.bootstrap import UnixAddress, render_bootstrap

pytestmark = pytest.mark.e2e

ISSUER = "https://issuer.example.com"
POLICY = manifests("""
AuthorizationPolicy default/jwt
  selector: {matchLabels: {app: productpage}}
  rules:
  - from: [{source: {requestPrincipals: ["https://issuer.example.com/alice"]}}]
    to: [{operation: {paths: [/alice]}}]
  - from: [{source: {requestPrincipals: ["*"]}}]
    to: [{operation: {paths: [/any]}}]
  - from: [{source: {notRequestPrincipals: ["*"]}}]
    to: [{operation: {paths: [/anonymous]}}]
  - to: [{operation: {paths: [/groups]}}]
    when: [{key: "request.auth.claims[groups]", values: [admins]}]
  - to: [{operation: {paths: [/nested]}}]
    when: [{key: "request.auth.claims[realm][role]", values: ["super*"]}]
  - to: [{operation: {paths: [/audience]}}]
    when:
    - {key: request.auth.audiences, values: [bookinfo]}
    - {key: request.auth.presenter, values: [web]}
  - to: [{operation: {paths: [/principal]}}]
    when: [{key: request.auth.principal, values: ["https://issuer.example.com/*"]}]
""")
JWT_AUTHN = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


def bootstrap(
    issuers: list[Issuer], authz: list[dict[str, Any]], port: int, backend: int
) -> dict[str, Any]:
    """Envoy on 127.0.0.1:``port``: jwt_authn (one provider per issuer, tokens optional),
    the ``authz`` filters, the router to ``backend``."""
    providers = {
        f"p{i}": {"issuer": issuer.name, "local_jwks": {"inline_string": issuer.jwks()},
                  "payload_in_metadata": "payload", "forward": True}
        for i, issuer in enumerate(issuers)
    }  # fmt: skip
    requirements = [{"provider_name": name} for name in providers] + [{"allow_missing": {}}]
    jwt = {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": JWT_AUTHN,
            "providers": providers,
            "rules": [{"match": {"prefix": "/"},
                       "requires": {"requires_any": {"requirements": requirements}}}],
        },
    }  # fmt: skip
    router = {"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}}
    hcm = {
        "@type": HCM,
        "stat_prefix": "authz",
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
            {"match": {"prefix": "/"}, "route": {"cluster": "backend"}}]}]},
        "http_filters": [jwt, *authz, router],
    }  # fmt: skip
    document = render_bootstrap(
        node_id="sidecar~127.0.0.1~jwt.default~default.svc.cluster.local",
        cluster="jwt",
        xds_address=UnixAddress("/nonexistent/xds.sock"),
        admin_port=0,
    )
    del document["dynamic_resources"]
    document["static_resources"] = {
        "clusters": [{"name": "backend", "type": "STATIC", "connect_timeout": "1s",
                      "load_assignment": {"cluster_name": "backend", "endpoints": [{"lb_endpoints": [
                          {"endpoint": {"address": {"socket_address": {
                              "address": "127.0.0.1", "port_value": backend}}}}]}]}}],
        "listeners": [{"name": "in", "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                       "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                                       "typed_config": hcm}]}]}],
    }  # fmt: skip
    return document


def authorization(policies: str, proxy: Proxy) -> list[dict[str, Any]]:
    """The authorization filters sailmesh translates ``policies`` to for ``proxy``."""
    return [
        json_format.MessageToDict(f, preserving_proto_field_name=True)
        for f in http_filters(world(policies), proxy)
    ]


@contextmanager
def running(workdir: Path, issuers: list[Issuer], authz: list[dict[str, Any]]) -> Iterator[int]:
    """An Envoy with these issuers and filters in front of a backend; its port."""
    port = free_port()
    config = workdir / "envoy.json"
    with Backend("ok") as backend:
        config.write_text(json.dumps(bootstrap(issuers, authz, port, backend.port)))
        process = EnvoyProcess(
            config, log_path=workdir / "envoy.log", extra_args=["--concurrency", "1"]
        )
        process.start()
        try:
            process.wait_ready()
            yield port
        finally:
            process.stop()


ALICE = {"sub": "alice", "groups": ["dev", "admins"], "realm": {"role": "superuser"},
         "aud": ["other", "bookinfo"], "azp": "web"}  # fmt: skip
BOB = {"sub": "bob", "groups": "dev", "realm": {"role": "user"}, "aud": "bookinfo", "azp": "cli"}
CAROL = {"sub": "carol", "groups": "admins"}


@pytest.fixture(scope="module")
def envoy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Issuer]]:
    issuer = Issuer(ISSUER)
    authz = authorization(POLICY, fx.productpage_proxy())
    with running(tmp_path_factory.mktemp("jwt-envoy"), [issuer], authz) as port:
        yield port, issuer


def status(
    port: int,
    path: str,
    token: str | None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    sent = dict(headers or {})
    if token:
        sent["authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, headers=sent)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("path", "alice", "bob", "carol", "nobody"),
    [
        ("/alice", 200, 403, 403, 403),
        ("/any", 200, 200, 200, 403),
        ("/anonymous", 403, 403, 403, 200),
        ("/groups", 200, 403, 200, 403),  # a list claim (alice) or a string (carol)
        ("/nested", 200, 403, 403, 403),
        ("/audience", 200, 403, 403, 403),  # aud in a list, and azp
        ("/principal", 200, 200, 200, 403),
        ("/other", 403, 403, 403, 403),
    ],
)
def test_request_principals_and_claims(
    envoy: tuple[int, Issuer], path: str, alice: int, bob: int, carol: int, nobody: int
) -> None:
    port, issuer = envoy
    tokens = [issuer.token(ALICE), issuer.token(BOB), issuer.token(CAROL), None]
    assert [status(port, path, t) for t in tokens] == [alice, bob, carol, nobody]


def test_a_token_from_another_key_is_refused_by_jwt_authn(envoy: tuple[int, Issuer]) -> None:
    port, _ = envoy
    forged = Issuer(ISSUER).token(ALICE)
    assert status(port, "/alice", forged) == 401


def test_seed_rate_limit_needs_a_google_token_and_a_user_id(tmp_path: Path) -> None:
    """Seed 002 ``rate-limit`` as written: GET with x-user-id and a token from Google."""
    google, other = Issuer("https://accounts.google.com"), Issuer("https://auth.ecommerce.com")
    policy = seed_yaml("AuthorizationPolicy", "rate-limit")
    with running(tmp_path, [google, other], authorization(policy, fx.productpage_proxy())) as port:
        user, token = {"x-user-id": "u-1"}, google.token({"sub": "u-1"})
        assert [
            status(port, "/api/v1/products", token, headers=user),
            status(port, "/api/v1/products", token),
            status(port, "/api/v1/products", None, headers=user),
            status(port, "/api/v1/products", token, "POST", headers=user),
            status(port, "/api/v1/products", other.token({"sub": "u-1"}), headers=user),
        ] == [200, 403, 403, 403, 403]


PAYMENT = Proxy(
    "sidecar",
    "10.244.1.7",
    "payment-service-1",
    "production",
    labels=frozen_map({"app": "payment-service"}),
)


def test_seed_payment_service_jwt_authz_by_subject_and_role(tmp_path: Path) -> None:
    """Seed 003 ``payment-service-jwt-authz`` as written: the admin may GET/POST/PUT/DELETE,
    the user GET/POST with role customer or merchant; nobody else."""
    issuer = Issuer("https://auth.ecommerce.com")
    policy = seed_yaml("AuthorizationPolicy", "payment-service-jwt-authz")
    with running(tmp_path, [issuer], authorization(policy, PAYMENT)) as port:
        admin = issuer.token({"sub": "admin"})
        customer = issuer.token({"sub": "user", "role": "customer"})
        merchant = issuer.token({"sub": "user", "role": "merchant"})
        guest = issuer.token({"sub": "user", "role": "guest"})
        stranger = issuer.token({"sub": "mallory", "role": "customer"})
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        assert [status(port, "/pay", admin, m) for m in methods] == [200, 200, 200, 200, 403]
        assert [status(port, "/pay", customer, m) for m in methods] == [200, 200, 403, 403, 403]
        assert [status(port, "/pay", merchant, m) for m in ("GET", "POST")] == [200, 200]
        assert [status(port, "/pay", t) for t in (guest, stranger, None)] == [403, 403, 403]
