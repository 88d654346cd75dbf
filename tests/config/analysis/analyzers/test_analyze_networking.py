"""DestinationRule, Gateway, Sidecar and ServiceEntry analyzers."""

from __future__ import annotations

import base64

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
from config_support.tls_secrets import pem_pair
from sailmesh.config.diagnostics import Level, Problem

FILE = "net.yaml"

PLATFORM = documents(
    REVIEWS_SERVICE,
    REVIEWS_V1,
    INGRESS_GATEWAY_DEPLOYMENT,
    ingress_gateway_service(
        """
  - {name: http2, port: 80, targetPort: 8080}
  - {name: https, port: 443, targetPort: 8443}
"""
    ),
)


def run(extra: str) -> tuple[str, list[Problem]]:
    text = PLATFORM + "---\n" + extra
    return text, analyze_text(text, FILE)


def at_line(p: Problem) -> int:
    return line_in(FILE, p)


# --- destinationrule.CaCertificateAnalyzer -----------------------------------------------------

DR_TLS = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db-tls}
spec:
  host: reviews
  trafficPolicy:
    tls: {mode: SIMPLE}
    portLevelSettings:
    - port: {number: 9080}
      tls: {mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem}
    - port: {number: 9443}
      tls: {mode: SIMPLE, caCertificates: /ca.pem}
"""


def test_tls_without_ca_certificates() -> None:
    text, found = run(DR_TLS)
    (dest,) = of(found, "IST0128")
    assert dest.level is Level.WARNING
    assert str(dest.ref) == "DestinationRule default/db-tls"
    assert dest.message == (
        "DestinationRule default/db-tls in namespace default has TLS mode set to SIMPLE but no "
        "caCertificates are set to validate server identity for host: reviews"
    )
    assert at_line(dest) == line(text, "tls: {mode: SIMPLE}")
    (port,) = of(found, "IST0129")
    assert port.message.endswith("for host: reviews at port 9080")
    assert at_line(port) == line(text, "tls: {mode: MUTUAL")


def test_tls_with_verification_configured() -> None:
    ok = DR_TLS.replace("{mode: SIMPLE}", "{mode: SIMPLE, credentialName: db-cert}")
    ok = ok.replace("privateKey: /k.pem}", "privateKey: /k.pem, insecureSkipVerify: true}")
    # credentialName reaches sidecars only through a DestinationRule with a workloadSelector
    _, found = run(ok)
    assert len(of(found, "IST0128")) == 1 and of(found, "IST0129") == []
    _, found = run(
        ok.replace("spec:\n", "spec:\n  workloadSelector: {matchLabels: {app: reviews}}\n")
    )
    assert of(found, "IST0128") == [] and of(found, "IST0129") == []


# --- destinationrule.PodNotSelectedAnalyzer ----------------------------------------------------

DR_SUBSETS = manifests("""\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v3
    labels: {version: v3}
---
DestinationRule unknown
  host: details
""")


def test_subset_selecting_no_pods_and_unknown_host() -> None:
    text, found = run(DR_SUBSETS)
    (subset,) = of(found, "IST0173")
    assert subset.level is Level.ERROR
    assert str(subset.ref) == "DestinationRule default/reviews"
    assert subset.message.startswith("The Subset v3 defined in the DestinationRule does not select")
    assert at_line(subset) == line(text, "- name: v3")
    (host,) = of(found, "IST0174")
    assert str(host.ref) == "DestinationRule default/unknown"
    assert host.message == (
        "The host details defined in the DestinationRule does not match any services in the mesh."
    )
    assert at_line(host) == line(text, "host: details")


def test_subsets_selecting_pods_and_wildcard_hosts() -> None:
    ok = DR_SUBSETS.split("---")[0].replace("  - name: v3\n    labels: {version: v3}\n", "")
    ok += "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
    ok += "metadata: {name: all}\nspec: {host: '*.svc.cluster.local'}\n"
    _, found = run(ok)
    assert of(found, "IST0173") == [] and of(found, "IST0174") == []


# --- gateway analyzers -------------------------------------------------------------------------

GATEWAY = """\
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["*.example.com"]
  - port: {number: 8443, name: https, protocol: HTTPS}
    hosts: [shop.example.com]
    tls: {mode: SIMPLE, credentialName: shop-cert}
"""


def _tls_secret(name: str, valid: bool = True) -> str:
    cert, pem_key = pem_pair(1)
    crt = cert if valid else b"not a certificate"
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: istio-system}}\n"
        f"type: kubernetes.io/tls\ndata:\n  tls.crt: {base64.b64encode(crt).decode()}\n"
        f"  tls.key: {base64.b64encode(pem_key).decode()}\n"
    )


def test_gateway_credential_secret_missing() -> None:
    text, found = run(GATEWAY)
    (p,) = of(found, "IST0101")
    assert p.message == 'Referenced credentialName not found: "shop-cert"'
    assert str(p.ref) == "Gateway default/gw"
    assert at_line(p) == line(text, "credentialName: shop-cert")


def test_gateway_credential_invalid_and_valid() -> None:
    text, found = run(GATEWAY + "---\n" + _tls_secret("shop-cert", valid=False))
    (p,) = of(found, "IST0161")
    assert p.level is Level.ERROR
    assert p.message.startswith(
        "The credential referenced by the Gateway gw in namespace istio-system"
    )
    assert at_line(p) == line(text, "credentialName: shop-cert")
    _, found = run(GATEWAY + "---\n" + _tls_secret("shop-cert"))
    # Istio's analyzers are satisfied, and the HTTPS server is served (nothing unenforced).
    assert found == []


def test_gateway_selector_matching_no_workload() -> None:
    text, found = run(GATEWAY.replace("istio: ingressgateway", "istio: egress"))
    (p,) = {x.message: x for x in of(found, "IST0101")}.values()
    assert p.message == 'Referenced selector not found: "istio=egress"'
    assert at_line(p) == line(text, "istio: egress")


def test_gateway_port_not_on_service() -> None:
    text, found = run(
        GATEWAY.replace("number: 8443", "number: 9443") + "---\n" + _tls_secret("shop-cert")
    )
    (p,) = of(found, "IST0162")
    assert p.level is Level.WARNING
    assert "(port 9443)" in p.message and "(Pod selector istio=ingressgateway)" in p.message
    assert at_line(p) == line(text, "- port: {number: 9443")


def test_gateway_service_ports_are_not_reported() -> None:
    """A server on a Service port (80, 443) binds the Service's targetPort (8080, 8443), as
    sailmesh's and Istio's gateways do: reachable, not reported (istio/istio#51257)."""
    service_ports = GATEWAY.replace("number: 8080", "number: 80").replace(
        "number: 8443", "number: 443"
    )
    _, found = run(service_ports + "---\n" + _tls_secret("shop-cert"))
    assert of(found, "IST0162") == []


def test_conflicting_gateways() -> None:
    other = GATEWAY.replace("name: gw}", "name: gw2}").split("  - port: {number: 8443")[0]
    other = other.replace('["*.example.com"]', '["*.example.com", api.example.com]')
    text, found = run(GATEWAY + "---\n" + _tls_secret("shop-cert") + "---\n" + other)
    conflicts = of(found, "IST0145")
    assert sorted(str(p.ref) for p in conflicts) == ["Gateway default/gw", "Gateway default/gw2"]
    gw = next(p for p in conflicts if p.ref is not None and p.ref.name == "gw")
    assert gw.message == (
        "Conflict with gateways default/gw2 (workload selector istio=ingressgateway, port 8080, "
        "hosts *.example.com)."
    )
    assert at_line(gw) == line(text, "- port: {number: 8080")
    # Istio checks exact duplicates: a specific host next to a wildcard is no conflict
    distinct = other.replace('["*.example.com", api.example.com]', "[api.example.com]")
    _, found = run(GATEWAY + "---\n" + _tls_secret("shop-cert") + "---\n" + distinct)
    assert of(found, "IST0145") == []


# --- sidecars ----------------------------------------------------------------------------------

SIDECARS = manifests("""\
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: a}
spec:
  workloadSelector:
    labels: {app: reviews}
  egress:
  - hosts:
    - ./reviews.default.svc.cluster.local
    - istio-system/*
    - ./ghost.default.svc.cluster.local
---
Sidecar b
  workloadSelector:
    labels: {version: v1}
---
Sidecar c
  workloadSelector:
    labels: {app: nothing}
---
Sidecar d
spec: {}
---
Sidecar e
  egress: [{hosts: ["./*"]}]
""")


def test_sidecar_selectors_and_egress_hosts() -> None:
    text, found = run(SIDECARS)
    by_ref = {(p.code, str(p.ref)): p for p in found}
    assert len(of(found, "IST0110")) == 2
    conflict = by_ref[("IST0110", "Sidecar default/a")]
    assert conflict.message == (
        'The Sidecars [default/a default/b] in namespace "default" select the same workload pod '
        '"reviews-v1", which can lead to undefined behavior.'
    )
    none = by_ref[("IST0111", "Sidecar default/d")]
    assert "[default/d default/e]" in none.message and none.level is Level.ERROR
    missing = {p.message: p for p in of(found, "IST0101")}
    selector = missing['Referenced selector not found: "app=nothing"']
    assert str(selector.ref) == "Sidecar default/c"
    assert at_line(selector) == line(text, "labels: {app: nothing}")
    egress = missing['Referenced host not found: "./ghost.default.svc.cluster.local"']
    assert at_line(egress) == line(text, "- ./ghost.default")
    assert len(missing) == 2


# --- service entries ---------------------------------------------------------------------------

SERVICE_ENTRIES = manifests("""\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db}
spec:
  hosts: [db.example.com]
  ports:
  - {number: 5432, name: tcp-pg, protocol: TCP}
  resolution: DNS
---
ServiceEntry db-http
  hosts: [db.example.com]
  addresses: [240.0.0.10]
  ports:
  - {number: 5432, name: http, protocol: HTTP}
  resolution: DNS
""")


def test_service_entry_addresses_and_protocol_conflicts() -> None:
    text, found = run(SERVICE_ENTRIES)
    (addr,) = of(found, "IST0134")
    assert addr.level is Level.WARNING and str(addr.ref) == "ServiceEntry default/db"
    assert at_line(addr) == line(text, "name: tcp-pg")
    conflicts = of(found, "IST0177")
    assert sorted(str(p.ref) for p in conflicts) == [
        "ServiceEntry default/db",
        "ServiceEntry default/db-http",
    ]
    assert 'define host "db.example.com" port 5432 with conflicting protocols [HTTP TCP]' in (
        conflicts[0].message
    )


def test_service_entries_valid() -> None:
    ok = SERVICE_ENTRIES.replace(
        "{number: 5432, name: http, protocol: HTTP}", "{number: 80, name: http, protocol: HTTP}"
    )
    ok = ok.replace(
        "  resolution: DNS\n---", "  addresses: [240.0.0.11]\n  resolution: DNS\n---", 1
    )
    _, found = run(ok)
    assert found == []


# --- sidecar.IngressTlsAnalyzer (SM0004) -----------------------------------------------------

SIDECAR_INGRESS_TLS = """\
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: web, namespace: shop}
spec:
  workloadSelector: {labels: {app: web}}
  ingress:
  - port: {number: 8443, name: https, protocol: HTTPS}
    defaultEndpoint: 127.0.0.1:8080
    tls: {mode: SIMPLE, serverCertificate: /etc/certs/c.pem, privateKey: /etc/certs/k.pem}
"""
PORT_DISABLE = """\
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  portLevelMtls: {8443: {mode: DISABLE}}
"""


def test_ingress_tls_under_mutual_tls_is_reported() -> None:
    [problem] = of(analyze_text(SIDECAR_INGRESS_TLS, "sc.yaml"), "SM0004")
    assert problem.level is Level.WARNING and problem.path == "spec.ingress[0].tls"
    assert problem.ref is not None and (problem.ref.namespace, problem.ref.name) == ("shop", "web")
    assert "port 8443" in problem.message and "DISABLE" in problem.message
    assert line_in("sc.yaml", problem) == 9


@pytest.mark.parametrize(
    "policy",
    [
        PORT_DISABLE,
        PORT_DISABLE.replace("portLevelMtls: {8443: {mode: DISABLE}}", "mtls: {mode: DISABLE}"),
        PORT_DISABLE.replace("namespace: shop", "namespace: istio-system"),
    ],
    ids=["port-level", "workload", "root-namespace"],
)
def test_ingress_tls_with_mutual_tls_disabled_is_quiet(policy: str) -> None:
    assert of(analyze_text(SIDECAR_INGRESS_TLS + policy, "sc.yaml"), "SM0004") == []


def test_ingress_tls_with_mutual_tls_disabled_on_another_port_is_reported() -> None:
    other = PORT_DISABLE.replace("8443: {mode", "9443: {mode")
    assert len(of(analyze_text(SIDECAR_INGRESS_TLS + other, "sc.yaml"), "SM0004")) == 1
