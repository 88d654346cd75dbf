"""Explanations from access-log lines and config alone, for the flags the e2e tests cannot
provoke here (NC, UAEX, an RBAC deny, a gateway host without VirtualService, UC) and for the
parts every explanation shares (the line format, flags without a known cause)."""

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


def test_rbac_deny_names_the_policy_and_rule() -> None:
    details = "rbac_access_denied_matched_policy[ns[default]-policy[deny-get]-rule[0]]"
    out = explained(line(code="403", details=details, cluster="inbound|9080||"))
    assert "AuthorizationPolicy default/deny-get denied the request (its rule 0 matched)" in out
    assert (
        "knob:  AuthorizationPolicy default/deny-get spec.rules[0] = {to: [{operation: {methods: [GET]}}]}"
        in out
    )


def test_ext_authz_names_the_custom_policy() -> None:
    out = explained(line(code="403", flags="UAEX", cluster="inbound|9080||"))
    assert "knob:  AuthorizationPolicy default/ext spec.provider.name = opa" in out


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
