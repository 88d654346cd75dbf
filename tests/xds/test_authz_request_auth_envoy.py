"""Request principals and ``request.auth.*`` conditions on real Envoy (and the seed examples
that use them): the RBAC filters sailmesh
builds read the JWT payloads that ``envoy.filters.http.jwt_authn`` records (the contract of
:mod:`sailmesh.xds.request_security`: namespace ``envoy.filters.http.jwt_authn``, key
``payload``).

One Envoy on 127.0.0.1 runs the HTTP filters sailmesh translates for the proxy
(:func:`sailmesh.xds.request_security.request_filters`): jwt_authn from a RequestAuthentication
with the test issuers' keys inline (tokens optional, invalid ones refused), then the
authorization filters of the policy below, then a backend.
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
from e2e_support.jwks import Issuer
from e2e_support.proxy import free_port
from e2e_support.seed_docs import seed_yaml
from sailmesh.registry.model import frozen_map
from sailmesh.runtime.envoy import EnvoyProcess
from sailmesh.snapshot.proxy import Proxy
from sailmesh.xds.bootstrap import UnixAddress, render_bootstrap
from sailmesh.xds.request_security import request_filters
from sailmesh.xds.scope import build_scope

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
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


def bootstrap(filters: list[dict[str, Any]], port: int, backend: int) -> dict[str, Any]:
    """Envoy on 127.0.0.1:``port``: the HTTP ``filters``, then the router to ``backend``."""
    router = {"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER}}
    hcm = {
        "@type": HCM,
        "stat_prefix": "authz",
        "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
            {"match": {"prefix": "/"}, "route": {"cluster": "backend"}}]}]},
        "http_filters": [*filters, router],
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


def request_authentication(issuers: list[Issuer], namespace: str) -> str:
    """A namespace-wide RequestAuthentication trusting ``issuers`` (their keys inline)."""
    rules = "".join(
        f"  - issuer: {issuer.name}\n    jwks: '{issuer.jwks()}'\n    forwardOriginalToken: true\n"
        for issuer in issuers
    )
    return manifests(f"RequestAuthentication {namespace}/issuers\n  jwtRules:\n{rules}")


def translated(issuers: list[Issuer], policies: str, proxy: Proxy) -> list[dict[str, Any]]:
    """The HTTP filters sailmesh translates for ``proxy`` from a RequestAuthentication of
    ``issuers`` and ``policies``: jwt_authn, then authorization."""
    snapshot = world(request_authentication(issuers, proxy.namespace), policies)
    return [
        json_format.MessageToDict(f, preserving_proto_field_name=True)
        for f in request_filters(build_scope(proxy, snapshot), 9080)
    ]


@contextmanager
def running(workdir: Path, filters: list[dict[str, Any]]) -> Iterator[int]:
    """An Envoy with these filters in front of a backend; its port."""
    port = free_port()
    config = workdir / "envoy.json"
    with Backend("ok") as backend:
        config.write_text(json.dumps(bootstrap(filters, port, backend.port)))
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
    filters = translated([issuer], POLICY, fx.productpage_proxy())
    with running(tmp_path_factory.mktemp("jwt-envoy"), filters) as port:
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


def test_the_chain_is_jwt_authn_then_authorization() -> None:
    names = [f["name"] for f in translated([Issuer(ISSUER)], POLICY, fx.productpage_proxy())]
    assert names[0] == "envoy.filters.http.jwt_authn" and len(names) > 1


def test_a_token_from_another_key_is_refused_by_jwt_authn(envoy: tuple[int, Issuer]) -> None:
    port, _ = envoy
    forged = Issuer(ISSUER).token(ALICE)
    assert status(port, "/alice", forged) == 401


def test_seed_rate_limit_needs_a_google_token_and_a_user_id(tmp_path: Path) -> None:
    """Seed 002 ``rate-limit`` as written: GET with x-user-id and a token from Google."""
    google, other = Issuer("https://accounts.google.com"), Issuer("https://auth.ecommerce.com")
    policy = seed_yaml("AuthorizationPolicy", "rate-limit")
    filters = translated([google, other], policy, fx.productpage_proxy())
    with running(tmp_path, filters) as port:
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
    with running(tmp_path, translated([issuer], policy, PAYMENT)) as port:
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
