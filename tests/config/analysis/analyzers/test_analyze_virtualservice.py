"""VirtualService analyzers: destinations, subsets, gateways, conflicts, rules, regexes, JWT."""

from __future__ import annotations

import pytest

from config_support.analysis_inputs import (
    INGRESS_GATEWAY_DEPLOYMENT,
    REVIEWS_SERVICE,
    REVIEWS_V1,
    analyze_text,
    documents,
    ingress_gateway_service,
    line,
    line_in,
    of,
)
from config_support.manifests import manifests
from sailmesh.config.analysis import framework
from sailmesh.config.analysis.run import analyze
from sailmesh.config.diagnostics import Level, Problem
from sailmesh.config.load import load_text
from sailmesh.config.validation import registry

FILE = "vs.yaml"

RATINGS_SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: ratings}
spec:
  selector: {app: ratings}
  ports: [{name: http, port: 9080}, {name: grpc, port: 9090}]
"""
ROUTING_TARGETS = manifests("""\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
---
Gateway gw
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["*.example.com", "other/foo.internal"]
---
ServiceEntry httpbin
  hosts: [httpbin.org]
  ports: [{number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
""")
PLATFORM = documents(
    REVIEWS_SERVICE,
    RATINGS_SERVICE,
    REVIEWS_V1,
    INGRESS_GATEWAY_DEPLOYMENT,
    ingress_gateway_service(" [{name: http2, port: 80, targetPort: 8080}]\n"),
    ROUTING_TARGETS,
)


def run(extra: str) -> tuple[str, list[Problem]]:
    text = PLATFORM + "---\n" + extra
    return text, analyze_text(text, FILE)


@pytest.fixture
def unvalidated_vs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load VirtualServices without the semantic validator, to reach the analyzers with
    constructs validation rejects (RE2-incompatible regexes)."""
    without_vs = {k: v for k, v in registry.VALIDATORS.items() if k[1] != "VirtualService"}
    monkeypatch.setattr(registry, "VALIDATORS", without_vs)


def at_line(p: Problem) -> int:
    return line_in(FILE, p)


VS_OK = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route:
    - destination: {host: reviews, subset: v1}
  - route:
    - destination: {host: reviews.default.svc.cluster.local}
    mirror: {host: ratings, port: {number: 9080}}
  tcp:
  - route:
    - destination: {host: httpbin.org, port: {number: 443}}
"""


def test_valid_virtual_service_has_no_messages() -> None:
    _, found = run(VS_OK)
    assert found == []


# --- virtualservice.DestinationHostAnalyzer ----------------------------------------------------

VS_BAD_HOSTS = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: broken}
spec:
  hosts: [broken.example.com]
  http:
  - route:
    - destination: {host: reviews}
      weight: 50
    - destination: {host: nowhere}
      weight: 50
    mirror: {host: ghost}
  - route:
    - destination: {host: ratings}
  tcp:
  - route:
    - destination:
        host: reviews
        port: {number: 9999}
"""


def test_destination_host_not_found() -> None:
    text, found = run(VS_BAD_HOSTS)
    missing = of(found, "IST0101")
    by_message = {p.message: p for p in missing}
    host = by_message['Referenced host not found: "nowhere"']
    assert host.level is Level.ERROR
    assert str(host.ref) == "VirtualService default/broken"
    assert at_line(host) == line(text, "host: nowhere")
    assert framework.format_log(host) == (
        f"Error [IST0101] (VirtualService default/broken {FILE}:{at_line(host)}) "
        'Referenced host not found: "nowhere"'
    )
    mirror = by_message['Referenced mirror host not found: "ghost"']
    assert at_line(mirror) == line(text, "mirror: {host: ghost}")
    port = by_message['Referenced host:port not found: "reviews:9999"']
    assert at_line(port) == line(text, "port: {number: 9999}")
    assert len(missing) == 3


def test_destination_port_required_for_multi_port_service() -> None:
    text, found = run(VS_BAD_HOSTS)
    (p,) = of(found, "IST0112")
    assert p.level is Level.ERROR
    assert p.message.startswith('This VirtualService routes to a service "ratings" that exposes ')
    assert "multiple ports [9080 9090]" in p.message
    assert at_line(p) == line(text, "host: ratings")


def test_host_checks_skipped_without_any_service_in_inputs() -> None:
    result = load_text(VS_BAD_HOSTS, FILE)
    assert of(analyze(result.resources, result.problems), "IST0101") == []


# --- virtualservice.DestinationRuleAnalyzer ----------------------------------------------------


def test_subset_not_defined_in_destination_rule() -> None:
    text, found = run(VS_OK.replace("subset: v1", "subset: v2"))
    (p,) = of(found, "IST0101")
    assert p.message == 'Referenced host+subset in destinationrule not found: "reviews+v2"'
    assert str(p.ref) == "VirtualService default/reviews"
    assert at_line(p) == line(text, "subset: v2")


# --- virtualservice.GatewayAnalyzer -------------------------------------------------------------

VS_GATEWAY = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: front}
spec:
  hosts: [shop.example.com]
  gateways:
  - gw
  - mesh
  - istio-system/missing
  http:
  - route:
    - destination: {host: reviews}
"""


def test_gateway_not_found() -> None:
    text, found = run(VS_GATEWAY)
    (p,) = of(found, "IST0101")
    assert p.message == 'Referenced gateway not found: "istio-system/missing"'
    assert at_line(p) == line(text, "- istio-system/missing")
    assert of(found, "IST0132") == []  # *.example.com covers shop.example.com


def test_virtual_service_host_not_in_gateway() -> None:
    text, found = run(VS_GATEWAY.replace("shop.example.com", "shop.example.org"))
    (p,) = of(found, "IST0132")
    assert p.level is Level.WARNING
    assert p.message == (
        "one or more host [shop.example.org] defined in VirtualService default/front not found "
        "in Gateway default/gw."
    )
    assert at_line(p) == line(text, "  - gw")


def test_gateway_host_namespace_prefix() -> None:
    _, found = run(VS_GATEWAY.replace("shop.example.com", "foo.internal"))
    assert of(found, "IST0132") != []  # other/foo.internal is only for namespace "other"
    moved = VS_GATEWAY.replace("shop.example.com", "foo.internal").replace(
        "metadata: {name: front}", "metadata: {name: front, namespace: other}"
    )
    moved = moved.replace("  - gw\n", "  - default/gw\n").replace("host: reviews", "host: ratings")
    _, found = run(moved)
    assert of(found, "IST0132") == []


# --- virtualservice.ConflictingMeshGatewayHostsAnalyzer -----------------------------------------


def test_conflicting_mesh_gateway_hosts() -> None:
    second = VS_OK.replace("name: reviews}", "name: reviews-2}").split("  tcp:")[0]
    text, found = run(VS_OK + "---\n" + second)
    conflicts = of(found, "IST0109")
    assert sorted(str(p.ref) for p in conflicts) == [
        "VirtualService default/reviews",
        "VirtualService default/reviews-2",
    ]
    assert conflicts[0].message.startswith(
        "The VirtualServices default/reviews,default/reviews-2 associated with mesh gateway define "
        "the same host reviews.default.svc.cluster.local"
    )
    assert at_line(conflicts[1]) == line(text, "name: reviews-2")


def test_same_host_on_gateway_only_is_no_conflict() -> None:
    gateway_bound = VS_GATEWAY.replace("  - mesh\n", "").replace("  - istio-system/missing\n", "")
    twice = gateway_bound + "---\n" + gateway_bound.replace("name: front", "name: front-2")
    _, found = run(twice)
    assert of(found, "IST0109") == []


# --- virtualservice.UnreachableRulesAnalyzer ----------------------------------------------------

VS_RULES = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: rules}
spec:
  hosts: [reviews]
  http:
  - name: jason
    match:
    - headers: {end-user: {exact: jason}}
    route: [{destination: {host: reviews}}]
  - match:
    - name: dup
      headers: {end-user: {exact: jason}}
    - uri: {prefix: /api}
    route: [{destination: {host: reviews}}]
  - route: [{destination: {host: reviews}}]
  - match: [{uri: {prefix: /late}}]
    route: [{destination: {host: reviews}}]
"""


def test_unreachable_rule_after_catch_all() -> None:
    text, found = run(VS_RULES)
    (p,) = of(found, "IST0130")
    assert p.level is Level.WARNING
    assert p.message == "VirtualService rule #3 not used (rule #2 before it has no matches)."
    assert at_line(p) == line(text, "- match: [{uri: {prefix: /late}}]")


def test_ineffective_duplicate_match() -> None:
    text, found = run(VS_RULES)
    (p,) = of(found, "IST0131")
    assert p.level is Level.INFO
    assert p.message == (
        'VirtualService rule #1 match "dup" is not used '
        '(duplicate/overlapping match in rule "jason").'
    )
    assert at_line(p) == line(text, "- name: dup")


def test_rule_whose_matches_all_repeat_is_unreachable() -> None:
    text = VS_RULES.replace("    - uri: {prefix: /api}\n", "")
    _, found = run(text)
    reasons = [p.message for p in of(found, "IST0130")]
    assert "VirtualService rule #1 not used (all matches used by prior rules)." in reasons


# --- virtualservice.RegexAnalyzer ---------------------------------------------------------------


@pytest.mark.usefixtures("unvalidated_vs")
def test_invalid_regex() -> None:
    text, found = run(VS_OK.replace("{exact: jason}", '{regex: "(?=x)ja"}'))
    (p,) = of(found, "IST0122")
    assert p.level is Level.WARNING
    assert p.message.startswith('Field "spec.http[0].match[0].headers.end-user" regular expression')
    assert at_line(p) == line(text, "regex:")
    _, ok = run(VS_OK.replace("{exact: jason}", '{regex: "ja(son|ne)"}'))
    assert of(ok, "IST0122") == []


# --- virtualservice.JWTClaimRouteAnalyzer -------------------------------------------------------

VS_JWT = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: claims}
spec:
  hosts: [shop.example.com]
  gateways: [gw]
  http:
  - match:
    - headers:
        "@request.auth.claims.groups": {exact: admin}
    route: [{destination: {host: reviews}}]
"""

REQUEST_AUTHN = manifests("""\
---
RequestAuthentication istio-system/jwt
  selector: {matchLabels: {istio: ingressgateway}}
  jwtRules: [{issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks"}]
""")


def test_jwt_claim_routing_without_request_authentication() -> None:
    text, found = run(VS_JWT)
    (p,) = of(found, "IST0149")
    assert p.level is Level.ERROR
    assert str(p.ref) == "VirtualService default/claims"
    assert "(key: @request.auth.claims.groups)" in p.message
    assert "gateway (default/gw) pod (ingressgateway)" in p.message
    assert at_line(p) == line(text, "- headers:")


def test_jwt_claim_routing_with_request_authentication() -> None:
    _, found = run(VS_JWT + REQUEST_AUTHN)
    assert of(found, "IST0149") == []


@pytest.mark.parametrize(
    "selector",
    ["", "selector: {matchLabels: {istio: ingressgateway}}"],
    ids=["mesh-wide", "root-selector"],
)
def test_jwt_claim_routing_with_a_root_namespace_request_authentication(selector: str) -> None:
    policy = manifests(f"""\
---
RequestAuthentication istio-system/jwt
  {selector}
  jwtRules: [{{issuer: "https://issuer.example.com", jwksUri: "https://issuer.example.com/jwks"}}]
""")
    _, found = run(VS_JWT + policy)
    assert of(found, "IST0149") == []


# --- virtualservice.OpaqueRoutesWithoutServiceAnalyzer ----------------------------------------

VS_TLS_ONLY_HOST = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: sni}
spec:
  hosts: [reviews, api.elsewhere.com]
  tls:
  - match: [{sniHosts: [api.elsewhere.com], port: 443}]
    route:
    - destination: {host: httpbin.org, port: {number: 443}}
"""


def test_tls_routes_for_a_host_no_service_has_are_reported() -> None:
    text, found = run(VS_TLS_ONLY_HOST)
    [problem] = of(found, "SM0003")
    assert problem.level is Level.WARNING
    assert problem.path == "spec.hosts[1]"
    assert at_line(problem) == line(text, "hosts: [reviews, api.elsewhere.com]")
    assert "api.elsewhere.com has TLS routes" in problem.message
    # bound to a gateway only, the same routes concern no sidecar
    gateway_only = VS_TLS_ONLY_HOST.replace("spec:\n", "spec:\n  gateways: [gw]\n")
    assert of(run(gateway_only)[1], "SM0003") == []
