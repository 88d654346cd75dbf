"""Explanations from access-log lines and config alone: the cases the e2e tests
(``test_e2e_explain*.py``) do not provoke (an RBAC deny, a gateway host without
VirtualService, UC at a client's outbound cluster, RL from an EnvoyFilter, NC with and without
a logged cluster), and the parts every explanation shares (the line format, flags without a
known cause)."""

from __future__ import annotations

from config_support.manifests import manifests
from sailmesh.config.analysis.context import AnalysisContext
from sailmesh.config.load import load_text
from sailmesh.xds.explain import explain, from_code, parse_line, render

LINE = (
    '[2026-01-01T00:00:00.000Z] "GET /reviews/0 HTTP/1.1" {code} {flags} {details} - "{failure}" '
    '0 0 12 - "-" "curl/8" "id-1" "{authority}" "{upstream}" {cluster} 10.244.0.3:5000 '
    "10.96.0.9:9080 10.244.0.3:5001 - -"
)

MESH = manifests("""\
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v1-0, labels: {app: reviews, version: v1}}
spec: {containers: [{name: reviews, image: r}, {name: istio-proxy, image: e}]}
---
VirtualService reviews
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v9}}]}]
---
DestinationRule reviews
  host: reviews
  trafficPolicy: {connectionPool: {http: {idleTimeout: 5s, maxRequestsPerConnection: 10}}}
  subsets: [{name: v1, labels: {version: v1}}]
---
AuthorizationPolicy deny-get
  selector: {matchLabels: {app: reviews}}
  action: DENY
  rules: [{to: [{operation: {methods: [GET]}}]}]
---
AuthorizationPolicy ext
  action: CUSTOM
  provider: {name: opa}
  rules: [{to: [{operation: {paths: [/admin]}}]}]
---
Gateway gw
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: [shop.example.com]}]
---
apiVersion: v1
kind: Pod
metadata: {name: gateway-0, namespace: istio-system, labels: {istio: ingressgateway}}
spec: {containers: [{name: istio-proxy, image: e}]}
""")


def ctx() -> AnalysisContext:
    result = load_text(MESH, "mesh.yaml")
    assert result.ok, result.problems
    return AnalysisContext(result.resources, live=True)


def line(**fields: str) -> str:
    base = {
        "code": "503",
        "flags": "-",
        "details": "-",
        "failure": "-",
        "authority": "reviews:9080",
        "upstream": "-",
        "cluster": "outbound|9080||reviews.default.svc.cluster.local",
    }
    return LINE.format(**{**base, **fields})


def explained(text: str, **kwargs: object) -> str:
    entry = parse_line(text)
    assert entry is not None, text
    return "\n".join(render(explain(entry, ctx(), "default", **kwargs)))  # type: ignore[arg-type]


def test_line_fields() -> None:
    entry = parse_line(line(flags="UF,URX", failure="delayed_connect_error:_111"))
    assert entry is not None
    assert (entry.code, entry.flags, entry.method, entry.path) == (
        503,
        ("UF", "URX"),
        "GET",
        "/reviews/0",
    )
    assert (entry.host, entry.port, entry.upstream_failure) == (
        "reviews",
        9080,
        "delayed_connect_error:_111",
    )
    assert parse_line("[2026-01-01 00:00:00.000][1][info][main] starting") is None


def test_no_cluster_names_the_destination() -> None:
    out = explained(line(flags="NC", cluster="outbound|9080|v9|reviews.default.svc.cluster.local"))
    assert "NC   NoClusterFound" in out
    assert (
        "knob:  VirtualService default/reviews spec.http[0].route[0].destination.subset = v9" in out
    )
    # Envoy logs no upstream cluster for NC: the cluster is the one the rule names
    out = explained(line(flags="NC", cluster="-"))
    assert "the route names outbound|9080|v9|reviews.default.svc.cluster.local, which" in out


def test_rbac_deny_names_the_policy_and_rule() -> None:
    details = "rbac_access_denied_matched_policy[ns[default]-policy[deny-get]-rule[0]]"
    out = explained(line(code="403", details=details, cluster="inbound|9080||"))
    assert "AuthorizationPolicy default/deny-get denied the request (its rule 0 matched)" in out
    assert (
        "knob:  AuthorizationPolicy default/deny-get spec.rules[0] = {to: [{operation: {methods: [GET]}}]}"
        in out
    )


def test_ext_authz_names_the_custom_policy_and_rule() -> None:
    admin = line(code="403", flags="UAEX", cluster="inbound|9080||").replace("/reviews/0", "/admin")
    out = explained(admin)
    assert "the external authorizer opa (CUSTOM AuthorizationPolicy default/ext) denied" in out
    assert "knob:  AuthorizationPolicy default/ext spec.provider.name = opa" in out
    assert (
        "knob:  AuthorizationPolicy default/ext spec.rules[0] = {to: [{operation: {paths: [/admin]}}]}"
        in out
    )
    # a path none of its rules match: the policy did not send the request to its provider
    out = explained(line(code="403", flags="UAEX", cluster="inbound|9080||"))
    assert "default/ext" not in out


LIMITS = manifests("""\
apiVersion: v1
kind: Pod
metadata: {name: web-0, labels: {app: web}}
spec: {containers: [{name: web, image: w}, {name: istio-proxy, image: e}]}
---
apiVersion: sailmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  limits:
  - {name: all, requests: 100, per: 1s}
  - {name: api, requests: 3, per: 1m, match: {path: {prefix: /api/}}}
---
apiVersion: sailmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {name: other}
spec:
  selector: {matchLabels: {app: other}}
  limits: [{name: all, requests: 1, per: 1s}]
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: local-ratelimit, namespace: istio-system}
spec:
  workloadSelector: {labels: {app: web}}
  configPatches:
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_INBOUND}
    patch:
      operation: INSERT_BEFORE
      value:
        name: envoy.filters.http.local_ratelimit
        typed_config:
          "@type": type.googleapis.com/udpa.type.v1.TypedStruct
          type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
          value:
            stat_prefix: http_local_rate_limiter
            token_bucket: {max_tokens: 4, tokens_per_fill: 4, fill_interval: 60s}
""")


def test_rate_limit_names_the_policy_limits_and_the_envoy_filter_bucket() -> None:
    result = load_text(LIMITS, "limits.yaml")
    assert result.ok, result.problems
    context = AnalysisContext(result.resources, live=True)
    web = next(w for w in context.workloads if w.name == "web-0")
    text = line(code="429", flags="RL", cluster="inbound|9080||").replace("/reviews/0", "/other")
    entry = parse_line(text)
    assert entry is not None
    out = "\n".join(render(explain(entry, context, "default", web)))
    assert "RL   RateLimited" in out
    assert "the local rate limit of default/web-0 refused the request" in out
    knobs = [ln.strip() for ln in out.splitlines() if "knob:" in ln]
    assert knobs == [
        "knob:  RateLimitPolicy default/web spec.limits[0] = {name: all, requests: 100, per: 1s}",
        "knob:  EnvoyFilter istio-system/local-ratelimit spec.configPatches[0].patch.value."
        "typed_config.value.token_bucket = {max_tokens: 4, tokens_per_fill: 4, fill_interval: 60s}",
    ]
    entry = parse_line(text.replace("/other", "/api/v1"))
    assert entry is not None
    out = "\n".join(render(explain(entry, context, "default", web)))
    assert "RateLimitPolicy default/web spec.limits[1] = {name: api, requests: 3, per: 1m" in out


def test_gateway_host_without_virtual_service() -> None:
    context = ctx()
    gateway = next(w for w in context.workloads if w.name == "gateway-0")
    entry = parse_line(line(code="404", flags="NR", authority="shop.example.com", cluster="-"))
    assert entry is not None
    out = "\n".join(render(explain(entry, context, "istio-system", gateway, True)))
    assert "no VirtualService bound to gateway default/gw has host 'shop.example.com'" in out
    assert "knob:  Gateway default/gw spec.servers[0].hosts = [shop.example.com]" in out


def test_upstream_closed_names_the_connection_pool() -> None:
    out = explained(line(flags="UC", upstream="10.244.0.5:9080"))
    assert (
        "knob:  DestinationRule default/reviews spec.trafficPolicy.connectionPool.http.idleTimeout = 5s"
        in out
    )
    assert "maxRequestsPerConnection = 10" in out


def test_app_answered_itself_and_unknown_flags() -> None:
    out = explained(line(code="500", details="via_upstream", upstream="10.244.0.5:9080"))
    assert "no response flag: the upstream app itself answered 500" in out
    out = "\n".join(render(explain(from_code(429, "RL"), ctx(), "default")))
    assert "RL   RateLimited: the local rate limit refused the request" in out
