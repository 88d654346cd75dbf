"""EnvoyFilter on the demo mesh, real Envoy and real traffic: a response header added by the
Lua-free ``header_mutation`` filter, Istio's local rate-limit task YAML unchanged at
productpage's sidecar and at the ingress gateway (a bounded burst: the 429s carry
``x-local-rate-limit`` and match Envoy's own counters), a cluster's connect timeout changed (as
``sailctl proxy-config cluster -o json`` shows), and a patch Envoy rejects: NACKED for the
proxy it hits in ``sailctl proxy-status`` while the others stay SYNCED and pages keep loading;
and sailmesh's RateLimitPolicy (buckets per header value and per path prefix).

Each test removes its EnvoyFilter before the next (one demo mesh for the module).
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import demo_mesh, sailctl, skip_unless_netns

from e2e_support.bookinfo import page, pod
from e2e_support.istio_tasks import rate_limit_task
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.runtime import proxy as envoy_proxy
from sailmesh.runtime.local import RunningPod

pytestmark = pytest.mark.e2e

skip_unless_netns()

BURST = 12  # requests per rate-limit check (bounded)
BUCKET = 4  # max_tokens of Istio's task


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    yield from demo_mesh(tmp_path_factory.mktemp("envoyfilter-home"))


def get(
    port: int, path: str = "/productpage", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def admin(target: RunningPod, path: str) -> str:
    status, body = envoy_proxy.admin_request(target.netns_file, path, target.admin_port)
    assert status == 200, body[:200]
    return body


def has_listener_filter(target: RunningPod, name: str) -> bool:
    return name in admin(target, "/config_dump?resource=dynamic_listeners")


def drained(target: RunningPod) -> bool:
    """No listener or filter chain of ``target`` is draining: connections opened before a
    listener update (and still on its old filters) are closed."""
    gauges = counters(target, "listener_manager.total_")
    return (
        gauges.get("listener_manager.total_filter_chains_draining", 0) == 0
        and gauges.get("listener_manager.total_listeners_draining", 0) == 0
    )


def active(target: RunningPod, name: str) -> None:
    """Wait until ``target`` has the HTTP filter ``name`` and no connection uses older chains."""
    wait_for(lambda: has_listener_filter(target, name) and drained(target), 20, f"{name} in LDS")


def counters(target: RunningPod, prefix: str) -> dict[str, int]:
    text = admin(target, f"/stats?filter={re.escape(prefix)}")
    return {k: int(v) for k, v in re.findall(r"^(\S+): (\d+)$", text, flags=re.M)}


class Applied:
    """An EnvoyFilter applied for the length of a ``with`` block."""

    def __init__(self, mesh: LocalMeshThread, text: str) -> None:
        self.mesh, self.text = mesh, text

    def __enter__(self) -> list[str]:
        return self.mesh.apply(self.text)

    def __exit__(self, *exc: object) -> None:
        self.mesh.delete(self.text)


HEADER = """
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: productpage-header, namespace: default}
spec:
  workloadSelector: {labels: {app: productpage}}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter: {name: envoy.filters.http.router}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.header_mutation
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation
          mutations:
            response_mutations:
            - append: {header: {key: x-sailmesh-patched, value: productpage-inbound}}
"""


def test_header_mutation_adds_a_response_header(mesh: LocalMeshThread) -> None:
    port = mesh.gateway_port(8080)
    assert "x-sailmesh-patched" not in get(port)[1]
    with Applied(mesh, HEADER):
        wait_for(lambda: "x-sailmesh-patched" in get(port)[1], 20, "the patched filter")
        statuses = [get(port) for _ in range(5)]
        assert all(
            s == 200 and h["x-sailmesh-patched"] == "productpage-inbound" for s, h in statuses
        )
    wait_for(lambda: "x-sailmesh-patched" not in get(port)[1], 20, "the filter to go away")


def burst_is_capped(port: int, limited: RunningPod) -> None:
    """A burst of ``BURST`` page loads once ``limited`` has the filter: at most ``BUCKET``
    through the new filter (Envoy's ``ok`` counter), every other one a 429 with
    ``x-local-rate-limit: true`` (as many as Envoy's ``rate_limited`` counter)."""
    active(limited, "envoy.filters.http.local_ratelimit")
    results = [get(port) for _ in range(BURST)]
    limited_answers = [h for s, h in results if s == 429]
    assert all(h.get("x-local-rate-limit") == "true" for h in limited_answers), limited_answers
    assert {s for s, _ in results} <= {200, 429}, results
    stats = counters(limited, "http_local_rate_limiter")
    ok = stats["http_local_rate_limiter.http_local_rate_limit.ok"]
    rejected = stats["http_local_rate_limiter.http_local_rate_limit.rate_limited"]
    print(
        f"\nburst of {BURST}: {len(limited_answers)} x 429, Envoy ok={ok} rate_limited={rejected}"
    )
    assert ok == BUCKET
    assert rejected == len(limited_answers)
    assert len(limited_answers) == BURST - BUCKET


def test_istio_local_rate_limit_task_at_the_sidecar(mesh: LocalMeshThread) -> None:
    text = rate_limit_task("filter-local-ratelimit-svc", "app: productpage", "SIDECAR_INBOUND")
    with Applied(mesh, text):
        burst_is_capped(mesh.gateway_port(8080), pod(mesh, "deploy/productpage-v1"))
    wait_for(lambda: get(mesh.gateway_port(8080))[0] == 200, 20, "the limit to go away")


def test_istio_local_rate_limit_task_at_the_ingress_gateway(mesh: LocalMeshThread) -> None:
    text = rate_limit_task("filter-local-ratelimit-gw", "istio: ingressgateway", "GATEWAY")
    gateway = mesh.mesh.runtime.find_pod("deploy/istio-ingressgateway", "istio-system")  # type: ignore[union-attr]
    assert gateway is not None
    with Applied(mesh, text):
        burst_is_capped(mesh.gateway_port(8080), gateway)
    wait_for(lambda: get(mesh.gateway_port(8080))[0] == 200, 20, "the limit to go away")


POLICY = """
apiVersion: sailmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: productpage, namespace: default}
spec:
  selector: {matchLabels: {app: productpage}}
  limits:
  - {name: per-user, requests: 2, per: 1m, perHeader: x-user}
  - {name: api, requests: 3, per: 1m, match: {path: {prefix: /api/}}}
"""


def test_rate_limit_policy_per_header_and_per_route(mesh: LocalMeshThread) -> None:
    """The sailmesh kind: a bucket per ``x-user`` value and one for ``/api/`` paths."""
    port = mesh.gateway_port(8080)
    target = pod(mesh, "deploy/productpage-v1")

    def codes(n: int, path: str = "/productpage", user: str | None = None) -> list[int]:
        headers = {"x-user": user} if user else {}
        return [get(port, path, headers)[0] for _ in range(n)]

    with Applied(mesh, POLICY) as outcomes:
        assert outcomes, outcomes
        active(target, "envoy.filters.http.local_ratelimit")
        assert codes(4, user="alice") == [200, 200, 429, 429]
        assert codes(4, user="bob") == [200, 200, 429, 429]  # a bucket of its own
        assert codes(4) == [200] * 4  # no x-user header: not counted by per-user
        assert codes(5, "/api/v1/products") == [200, 200, 200, 429, 429]
        status, headers = get(port, "/productpage", {"x-user": "alice"})
        assert status == 429 and headers.get("x-local-rate-limit") == "true"
        stats = counters(target, "ratelimit_default_productpage")
        assert stats["ratelimit_default_productpage.http_local_rate_limit.rate_limited"] == 7
    wait_for(lambda: get(port, "/productpage", {"x-user": "alice"})[0] == 200, 20, "no limit")


ROUTE_LEVEL = """
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: filter-local-ratelimit-svc
  namespace: istio-system
spec:
  workloadSelector:
    labels:
      app: productpage
  configPatches:
    - applyTo: HTTP_FILTER
      match:
        context: SIDECAR_INBOUND
        listener:
          filterChain:
            filter:
              name: "envoy.filters.network.http_connection_manager"
      patch:
        operation: INSERT_BEFORE
        value:
          name: envoy.filters.http.local_ratelimit
          typed_config:
            "@type": type.googleapis.com/udpa.type.v1.TypedStruct
            type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
            value:
              stat_prefix: http_local_rate_limiter
    - applyTo: HTTP_ROUTE
      match:
        context: SIDECAR_INBOUND
        routeConfiguration:
          vhost:
            name: "inbound|http|9080"
            route:
              action: ANY
      patch:
        operation: MERGE
        value:
          typed_per_filter_config:
            envoy.filters.http.local_ratelimit:
              "@type": type.googleapis.com/udpa.type.v1.TypedStruct
              type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
              value:
                stat_prefix: http_local_rate_limiter
                token_bucket:
                  max_tokens: 4
                  tokens_per_fill: 4
                  fill_interval: 60s
                filter_enabled:
                  runtime_key: local_rate_limit_enabled
                  default_value:
                    numerator: 100
                    denominator: HUNDRED
                filter_enforced:
                  runtime_key: local_rate_limit_enforced
                  default_value:
                    numerator: 100
                    denominator: HUNDRED
                response_headers_to_add:
                  - append: false
                    header:
                      key: x-local-rate-limit
                      value: 'true'
"""


def test_istio_local_rate_limit_task_route_level(mesh: LocalMeshThread) -> None:
    """The task's second form: the filter without a bucket, the bucket merged into the inbound
    routes' ``typed_per_filter_config`` (HTTP_ROUTE MERGE on ``inbound|http|9080``)."""
    port = mesh.gateway_port(8080)
    target = pod(mesh, "deploy/productpage-v1")
    with Applied(mesh, ROUTE_LEVEL):
        active(target, "envoy.filters.http.local_ratelimit")
        results = [get(port) for _ in range(BURST)]
        assert [s for s, _ in results] == [200] * BUCKET + [429] * (BURST - BUCKET)
        assert all(h.get("x-local-rate-limit") == "true" for s, h in results if s == 429)
    wait_for(lambda: get(port)[0] == 200, 20, "the limit to go away")


TIMEOUT = """
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: reviews-connect-timeout, namespace: default}
spec:
  workloadSelector: {labels: {app: productpage}}
  configPatches:
  - applyTo: CLUSTER
    match:
      context: SIDECAR_OUTBOUND
      cluster: {service: reviews.default.svc.cluster.local, portNumber: 9080}
    patch:
      operation: MERGE
      value: {connect_timeout: 1.5s}
"""


def cluster_timeouts(home: Path) -> dict[str, str]:
    """Connect timeouts of productpage's dynamic clusters, from ``proxy-config cluster -o json``."""
    out = sailctl(home, "proxy-config", "cluster", "deploy/productpage-v1", "-o", "json")
    return {
        entry["cluster"]["name"]: entry["cluster"].get("connect_timeout", "")
        for section in json.loads(out)
        for entry in section.get("dynamic_active_clusters", [])
    }


def test_cluster_connect_timeout(mesh: LocalMeshThread) -> None:
    home = mesh.mesh.home
    reviews = "outbound|9080|v1|reviews.default.svc.cluster.local"
    before = cluster_timeouts(home)
    assert before[reviews] == "10s", before
    with Applied(mesh, TIMEOUT):
        wait_for(lambda: cluster_timeouts(home)[reviews] == "1.500s", 20, "the merged timeout")
        after = cluster_timeouts(home)
        assert after["outbound|9080|v1|ratings.default.svc.cluster.local"] == "10s"
        assert all(t == "1.500s" for n, t in after.items() if "|reviews." in n), after
        page(mesh.gateway_port(8080))  # still serves


BOOTSTRAP = """
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: sleeper-bootstrap, namespace: default}
spec:
  workloadSelector: {labels: {app: sleeper}}
  configPatches:
  - applyTo: BOOTSTRAP
    patch:
      operation: MERGE
      value:
        layered_runtime:
          layers:
          - name: from-envoyfilter
            static_layer: {sailmesh.test.patched: 1}
"""
SLEEPER = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleeper, namespace: default}
spec:
  selector: {matchLabels: {app: sleeper}}
  template:
    metadata: {labels: {app: sleeper}}
    spec:
      containers: [{name: sleeper, image: sleeper, command: ["sleep", "3600"]}]
"""


def test_bootstrap_patch_reaches_a_proxy_started_after_it(mesh: LocalMeshThread) -> None:
    """Envoy reads its bootstrap once: a pod started after the EnvoyFilter runs with the
    patched bootstrap (its runtime has the layer), as with Istio; validation warns that running
    proxies need a restart."""
    with Applied(mesh, BOOTSTRAP) as outcomes:
        assert outcomes
        with Applied(mesh, SLEEPER):
            sleeper = pod(mesh, "deploy/sleeper")
            wait_for(lambda: "from-envoyfilter" in admin(sleeper, "/runtime"), 20, "the layer")
            assert '"sailmesh.test.patched"' in admin(sleeper, "/runtime")
        productpage = pod(mesh, "deploy/productpage-v1")
        assert "from-envoyfilter" not in admin(productpage, "/runtime")


REJECTED = """
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: after-the-router, namespace: default}
spec:
  workloadSelector: {labels: {app: ratings}}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}
    patch:
      operation: ADD
      value:
        name: envoy.filters.http.header_mutation
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation
          mutations: {response_mutations: [{remove: x-envoy-upstream-service-time}]}
"""


def status_rows(home: Path) -> dict[str, str]:
    """The table of ``sailctl proxy-status``: each proxy's row by name (the NACK messages
    printed under the table left out)."""
    out = sailctl(home, "proxy-status")
    return {
        line.split()[0]: line
        for line in out.splitlines()[1:]
        if line.strip() and "NACKED:" not in line
    }


def test_a_patch_envoy_rejects_is_nacked_for_that_proxy_only(mesh: LocalMeshThread) -> None:
    """ADD appends after the router (Istio's semantics): Envoy rejects the listener."""
    home, port = mesh.mesh.home, mesh.gateway_port(8080)
    with Applied(mesh, REJECTED):

        def nacked() -> bool:
            rows = status_rows(home)
            return any("ratings" in name and "NACK" in row for name, row in rows.items())

        wait_for(nacked, 20, "ratings' Envoy to NACK the listener")
        rows = status_rows(home)
        (ratings,) = [r for n, r in rows.items() if "ratings" in n]
        assert ratings.split()[1:5] == ["SYNCED", "NACKED", "SYNCED", "SYNCED"], ratings  # LDS
        others = [r for n, r in rows.items() if "ratings" not in n]
        assert len(others) >= 6 and all("NACK" not in r for r in others), rows
        out = sailctl(home, "proxy-status")
        assert "LDS NACKED: " in out and "must be the last filter" in out, out
        body = page(port)  # ratings still serves with the config it had
        assert "Ratings service is currently unavailable" not in body
    wait_for(lambda: not any("NACK" in r for r in status_rows(home).values()), 20, "SYNCED again")
