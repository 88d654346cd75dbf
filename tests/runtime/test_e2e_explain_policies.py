"""`sailctl explain` on real traffic for the flags policy and the upstream app decide, in the
authorization tests' mesh (:mod:`authz_world`: ``web`` behind sidecars, the ext_authz server
and its providers, a ``client`` without a sidecar) plus ``closer``, an app that reads each
request and closes the connection without answering: an external authorizer's deny (UAEX), a
local rate limit (RL, from sailmesh's RateLimitPolicy and from Istio's task EnvoyFilter) and the upstream closing the connection (UC), each explained from the
server's own sidecar log, naming the object and field path that decided."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from authz_world import manifests, removed_afterwards, start
from runtime_e2e import skip_unless_netns

from e2e_support.authz_mesh import Policies, expect, pod
from e2e_support.explain_cli import explained_in
from e2e_support.istio_tasks import rate_limit_task
from e2e_support.localmesh import LocalMeshThread
from e2e_support.probes import Request, statuses

pytestmark = pytest.mark.e2e

skip_unless_netns()

WEB = "web.authz"
CLOSER_APP = (
    "import socket\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', 8080)); s.listen(16)\n"
    "while True:\n"
    "    c, _ = s.accept(); c.recv(65536); c.close()\n"
)
CLOSER = f"""
apiVersion: v1
kind: Service
metadata: {{name: closer, namespace: authz}}
spec:
  selector: {{app: closer}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: closer, namespace: authz}}
spec:
  selector: {{matchLabels: {{app: closer}}}}
  template:
    metadata: {{labels: {{app: closer}}}}
    spec:
      containers:
      - name: closer
        command: {json.dumps(["python3", "-c", CLOSER_APP])}
        ports: [{{containerPort: 8080}}]
"""


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    yield from start(
        tmp_path_factory.mktemp("explain-policies-home"), manifests() + "\n---\n" + CLOSER
    )


@pytest.fixture
def policies(mesh: LocalMeshThread) -> Iterator[Policies]:
    applied = removed_afterwards(mesh)
    try:
        yield applied
    finally:
        applied.clear()


def unique(path: str) -> str:
    return f"{path}?id={uuid.uuid4().hex[:8]}"


CUSTOM = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext-authz, namespace: authz}
spec:
  selector: {matchLabels: {app: web}}
  action: CUSTOM
  provider: {name: ext-authz-http}
  rules: [{to: [{operation: {paths: ["/headers*"]}}]}]
"""


def test_external_authorizer_deny_names_the_custom_policy(
    mesh: LocalMeshThread, policies: Policies
) -> None:
    plain = pod(mesh, "plain", "client")
    policies.apply(CUSTOM)
    deny = {"x-ext-authz": "deny"}
    expect(lambda: statuses(plain, Request(f"{WEB}/headers", headers=deny)), [403])
    path = unique("/headers")
    assert statuses(plain, Request(f"{WEB}{path}", headers=deny)) == [403]
    text = explained_in(mesh, path, "-> 403 UAEX", "deploy/web", "-n", "authz")
    assert "UAEX UnauthorizedExternalService" in text, text
    assert (
        "cause: the external authorizer ext-authz-http (CUSTOM AuthorizationPolicy "
        "authz/ext-authz) denied the request" in text
    ), text
    assert "knob:  AuthorizationPolicy authz/ext-authz spec.provider.name = ext-authz-http" in text
    assert (
        "knob:  AuthorizationPolicy authz/ext-authz spec.rules[0] = "
        "{to: [{operation: {paths: [/headers*]}}]}" in text
    )


LIMIT = """
apiVersion: sailmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: web, namespace: authz}
spec:
  selector: {matchLabels: {app: web}}
  limits:
  - {name: api, requests: 2, per: 1h, match: {path: {prefix: /api/}}}
"""


def test_local_rate_limit_names_the_policy_limit(mesh: LocalMeshThread, policies: Policies) -> None:
    plain = pod(mesh, "plain", "client")
    policies.apply(LIMIT)
    expect(lambda: 429 in statuses(plain, *[Request(f"{WEB}/api/warmup")] * 3), True)
    path = unique("/api/items")
    assert statuses(plain, Request(f"{WEB}{path}")) == [429]  # the bucket is empty for an hour
    assert statuses(plain, Request(f"{WEB}/other")) == [200]  # not counted by the limit
    text = explained_in(mesh, path, "-> 429 RL", "deploy/web", "-n", "authz")
    assert "RL   RateLimited" in text, text
    web = pod(mesh, "authz", "web")
    assert f"cause: the local rate limit of authz/{web.plan.name} refused the request" in text
    assert (
        "knob:  RateLimitPolicy authz/web spec.limits[0] = {name: api, requests: 2, per: 1h, "
        "match: {path: {prefix: /api/}}}" in text
    ), text


def test_istio_rate_limit_task_names_the_envoy_filter_bucket(
    mesh: LocalMeshThread, policies: Policies
) -> None:
    """Istio's local rate-limit task EnvoyFilter, as written there, at web's sidecar."""
    plain = pod(mesh, "plain", "client")
    policies.apply(rate_limit_task("filter-local-ratelimit-svc", "app: web", "SIDECAR_INBOUND"))
    expect(lambda: 429 in statuses(plain, *[Request(f"{WEB}/warmup")] * 6), True)
    path = unique("/limited")
    assert statuses(plain, Request(f"{WEB}{path}")) == [429]  # 4 tokens a minute, all used
    text = explained_in(mesh, path, "-> 429 RL", "deploy/web", "-n", "authz")
    assert "(EnvoyFilter istio-system/filter-local-ratelimit-svc)" in text, text
    assert (
        "knob:  EnvoyFilter istio-system/filter-local-ratelimit-svc spec.configPatches[0].patch."
        "value.typed_config.value.token_bucket = {max_tokens: 4, tokens_per_fill: 4, "
        "fill_interval: 60s}" in text
    ), text


def test_upstream_closing_the_connection_names_the_app_and_port(mesh: LocalMeshThread) -> None:
    plain = pod(mesh, "plain", "client")
    path = unique("/anything")
    assert statuses(plain, Request(f"closer.authz{path}")) == [503]
    text = explained_in(mesh, path, "-> 503 UC", "deploy/closer", "-n", "authz")
    assert "UC   UpstreamConnectionTermination" in text, text
    closer = pod(mesh, "authz", "closer")
    assert (
        f"cause: the app of authz/{closer.plan.name} on port 8080 closed or reset the "
        "connection before it answered" in text
    ), text
    assert "knob:  Service authz/closer spec.ports[0].targetPort = 8080" in text
