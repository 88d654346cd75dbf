"""RequestAuthentication end to end: real tokens through real sidecars and a real ingress gateway,
and with AuthorizationPolicy (request principals, claims; seed 003's JWT example as written);
also a Telemetry attached to the gateway by ``targetRef`` (the same attachment rules).

One mesh (netns mode) is shared by the tests of this module: an echo app (``shop/echo``, and
``shop/echo-admin`` for claim routing) that reports the headers it received, a client pod, a
JWKS server pod (``auth/jwks``, publishing the issuer's public key over HTTP), and an ingress
gateway (``istio-system``) labelled as the Kubernetes Gateway API gateway ``edge``. Each test
applies its RequestAuthentication, waits until Envoy enforces it, checks, and deletes it.

Tokens are minted by the test (RS256) with the claims each case needs; a "forged" token is
signed by another key published nowhere under the same key id.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from runtime_e2e import skip_unless_netns

from e2e_support import jwks
from e2e_support.echo import ECHO_SCRIPT, Answer, host_call, pod_call, pod_calls
from e2e_support.localmesh import LocalMeshThread
from e2e_support.pki import Pki, write_pki
from e2e_support.proxy import wait_for
from e2e_support.seed_docs import seed_yaml
from e2e_support.sync import synced
from sailmesh.runtime.local import RunningPod

pytestmark = pytest.mark.e2e

skip_unless_netns()

ISSUER = "https://issuer.shop.test"
OTHER_ISSUER = "other@issuer.test"
AUDIENCE = "shop-api"
ECHO = "http://echo.shop.svc.cluster.local/"
JWKS_PATH = "/.well-known/jwks.json"
OTHER_JWKS_PATH = "/other/jwks.json"
JWKS_URI = f"http://jwks.auth.svc.cluster.local{JWKS_PATH}"

KEY = jwks.SigningKey("key-1")
OTHER_KEY = jwks.SigningKey("key-2")  # the other issuer's, published on another path
FORGER = jwks.SigningKey("key-1")  # same key id as KEY, published nowhere


def _deployment(namespace: str, name: str, command: list[str]) -> str:
    """A Deployment serving on 8080, with a Service ``name`` (port 80) in front."""
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: {name}
        command: {json.dumps(command)}
        ports: [{{containerPort: 8080}}]
"""


def _namespace(name: str) -> str:
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {name}, labels: {{istio-injection: enabled}}}}
"""


CLIENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: shop}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
      containers: [{name: client, command: [sleep, "3600"]}]
"""

GATEWAY = """
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  ports: [{name: http2, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  template:
    metadata:
      annotations: {inject.istio.io/templates: gateway}
      labels:
        istio: ingressgateway
        gateway.networking.k8s.io/gateway-name: edge
    spec:
      containers:
      - name: istio-proxy
        image: auto
        ports: [{containerPort: 8080}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: ["*"]
  gateways: [istio-system/edge]
  http:
  - match:
    - headers: {"@request.auth.claims.groups": {exact: admins}}
    route: [{destination: {host: echo-admin}}]
  - match:
    - uri: {prefix: /scoped}
      headers: {"@request.auth.claims.scope": {exact: write}}
    route: [{destination: {host: echo-admin}}]
  - route: [{destination: {host: echo}}]
"""


# The seed's issuer (seed 003, "JWT Token Validation"): an identity provider outside the mesh
# (namespace idp, no sidecars) serving its keys over HTTPS as auth.ecommerce.com, a ServiceEntry
# that names it, and a DestinationRule that originates TLS to it with the test CA.
SEED_ISSUER = "https://auth.ecommerce.com"
SEED_KEY = jwks.SigningKey("ecommerce-1")


def identity_provider(pki: Pki) -> str:
    key_sets = {"/.well-known/jwks.json": jwks.jwks(SEED_KEY)}
    tls = (str(pki.server_cert), str(pki.server_key))
    server = jwks.server_command(key_sets, 8443, tls=tls)
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: idp, labels: {{istio-injection: disabled}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: auth-server, namespace: idp}}
spec:
  selector: {{matchLabels: {{app: auth-server}}}}
  template:
    metadata: {{labels: {{app: auth-server}}}}
    spec:
      containers:
      - name: auth-server
        command: {json.dumps(server)}
        ports: [{{containerPort: 8443}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: auth-ecommerce, namespace: idp}}
spec:
  hosts: [auth.ecommerce.com]
  location: MESH_EXTERNAL
  ports: [{{number: 443, name: https, protocol: HTTPS, targetPort: 8443}}]
  resolution: STATIC
  workloadSelector: {{labels: {{app: auth-server}}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: auth-ecommerce, namespace: production}}
spec:
  host: auth.ecommerce.com
  trafficPolicy:
    tls:
      mode: SIMPLE
      caCertificates: {pki.ca}
      sni: auth.ecommerce.com
      subjectAltNames: [auth.ecommerce.com]
"""


def manifests(pki: Pki) -> str:
    echo = ["python3", "-c", ECHO_SCRIPT]
    key_sets = {JWKS_PATH: jwks.jwks(KEY), OTHER_JWKS_PATH: jwks.jwks(OTHER_KEY)}
    server = jwks.server_command(key_sets, 8080)
    return "\n---\n".join(
        [
            _namespace("auth"),
            _deployment("auth", "jwks", server),
            _namespace("shop"),
            _deployment("shop", "echo", echo),
            _deployment("shop", "echo-admin", echo),
            CLIENT,
            GATEWAY,
            seed_yaml("Namespace", "production"),
            _deployment("production", "payment-service", echo),
            identity_provider(pki),
        ]
    )


@pytest.fixture(scope="module")
def pki() -> Iterator[Pki]:
    """The identity provider's certificates, in a directory Envoy (uid 1337) and the provider's
    process (nobody) can read; only the provider's process can read its key."""
    directory = Path(tempfile.mkdtemp(prefix="sailmesh-jwt-pki-"))
    try:
        directory.chmod(0o755)
        found = write_pki(directory, "auth.ecommerce.com")
        found.server_key.chmod(0o600)
        os.chown(found.server_key, 65534, 65534)  # the app's uid (nobody)
        yield found
    finally:
        shutil.rmtree(directory)


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[LocalMeshThread]:
    home = tmp_path_factory.mktemp("sailmesh-home")
    (home / "manifests").mkdir()
    (home / "manifests" / "jwt.yaml").write_text(manifests(pki))
    m = LocalMeshThread(home)
    try:
        m.start([str(home / "manifests")])
        yield m
    finally:
        m.close()


def pod_of(mesh: LocalMeshThread, namespace: str, deployment: str) -> RunningPod:
    assert mesh.mesh.runtime is not None
    for pod in mesh.mesh.runtime.pods.values():
        if pod.plan.namespace == namespace and pod.plan.owner == f"Deployment/{deployment}":
            return pod
    raise AssertionError(f"no pod of {namespace}/{deployment}")


@pytest.fixture(scope="module")
def client(mesh: LocalMeshThread) -> RunningPod:
    return pod_of(mesh, "shop", "client")


@pytest.fixture(scope="module")
def gateway(mesh: LocalMeshThread) -> int:
    return mesh.gateway_port(8080)


def request_authentication(namespace: str, name: str, spec: str) -> str:
    return f"""
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {{name: {name}, namespace: {namespace}}}
spec:
{spec}
"""


@contextmanager
def applied(mesh: LocalMeshThread, text: str) -> Iterator[None]:
    outcomes = mesh.apply(text)
    assert all(" created" in o or " configured" in o for o in outcomes), outcomes
    synced(mesh)
    try:
        yield
    finally:
        mesh.delete(text)
        synced(mesh)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def valid(subject: str = "alice", **extra: object) -> str:
    return KEY.token(jwks.claims(ISSUER, subject, aud=AUDIENCE, **extra))


def forged() -> str:
    return FORGER.token(jwks.claims(ISSUER, "mallory", aud=AUDIENCE))


def enforced(call: object) -> None:
    """Wait until a forged token is refused (the policy reached the proxy)."""
    assert callable(call)
    wait_for(lambda: call(bearer(forged())).status == 401, 20, "the jwt_authn filter")


INLINE = f"""
  selector: {{matchLabels: {{app: echo}}}}
  jwtRules:
  - issuer: {ISSUER}
    audiences: [{AUDIENCE}, other-api]
    jwks: '{jwks.jwks(KEY)}'
    outputClaimToHeaders:
    - {{header: x-jwt-sub, claim: sub}}
    - {{header: x-jwt-team, claim: org.team}}
"""


def test_a_sidecar_checks_tokens_against_inline_keys(
    mesh: LocalMeshThread, client: RunningPod
) -> None:
    with applied(mesh, request_authentication("shop", "echo-jwt", INLINE)):
        enforced(lambda h: pod_call(client, ECHO, h))
        expired = KEY.token(jwks.claims(ISSUER, "alice", lifetime=-3600, aud=AUDIENCE))
        stranger = KEY.token(jwks.claims("https://evil.test", "alice", aud=AUDIENCE))
        elsewhere = KEY.token(jwks.claims(ISSUER, "alice", aud="billing-api"))
        good, bad_signature, bad_issuer, bad_audience, too_old, garbage, none = pod_calls(
            client,
            [
                (ECHO, bearer(valid(org={"team": "blue"}))),
                (ECHO, bearer(forged())),
                (ECHO, bearer(stranger)),
                (ECHO, bearer(elsewhere)),
                (ECHO, bearer(expired)),
                (ECHO, bearer("not.a.token")),
                (ECHO, {}),
            ],
        )
        assert good.status == 200
        assert good.headers["x-jwt-sub"] == "alice"
        assert good.headers["x-jwt-team"] == "blue"  # a nested claim
        assert "authorization" not in good.headers  # the token is not forwarded by default
        for refused in (bad_signature, bad_issuer, too_old, garbage):
            assert refused.status == 401, refused
        # Envoy's jwt_authn (so Istio too) answers a verified token for another audience 403
        assert (bad_audience.status, bad_audience.body) == (403, "Audiences in Jwt are not allowed")
        assert none.status == 200  # no token: passes, without identity
        assert "x-jwt-sub" not in none.headers
    wait_for(lambda: pod_call(client, ECHO, bearer(forged())).status == 200, 20, "policy removed")


def key_server_gets(mesh: LocalMeshThread) -> int:
    """How many GETs the JWKS server has answered."""
    log = pod_of(mesh, "auth", "jwks").supervisor.log_path("jwks")
    return log.read_text(errors="replace").count(f"GET {JWKS_PATH}")


REMOTE = f"""
  selector: {{matchLabels: {{app: echo}}}}
  jwtRules:
  - issuer: {ISSUER}
    jwksUri: {JWKS_URI}
    timeout: 3s
  - issuer: {OTHER_ISSUER}
    jwksUri: http://jwks.auth{OTHER_JWKS_PATH}
"""


def test_a_sidecar_fetches_keys_from_the_jwks_uri(
    mesh: LocalMeshThread, client: RunningPod
) -> None:
    before = key_server_gets(mesh)
    with applied(mesh, request_authentication("shop", "echo-jwt", REMOTE)):
        enforced(lambda h: pod_call(client, ECHO, h))
        other = OTHER_KEY.token(jwks.claims(OTHER_ISSUER, "bob"))
        crossed = OTHER_KEY.token(jwks.claims(ISSUER, "bob"))  # the other issuer's key
        first, second, swapped, none = pod_calls(
            client,
            [(ECHO, bearer(valid())), (ECHO, bearer(other)), (ECHO, bearer(crossed)), (ECHO, {})],
        )
        assert (first.status, second.status, swapped.status, none.status) == (200, 200, 401, 200)
        assert key_server_gets(mesh) > before  # Envoy fetched the key set itself


NO_ISSUER = f"""
  selector: {{matchLabels: {{app: echo}}}}
  jwtRules:
  - jwksUri: {JWKS_URI}
"""


def test_a_rule_without_issuer_accepts_any_issuer_its_keys_verify(
    mesh: LocalMeshThread, client: RunningPod
) -> None:
    """Current Istio lets a rule name only its key set: the ``iss`` claim is then not checked,
    the signature still is."""
    with applied(mesh, request_authentication("shop", "echo-jwt", NO_ISSUER)):
        enforced(lambda h: pod_call(client, ECHO, h))
        anyone = KEY.token(jwks.claims("https://anyone.test", "carol"))
        ours, theirs, bad, none = pod_calls(
            client,
            [(ECHO, bearer(valid())), (ECHO, bearer(anyone)), (ECHO, bearer(forged())), (ECHO, {})],
        )
        assert (ours.status, theirs.status, bad.status, none.status) == (200, 200, 401, 200)


LOCATIONS = f"""
  selector: {{matchLabels: {{app: echo}}}}
  jwtRules:
  - issuer: {ISSUER}
    jwks: '{jwks.jwks(KEY)}'
    fromHeaders: [{{name: x-token, prefix: "Token "}}]
    fromParams: [tok]
    fromCookies: [session]
    forwardOriginalToken: true
    outputPayloadToHeader: x-jwt-payload
"""


def test_tokens_are_read_where_the_rule_says(mesh: LocalMeshThread, client: RunningPod) -> None:
    with applied(mesh, request_authentication("shop", "echo-jwt", LOCATIONS)):
        enforced(lambda h: pod_call(client, ECHO, {"x-token": f"Token {forged()}", **h}))
        token = valid("carol")
        answers = pod_calls(
            client,
            [
                (ECHO, {"x-token": f"Token {token}"}),
                (ECHO, {"x-token": f"Token {forged()}"}),
                (f"{ECHO}?tok={quote(token)}", {}),
                (f"{ECHO}?tok={quote(forged())}", {}),
                (ECHO, {"Cookie": f"theme=dark; session={token}"}),
                (ECHO, {"Cookie": f"session={forged()}"}),
                # Authorization is not a location of this rule: its token is not looked at.
                (ECHO, bearer(forged())),
            ],
        )
        header, _, param, _, cookie, _, ignored = answers
        assert [a.status for a in answers] == [200, 401, 200, 401, 200, 401, 200]
        assert header.headers["x-token"] == f"Token {token}"  # forwardOriginalToken
        payload = header.headers["x-jwt-payload"]
        decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert decoded["sub"] == "carol" and decoded["iss"] == ISSUER
        assert param.echo["path"].startswith("/?tok=")
        assert cookie.headers["x-jwt-payload"]
        assert "x-jwt-payload" not in ignored.headers


GATEWAY_RULES = f"""
  selector: {{matchLabels: {{istio: ingressgateway}}}}
  jwtRules:
  - issuer: {ISSUER}
    jwksUri: {JWKS_URI}
    outputClaimToHeaders: [{{header: x-jwt-sub, claim: sub}}]
"""


def test_the_gateway_checks_tokens_and_routes_on_claims(
    mesh: LocalMeshThread, gateway: int
) -> None:
    with applied(mesh, request_authentication("istio-system", "edge-jwt", GATEWAY_RULES)):
        enforced(lambda h: host_call(gateway, "/", h))
        admin = valid("root", groups=["ops", "admins"])
        user = valid("dave", groups=["users"])
        writer = valid("erin", scope="read write")
        reader = valid("frank", scope="read")
        assert host_call(gateway, "/", bearer(admin)).pod.startswith("echo-admin-")
        plain = host_call(gateway, "/", bearer(user))
        assert plain.pod.startswith("echo-") and not plain.pod.startswith("echo-admin-")
        assert plain.headers["x-jwt-sub"] == "dave"
        assert not host_call(gateway, "/", {}).pod.startswith("echo-admin-")
        assert host_call(gateway, "/", bearer(forged())).status == 401
        # a space-delimited claim ("scope") is matched per item
        assert host_call(gateway, "/scoped", bearer(writer)).pod.startswith("echo-admin-")
        assert not host_call(gateway, "/scoped", bearer(reader)).pod.startswith("echo-admin-")
    # without the policy no claim is known: the claim routes no longer match
    wait_for(lambda: host_call(gateway, "/", bearer(forged())).status == 200, 20, "removal")
    assert not host_call(gateway, "/", bearer(valid(groups=["admins"]))).pod.startswith(
        "echo-admin-"
    )


def _target(name: str) -> str:
    return f"""
  targetRef: {{group: gateway.networking.k8s.io, kind: Gateway, name: {name}}}
  jwtRules:
  - issuer: {ISSUER}
    jwks: '{jwks.jwks(KEY)}'
"""


def test_a_target_ref_attaches_to_the_named_gateway_only(
    mesh: LocalMeshThread, gateway: int, client: RunningPod
) -> None:
    with applied(mesh, request_authentication("istio-system", "edge-jwt", _target("edge"))):
        enforced(lambda h: host_call(gateway, "/", h))
        assert host_call(gateway, "/", bearer(valid())).status == 200
        # a targetRef policy in the root namespace does not reach sidecars
        assert pod_call(client, ECHO, bearer(forged())).status == 200
    with applied(mesh, request_authentication("istio-system", "edge-jwt", _target("other"))):
        assert host_call(gateway, "/", bearer(forged())).status == 200


def _telemetry_silences(name: str) -> str:
    """A root-namespace Telemetry that turns access logs off, attached to gateway ``name``."""
    return f"""
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {{name: edge-logs, namespace: istio-system}}
spec:
  targetRef: {{group: gateway.networking.k8s.io, kind: Gateway, name: {name}}}
  accessLogging: [{{disabled: true}}]
"""


def test_a_telemetry_target_ref_applies_to_the_named_gateway_only(
    mesh: LocalMeshThread, gateway: int, client: RunningPod
) -> None:
    """Proxies here log every request by default. Without the targetRef the root-namespace
    Telemetry would silence every proxy; with it, only the gateway ``edge`` (a reference to
    another gateway silences nothing)."""
    gateway_log = pod_of(mesh, "istio-system", "istio-ingressgateway").supervisor.log_path(
        "istio-proxy"
    )
    echo_log = pod_of(mesh, "shop", "echo").supervisor.log_path("istio-proxy")

    def logged(log: Path, marker: str) -> bool:
        return marker in log.read_text(errors="replace")

    def send(marker: str) -> None:
        assert host_call(gateway, f"/{marker}").status == 200
        assert pod_call(client, f"{ECHO}{marker}-direct").status == 200

    with applied(mesh, _telemetry_silences("edge")):
        marker = f"silenced-{uuid.uuid4().hex}"
        send(marker)
        wait_for(lambda: logged(echo_log, f"{marker}-direct"), 10, "the sidecar's access log")
        assert logged(echo_log, f"/{marker}")  # the request through the gateway, inbound
        time.sleep(1.0)  # Envoy flushes access logs at least every second
        assert not logged(gateway_log, marker)
    with applied(mesh, _telemetry_silences("other")):
        marker = f"other-{uuid.uuid4().hex}"
        send(marker)
        wait_for(lambda: logged(gateway_log, marker), 10, "the gateway's access log")
        wait_for(lambda: logged(echo_log, f"{marker}-direct"), 10, "the sidecar's access log")


MESH_WIDE = f"""
  jwtRules:
  - issuer: {ISSUER}
    jwks: '{jwks.jwks(KEY)}'
"""


def test_a_root_namespace_policy_applies_mesh_wide(
    mesh: LocalMeshThread, gateway: int, client: RunningPod
) -> None:
    with applied(mesh, request_authentication("istio-system", "mesh-jwt", MESH_WIDE)):
        enforced(lambda h: pod_call(client, ECHO, h))
        enforced(lambda h: host_call(gateway, "/", h))
        answers: list[Answer] = [
            pod_call(client, ECHO, bearer(valid())),
            host_call(gateway, "/", bearer(valid())),
        ]
        assert [a.status for a in answers] == [200, 200]


NO_KEY_SOURCE = f"""
  selector: {{matchLabels: {{app: echo}}}}
  jwtRules:
  - issuer: {ISSUER}
"""


def test_a_rule_without_keys_refuses_its_tokens(mesh: LocalMeshThread, client: RunningPod) -> None:
    """OpenID discovery is not implemented (SM0001): the issuer's tokens are refused, the
    proxy keeps working."""
    with applied(mesh, request_authentication("shop", "echo-jwt", NO_KEY_SOURCE)):
        enforced(lambda h: pod_call(client, ECHO, h))
        valid_token, none = pod_calls(client, [(ECHO, bearer(valid())), (ECHO, {})])
        assert (valid_token.status, none.status) == (401, 200)


UNREACHABLE_KEYS = f"""
  selector: {{matchLabels: {{app: echo}}}}
  jwtRules:
  - issuer: {ISSUER}
    jwksUri: http://keys.nowhere.test/jwks.json
    timeout: 1s
"""


def test_keys_that_cannot_be_fetched_refuse_tokens(
    mesh: LocalMeshThread, client: RunningPod
) -> None:
    """A jwksUri host the mesh does not know: Envoy cannot fetch, so tokens fail closed."""
    with applied(mesh, request_authentication("shop", "echo-jwt", UNREACHABLE_KEYS)):
        enforced(lambda h: pod_call(client, ECHO, h))
        valid_token, none = pod_calls(client, [(ECHO, bearer(valid())), (ECHO, {})])
        assert (valid_token.status, none.status) == (401, 200)
        assert "Jwks remote fetch is failed" in valid_token.body


PAYMENT = "http://payment-service.production.svc.cluster.local/"


def seed_token(subject: str, audience: str = "payment-api", **extra: object) -> str:
    return SEED_KEY.token(jwks.claims(SEED_ISSUER, subject, aud=audience, **extra))


def test_the_seed_request_authentication_fetches_keys_over_https(
    mesh: LocalMeshThread, client: RunningPod
) -> None:
    """Seed 003's RequestAuthentication as written: keys from https://auth.ecommerce.com through
    a ServiceEntry and TLS origination, either audience, the token forwarded to the app."""
    with applied(mesh, seed_yaml("RequestAuthentication", "jwt-validation")):
        enforced(lambda h: pod_call(client, PAYMENT, h))
        forged_seed = FORGER.token(jwks.claims(SEED_ISSUER, "admin", aud="payment-api"))
        token = seed_token("admin")
        answers = pod_calls(
            client,
            [
                (PAYMENT, bearer(token)),
                (PAYMENT, bearer(seed_token("user", "ecommerce-api"))),
                (PAYMENT, bearer(seed_token("user", "other-api"))),
                (PAYMENT, bearer(forged_seed)),
                (PAYMENT, bearer(valid())),  # another issuer's token
                (PAYMENT, {}),
            ],
        )
        assert [a.status for a in answers] == [200, 200, 403, 401, 401, 200]
        assert answers[0].headers["authorization"] == f"Bearer {token}"  # forwardOriginalToken
        log = pod_of(mesh, "idp", "auth-server").supervisor.log_path("auth-server")
        assert "GET /.well-known/jwks.json" in log.read_text(errors="replace")


REQUIRE_TOKEN = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: require-jwt, namespace: shop}
spec:
  selector: {matchLabels: {app: echo}}
  rules:
  - from: [{source: {requestPrincipals: ["*"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: admins-delete, namespace: shop}
spec:
  selector: {matchLabels: {app: echo}}
  action: DENY
  rules:
  - to: [{operation: {methods: [DELETE]}}]
    when: [{key: "request.auth.claims[groups]", notValues: [admins]}]
"""


def test_authorization_needs_a_verified_token_and_reads_its_claims(
    mesh: LocalMeshThread, client: RunningPod
) -> None:
    """``requestPrincipals: ["*"]``: no token is refused (403), a bad token never reaches
    authorization (401); a DENY on the ``groups`` claim decides who may DELETE."""
    policies = request_authentication("shop", "echo-jwt", INLINE) + "---" + REQUIRE_TOKEN
    with applied(mesh, policies):
        enforced(lambda h: pod_call(client, ECHO, h))
        wait_for(lambda: pod_call(client, ECHO).status == 403, 20, "the RBAC filter")
        admin = bearer(valid("root", groups=["ops", "admins"]))
        user = bearer(valid("dave", groups=["users"]))
        answers = pod_calls(
            client,
            [
                (ECHO, {}),
                (ECHO, bearer(forged())),
                (ECHO, user),
                (ECHO, admin, "DELETE"),
                (ECHO, user, "DELETE"),
            ],
        )
        assert [a.status for a in answers] == [403, 401, 200, 200, 403]
        assert answers[3].echo["method"] == "DELETE"
        assert answers[2].headers["x-jwt-sub"] == "dave"


def test_seed_jwt_validation_with_its_authorization_policies(
    mesh: LocalMeshThread, client: RunningPod
) -> None:
    """Seed 003's "JWT Token Validation" section as written (the RequestAuthentication and
    payment-service-jwt-authz), under the same seed's deny-all-default: the admin may GET, POST,
    PUT and DELETE, the user GET and POST with role customer or merchant; everything else is
    refused (403), a bad token with 401."""
    documents = [
        seed_yaml("RequestAuthentication", "jwt-validation"),
        seed_yaml("AuthorizationPolicy", "payment-service-jwt-authz"),
        seed_yaml("AuthorizationPolicy", "deny-all-default"),
    ]
    with applied(mesh, "\n---\n".join(documents)):
        enforced(lambda h: pod_call(client, PAYMENT, h))
        wait_for(lambda: pod_call(client, PAYMENT).status == 403, 20, "the RBAC filter")
        admin = bearer(seed_token("admin"))
        customer = bearer(seed_token("user", role="customer"))
        merchant = bearer(seed_token("user", "ecommerce-api", role="merchant"))
        guest = bearer(seed_token("user", role="guest"))
        stranger = bearer(seed_token("mallory", role="customer"))
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        calls = [(PAYMENT, admin, m) for m in methods] + [(PAYMENT, customer, m) for m in methods]
        calls += [(PAYMENT, merchant, "POST"), (PAYMENT, guest, "GET")]
        calls += [(PAYMENT, stranger, "GET"), (PAYMENT, {}, "GET")]
        forged_admin = FORGER.token(jwks.claims(SEED_ISSUER, "admin", aud="payment-api"))
        calls += [(PAYMENT, bearer(forged_admin), "GET")]
        statuses = [a.status for a in pod_calls(client, calls)]
        assert statuses[:5] == [200, 200, 200, 200, 403]  # admin
        assert statuses[5:10] == [200, 200, 403, 403, 403]  # user, role customer
        assert statuses[10:] == [200, 403, 403, 403, 401]


INGRESS_REQUIRES_TOKEN = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: frontend-ingress, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  action: DENY
  rules:
  - from: [{source: {notRequestPrincipals: ["*"]}}]
"""


def test_the_gateway_refuses_requests_without_a_token(mesh: LocalMeshThread, gateway: int) -> None:
    """Istio's "require a valid token at ingress" task: DENY ``notRequestPrincipals: ["*"]``."""
    policies = request_authentication("istio-system", "edge-jwt", GATEWAY_RULES)
    with applied(mesh, policies + "---" + INGRESS_REQUIRES_TOKEN):
        enforced(lambda h: host_call(gateway, "/", h))
        wait_for(lambda: host_call(gateway, "/").status == 403, 20, "the RBAC filter")
        assert host_call(gateway, "/", bearer(valid())).status == 200
        assert host_call(gateway, "/", bearer(forged())).status == 401
