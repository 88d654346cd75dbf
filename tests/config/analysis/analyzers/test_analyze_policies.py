"""Analyzers of Services, security policies, Telemetry and their workload selectors."""

from __future__ import annotations

from config_support.analysis_inputs import analyze_text, line, of
from config_support.manifests import manifests
from sailmesh.config.analysis import framework
from sailmesh.config.diagnostics import Level, Problem

FILE = "policies.yaml"

WORKLOADS = manifests("""\
apiVersion: v1
kind: Namespace
metadata: {name: default}
---
Service httpbin
  selector: {app: httpbin}
  ports:
  - {name: http, port: 8000, targetPort: 8080}
---
Deployment httpbin
  selector: {matchLabels: {app: httpbin}}
  template:
    metadata: {labels: {app: httpbin, version: v1}}
    spec:
      containers: [{name: httpbin, image: x}]
""")


def run(text: str, only: str | None = None) -> list[Problem]:
    return analyze_text(text, FILE, only)


def printed(p: Problem) -> str:
    return framework.format_log(p)


# --- service.PortNameAnalyzer ------------------------------------------------------------------

BAD_PORTS = """\
apiVersion: v1
kind: Service
metadata: {name: legacy}
spec:
  selector: {app: legacy}
  ports:
  - {name: http-web, port: 80}
  - {name: web, port: 8080, targetPort: 9090}
  - {name: metrics, port: 9100, appProtocol: http}
  - {name: dns, port: 53, protocol: UDP}
  - {name: ssh, port: 22}
"""


def test_port_name_not_under_naming_convention() -> None:
    found = of(run(BAD_PORTS), "IST0118")
    assert len(found) == 1
    (p,) = found
    assert p.level is Level.INFO
    assert str(p.ref) == "Service default/legacy"
    assert p.source is not None and p.source.line == line(BAD_PORTS, "name: web,")
    assert p.message == (
        "Port name web (port: 8080, targetPort: 9090) doesn't follow the naming convention of "
        "Istio port."
    )
    assert printed(p).startswith(f"Info [IST0118] (Service default/legacy {FILE}:8) Port name web")


def test_port_names_following_convention_and_control_plane_are_fine() -> None:
    gateway_svc = BAD_PORTS.replace(
        "metadata: {name: legacy}",
        ("metadata: {name: gw, namespace: istio-system, labels: {istio: ingressgateway}}"),
    )
    assert of(run(WORKLOADS), "IST0118") == []
    assert of(run(gateway_svc), "IST0118") == []


# --- auth.AuthorizationPoliciesAnalyzer ----------------------------------------------------------

AUTHZ = WORKLOADS + manifests("""\
---
AuthorizationPolicy httpbin-nopods
  selector:
    matchLabels:
      app: bogus-label
      version: v1
  rules:
  - from:
    - source:
        namespaces: ["default", "ghost"]
""")


def test_authorization_policy_without_matching_workloads() -> None:
    found = of(run(AUTHZ), "IST0127")
    assert len(found) == 1
    (p,) = found
    assert p.level is Level.WARNING
    assert str(p.ref) == "AuthorizationPolicy default/httpbin-nopods"
    assert p.message == (
        "No matching workloads for this resource with the following labels: "
        "app=bogus-label,version=v1"
    )
    assert p.source is not None and p.source.line == line(AUTHZ, "app: bogus-label")


def test_authorization_policy_unknown_source_namespace() -> None:
    found = of(run(AUTHZ), "IST0101")
    assert [p.message for p in found] == ['Referenced namespace not found: "ghost"']
    assert found[0].source is not None
    assert found[0].source.line == line(AUTHZ, 'namespaces: ["default", "ghost"]')


def test_authorization_policy_matching_workloads() -> None:
    ok = AUTHZ.replace("app: bogus-label", "app: httpbin").replace(', "ghost"', "")
    assert of(run(ok), "IST0127") == []
    assert of(run(ok), "IST0101") == []


def test_selector_checks_skipped_without_workloads_in_inputs() -> None:
    policy_only = AUTHZ.split("---\n", 3)[3]
    assert of(run(policy_only), "IST0127") == []


# --- security.SelectorAnalyzer -----------------------------------------------------------------

PEER_AUTHN = WORKLOADS + manifests("""\
---
PeerAuthentication strict
  selector:
    matchLabels: {app: ratings}
  mtls: {mode: STRICT}
""")


def test_peer_authentication_selector_without_workloads() -> None:
    (p,) = of(run(PEER_AUTHN), "IST0127")
    assert str(p.ref) == "PeerAuthentication default/strict"
    assert p.message.endswith("labels: app=ratings")
    assert p.source is not None and p.source.line == line(PEER_AUTHN, "matchLabels: {app: ratings}")
    fixed = PEER_AUTHN.replace("app: ratings", "app: httpbin")
    assert of(run(fixed), "IST0127") == []


# --- telemetry ---------------------------------------------------------------------------------

TELEMETRY = WORKLOADS + manifests("""\
---
Telemetry logs
  selector:
    matchLabels: {app: nothing}
  accessLogging:
  - providers: []
---
Telemetry mesh-a
  tracing: [{randomSamplingPercentage: 10}]
---
Telemetry mesh-b
  metrics: [{providers: [{name: prometheus}]}]
""")


def test_telemetry_with_empty_providers() -> None:
    (p,) = of(run(TELEMETRY), "IST0157")
    assert p.level is Level.WARNING
    assert str(p.ref) == "Telemetry default/logs"
    assert (
        p.message
        == 'The Telemetry logs in namespace "default" with empty providers will be ignored.'
    )
    assert p.source is not None and p.source.line == line(TELEMETRY, "- providers: []")


def test_telemetry_selector_and_duplicates() -> None:
    found = run(TELEMETRY)
    (selector,) = [p for p in of(found, "IST0101") if str(p.ref) == "Telemetry default/logs"]
    assert selector.message == 'Referenced selector not found: "app=nothing"'
    dupes = of(found, "IST0160")
    assert sorted(str(p.ref) for p in dupes) == [
        "Telemetry default/mesh-a",
        "Telemetry default/mesh-b",
    ]
    assert dupes[0].level is Level.ERROR
    assert "[default/mesh-a default/mesh-b]" in dupes[0].message


def test_telemetry_valid() -> None:
    ok = WORKLOADS + manifests("""\
---
Telemetry logs
  selector:
    matchLabels: {app: httpbin}
  accessLogging:
  - providers: [{name: envoy}]
""")
    assert [p for p in run(ok) if p.code in ("IST0101", "IST0157", "IST0159", "IST0160")] == []


def test_conflicting_telemetry_selectors() -> None:
    text = WORKLOADS + "".join(
        f"""\
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {{name: t{i}}}
spec:
  selector:
    matchLabels: {{app: httpbin}}
"""
        for i in (1, 2)
    )
    found = of(run(text), "IST0159")
    assert len(found) == 2
    assert found[0].message == (
        'The Telemetries [default/t1 default/t2] in namespace "default" select the same workload '
        'pod "httpbin", which can lead to undefined behavior.'
    )


# --- ratelimitpolicy.SelectorAnalyzer (sailmesh's kind) ---------------------------------------


def _rate_limit(name: str, app: str) -> str:
    return f"""\
---
apiVersion: sailmesh.io/v1alpha1
kind: RateLimitPolicy
metadata: {{name: {name}}}
spec:
  selector:
    matchLabels: {{app: {app}}}
  limits:
  - {{name: all, requests: 10, per: 1s}}
"""


def test_rate_limit_policy_selecting_nothing_and_stacked_policies() -> None:
    text = WORKLOADS + _rate_limit("none", "nothing") + _rate_limit("a", "httpbin")
    found = run(text + _rate_limit("b", "httpbin"))
    (missing,) = [p for p in of(found, "IST0101") if "RateLimitPolicy" in str(p.ref)]
    assert str(missing.ref) == "RateLimitPolicy default/none"
    assert missing.message == 'Referenced selector not found: "app=nothing"'
    stacked = of(found, "SM0002")
    assert sorted(str(p.ref) for p in stacked) == [
        "RateLimitPolicy default/a",
        "RateLimitPolicy default/b",
    ]
    assert stacked[0].level is Level.INFO and "must pass all of them" in stacked[0].message
    alone = run(text)
    assert of(alone, "SM0002") == []
    assert [str(p.ref) for p in of(alone, "IST0101") if "RateLimitPolicy" in str(p.ref)] == [
        "RateLimitPolicy default/none"
    ]
