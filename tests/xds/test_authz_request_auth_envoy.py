"""Request principals and ``request.auth.*`` conditions on real Envoy: the RBAC filters sailmesh
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
from typing import Any

import pytest
import xds_fixtures as fx
from authz_cases import world
from google.protobuf import json_format

from config_support.manifests import manifests
from e2e_support.backend import Backend
from e2e_support.jwt_tokens import Issuer
from e2e_support.proxy import free_port
from sailmesh.runtime.envoy import EnvoyProcess
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


def bootstrap(issuer: Issuer, port: int, backend: int) -> dict[str, Any]:
    jwt = {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": JWT_AUTHN,
            "providers": {"p": {"issuer": ISSUER, "local_jwks": {"inline_string": issuer.jwks()},
                                "payload_in_metadata": "payload", "forward": True}},
            "rules": [{"match": {"prefix": "/"}, "requires": {"requires_any": {"requirements": [
                {"provider_name": "p"}, {"allow_missing": {}}]}}}],
        },
    }  # fmt: skip
    authz = [
        json_format.MessageToDict(f, preserving_proto_field_name=True)
        for f in http_filters(world(POLICY), fx.productpage_proxy())
    ]
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


ALICE = {"sub": "alice", "groups": ["dev", "admins"], "realm": {"role": "superuser"},
         "aud": ["other", "bookinfo"], "azp": "web"}  # fmt: skip
BOB = {"sub": "bob", "groups": "dev", "realm": {"role": "user"}, "aud": "bookinfo", "azp": "cli"}
CAROL = {"sub": "carol", "groups": "admins"}


@pytest.fixture(scope="module")
def envoy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Issuer]]:
    issuer, port = Issuer(ISSUER), free_port()
    workdir = tmp_path_factory.mktemp("jwt-envoy")
    config = workdir / "envoy.json"
    with Backend("ok") as backend:
        config.write_text(json.dumps(bootstrap(issuer, port, backend.port)))
        process = EnvoyProcess(
            config, log_path=workdir / "envoy.log", extra_args=["--concurrency", "1"]
        )
        process.start()
        try:
            process.wait_ready()
            yield port, issuer
        finally:
            process.stop()


def status(port: int, path: str, token: str | None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"authorization": f"Bearer {token}"} if token else {})
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
