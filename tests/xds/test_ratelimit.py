"""RateLimitPolicy -> the local rate limit filter: where it goes, what it holds, and that real
Envoy accepts it (the traffic test is ``tests/runtime/test_e2e_envoyfilter.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envoy.extensions.filters.http.local_ratelimit.v3 import local_rate_limit_pb2
from envoyfilter_world import gateway, hcm_of, sidecar, translated
from xds_envoy_static import assert_envoy_accepts

from sailmesh.config.load import load_text
from sailmesh.config.resource import Resource
from sailmesh.typeurls import LISTENER

POLICY = """
apiVersion: sailmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: productpage, namespace: default}
spec:
  selector: {matchLabels: {app: productpage}}
  limits:
  - {name: all, requests: 100, per: 1s}
  - name: api
    requests: 10
    per: 1m
    match: {path: {prefix: /api}, method: GET, headers: {x-tier: {exact: free}}}
  - {name: per-user, requests: 5, per: 1m, perHeader: x-user}
"""
GATEWAY_POLICY = """
apiVersion: sailmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: edge, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  limits:
  - {name: per-user, requests: 5, per: 1m, perHeader: x-user}
"""


def policy(text: str) -> Resource:
    loaded = load_text(text, "rl.yaml")
    assert loaded.ok, loaded.problems
    (found,) = loaded.resources
    return found


def chains_with_limits(resources: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    out = {}
    for name, listener in resources[LISTENER].items():
        for fc in listener.filter_chains:
            for f in fc.filters:
                if f.name.endswith("http_connection_manager"):
                    out[f"{name}/{fc.name}"] = [h.name for h in hcm_of(f).http_filters]
    return out


def test_the_filter_goes_before_the_router_on_the_inbound_side_only() -> None:
    chains = chains_with_limits(translated(sidecar(), policy(POLICY)))
    assert chains["virtualInbound/0.0.0.0_9080"][-2:] == [
        "envoy.filters.http.local_ratelimit",
        "envoy.filters.http.router",
    ]
    assert "envoy.filters.http.local_ratelimit" not in chains["0.0.0.0_9080/0.0.0.0_9080"]
    untouched = chains_with_limits(translated(gateway(), policy(POLICY)))
    assert all("envoy.filters.http.local_ratelimit" not in v for v in untouched.values())
    at_gateway = chains_with_limits(translated(gateway(), policy(GATEWAY_POLICY)))
    assert all("envoy.filters.http.local_ratelimit" in v for v in at_gateway.values())


def test_limits_become_the_default_bucket_and_descriptor_buckets() -> None:
    resources = translated(sidecar(), policy(POLICY))
    inbound = resources[LISTENER]["virtualInbound"]
    (fc,) = [fc for fc in inbound.filter_chains if fc.name == "0.0.0.0_9080"]
    (flt,) = [h for h in hcm_of(fc.filters[0]).http_filters if h.name.endswith("local_ratelimit")]
    config = local_rate_limit_pb2.LocalRateLimit()
    assert flt.typed_config.Unpack(config)
    assert config.stat_prefix == "ratelimit_default_productpage"
    assert (config.token_bucket.max_tokens, config.token_bucket.fill_interval.seconds) == (100, 1)
    entries = [[(e.key, e.value) for e in d.entries] for d in config.descriptors]
    assert entries == [[("limit", "api")], [("limit", "per-user"), ("x-user", "")]]
    assert [d.token_bucket.max_tokens for d in config.descriptors] == [10, 5]
    api, per_user = config.rate_limits
    matched = api.actions[0].header_value_match
    assert [h.name for h in matched.headers] == [":path", ":method", "x-tier"]
    assert per_user.actions[1].request_headers.header_name == "x-user"
    assert config.response_headers_to_add[0].header.key == "x-local-rate-limit"


def test_real_envoy_accepts_the_filter(tmp_path: Path) -> None:
    for proxy, text in ((sidecar(), POLICY), (gateway(), GATEWAY_POLICY)):
        assert_envoy_accepts(translated(proxy, policy(text)), tmp_path, required=True)  # type: ignore[arg-type]
