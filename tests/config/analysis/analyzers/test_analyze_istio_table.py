"""One row per Istio analysis message: a positive input (the message, with its level, resource
and text) and a negative one (no message of that code), shaped like Istio's analyzer test
inputs: plain manifests, no namespace meaning ``default``, on a small platform (the reviews
Service and its v1 Deployment, the ingress gateway's Deployment and Service in istio-system).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from config_support.analysis_inputs import (
    INGRESS_GATEWAY_DEPLOYMENT,
    REVIEWS_SERVICE,
    REVIEWS_V1,
    analyze_text,
    documents,
    ingress_gateway_service,
    of,
)
from config_support.manifests import manifests
from config_support.tls_secrets import tls_secret
from sailmesh.config.diagnostics import Level, Problem

PLATFORM = documents(
    REVIEWS_SERVICE,
    REVIEWS_V1,
    INGRESS_GATEWAY_DEPLOYMENT,
    ingress_gateway_service("\n  - {name: http2, port: 80, targetPort: 8080}\n"),
)


@dataclass(frozen=True)
class Case:
    code: str
    level: Level
    resource: str
    message: str
    positive: str
    negative: str
    platform: str = PLATFORM


def _run(case: Case, text: str) -> list[Problem]:
    return of(analyze_text(case.platform + "---\n" + manifests(text), "case.yaml"), case.code)


def gateway(name: str, servers: str, selector: str = "istio: ingressgateway") -> str:
    return f"Gateway {name}\n  selector: {{{selector}}}\n  servers:\n{servers}"


HTTP_SERVER = (
    "  - port: {number: 8080, name: http, protocol: HTTP}\n    hosts: [shop.example.com]\n"
)


def https_server(credential: str, host: str = "shop.example.com", mode: str = "SIMPLE") -> str:
    return (
        "  - port: {number: 8080, name: https, protocol: HTTPS}\n"
        f"    hosts: [{host}]\n    tls: {{mode: {mode}, credentialName: {credential}}}\n"
    )


def namespace(name: str, labels: str = "") -> str:
    meta = f"{{name: {name}, labels: {{{labels}}}}}" if labels else f"{{name: {name}}}"
    return f"apiVersion: v1\nkind: Namespace\nmetadata: {meta}\n"


def vs(name: str, body: str) -> str:
    return f"VirtualService {name}\n{body}"


SECURE_GW = gateway("gw", https_server("shop-cert"))

ENVOY_FILTER = """\
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {{name: {name}}}
spec:
{priority}  configPatches:
  - applyTo: {apply_to}
    match:
      context: SIDECAR_OUTBOUND
{proxy}    patch:
      operation: {operation}
      value: {{name: {filter}}}
"""


def envoy_filter(
    name: str,
    apply_to: str,
    operation: str,
    priority: int | None = None,
    proxy_version: str | None = None,
    filter_name: str = "envoy.filters.http.lua",
) -> str:
    return ENVOY_FILTER.format(
        name=name,
        priority=f"  priority: {priority}\n" if priority is not None else "",
        apply_to=apply_to,
        operation=operation,
        proxy=f"      proxy: {{proxyVersion: '{proxy_version}'}}\n" if proxy_version else "",
        filter=filter_name,
    )


DEPLOY_SERVICES = """\
Service reviews-udp
  selector: {{app: reviews}}
  ports: [{{name: udp-stats, port: 9080, protocol: {protocol}}}]
"""

UID_DEPLOYMENT = """\
Deployment ratings
  selector: {{matchLabels: {{app: ratings}}}}
  template:
    metadata: {{labels: {{app: ratings}}}}
    spec:
      containers:
      - name: app
        image: ratings
        securityContext: {{runAsUser: {uid}}}
"""

CASES = [
    Case(
        "IST0162",
        Level.WARNING,
        "Gateway default/gw",
        "The gateway is listening on a target port (port 9443) that is not defined in the Service "
        "associated with its workload instances (Pod selector istio=ingressgateway). If you need "
        "to access the gateway port through the gateway Service, it will not be available.",
        gateway("gw", HTTP_SERVER.replace("8080", "9443")),
        gateway("gw", HTTP_SERVER),
    ),
    Case(
        "IST0101",
        Level.ERROR,
        "Gateway default/gw",
        'Referenced selector not found: "istio=egressgateway"',
        gateway("gw", HTTP_SERVER, selector="istio: egressgateway"),
        gateway("gw", HTTP_SERVER),
    ),
    Case(
        "IST0138",
        Level.WARNING,
        "Gateway default/gw-a",
        "Duplicate certificate in multiple gateways [default/gw-a default/gw-b] may cause 404s if "
        "clients re-use HTTP2 connections.",
        gateway("gw-a", https_server("shop-cert"))
        + "---\n"
        + gateway("gw-b", https_server("shop-cert", "api.example.com")),
        gateway("gw-a", https_server("shop-cert"))
        + "---\n"
        + gateway("gw-b", https_server("api-cert", "api.example.com")),
    ),
    Case(
        "IST0145",
        Level.ERROR,
        "Gateway default/gw-a",
        "Conflict with gateways default/gw-b (workload selector istio=ingressgateway, port 8080, "
        "hosts shop.example.com).",
        gateway("gw-a", HTTP_SERVER) + "---\n" + gateway("gw-b", HTTP_SERVER),
        gateway("gw-a", HTTP_SERVER)
        + "---\n"
        + gateway("gw-b", HTTP_SERVER.replace("shop.", "api.")),
    ),
    Case(
        "IST0132",
        Level.WARNING,
        "VirtualService default/shop",
        "one or more host [api.example.com] defined in VirtualService default/shop not found in "
        "Gateway default/gw.",
        gateway("gw", HTTP_SERVER)
        + "---\n"
        + vs(
            "shop",
            "  hosts: [api.example.com]\n  gateways: [gw]\n"
            "  http: [{route: [{destination: {host: reviews}}]}]\n",
        ),
        gateway("gw", HTTP_SERVER)
        + "---\n"
        + vs(
            "shop",
            "  hosts: [shop.example.com]\n  gateways: [gw]\n"
            "  http: [{route: [{destination: {host: reviews}}]}]\n",
        ),
    ),
    Case(
        "IST0165",
        Level.WARNING,
        "VirtualService default/shop",
        "Gateway reference in VirtualService default/shop is to an implementation-generated "
        "internal Gateway: shop-istio-autogenerated-k8s-gateway-http.",
        vs(
            "shop",
            "  hosts: [shop.example.com]\n"
            "  gateways: [shop-istio-autogenerated-k8s-gateway-http]\n"
            "  http: [{route: [{destination: {host: reviews}}]}]\n",
        ),
        gateway("gw", HTTP_SERVER)
        + "---\n"
        + vs(
            "shop",
            "  hosts: [shop.example.com]\n  gateways: [gw]\n"
            "  http: [{route: [{destination: {host: reviews}}]}]\n",
        ),
    ),
    Case(
        "IST0140",
        Level.WARNING,
        "VirtualService default/shop",
        "Subset in virtual service default/reviews has no effect on ingress gateway default/shop "
        "requests",
        gateway("gw", HTTP_SERVER)
        + "---\n"
        + vs(
            "shop",
            "  hosts: [shop.example.com]\n  gateways: [gw]\n"
            "  http: [{route: [{destination: {host: reviews}}]}]\n",
        )
        + "---\n"
        + vs(
            "reviews",
            "  hosts: [reviews]\n  http: [{route: [{destination: {host: reviews, subset: v1}}]}]\n",
        ),
        gateway("gw", HTTP_SERVER)
        + "---\n"
        + vs(
            "shop",
            "  hosts: [shop.example.com]\n  gateways: [gw]\n"
            "  http: [{route: [{destination: {host: reviews, subset: v1}}]}]\n",
        )
        + "---\n"
        + vs(
            "reviews",
            "  hosts: [reviews]\n  http: [{route: [{destination: {host: reviews, subset: v1}}]}]\n",
        ),
    ),
    Case(
        "IST0149",
        Level.ERROR,
        "VirtualService default/claims",
        "The virtual service uses the JWT claim based routing (key: @request.auth.claims.group) "
        "but found no request authentication for the gateway (default/gw) pod (ingressgateway). "
        "The request authentication must first be applied for the gateway pods to validate the "
        "JWT token and make the claims available for routing.",
        gateway("gw", HTTP_SERVER)
        + "---\n"
        + vs(
            "claims",
            "  hosts: [shop.example.com]\n  gateways: [gw]\n  http:\n"
            "  - match: [{headers: {'@request.auth.claims.group': {exact: admin}}}]\n"
            "    route: [{destination: {host: reviews}}]\n",
        ),
        gateway("gw", HTTP_SERVER)
        + "---\n"
        + vs(
            "claims",
            "  hosts: [shop.example.com]\n  gateways: [gw]\n  http:\n"
            "  - match: [{headers: {'@request.auth.claims.group': {exact: admin}}}]\n"
            "    route: [{destination: {host: reviews}}]\n",
        )
        + "---\nRequestAuthentication istio-system/jwt\n"
        "  selector: {matchLabels: {istio: ingressgateway}}\n"
        "  jwtRules: [{issuer: issuer.example.com, jwksUri: 'https://issuer.example.com/jwks'}]\n",
    ),
    Case(
        "IST0150",
        Level.WARNING,
        "Service default/db",
        "Port name for ExternalName service is invalid. Proxy may prevent tcp named ports and "
        "unmatched traffic for ports serving TCP protocol from being forwarded correctly",
        "Service db\n  type: ExternalName\n  externalName: db.example.com\n"
        "  ports: [{name: tcp, port: 5432}]\n",
        "Service db\n  type: ExternalName\n  externalName: db.example.com\n"
        "  ports: [{name: tcp-postgres, port: 5432}]\n",
    ),
    Case(
        "IST0118",
        Level.INFO,
        "Service default/legacy",
        "Port name web (port: 80, targetPort: 8080) doesn't follow the naming convention of Istio "
        "port.",
        "Service legacy\n  selector: {app: legacy}\n"
        "  ports: [{name: web, port: 80, targetPort: 8080}]\n",
        "Service kube-system/legacy\n  selector: {app: legacy}\n"
        "  ports: [{name: web, port: 80, targetPort: 8080}]\n",
    ),
    Case(
        "IST0110",
        Level.ERROR,
        "Sidecar default/a",
        'The Sidecars [default/a default/b] in namespace "default" select the same workload pod '
        '"reviews-v1", which can lead to undefined behavior.',
        "Sidecar a\n  workloadSelector: {labels: {app: reviews}}\n---\n"
        "Sidecar b\n  workloadSelector: {labels: {version: v1}}\n",
        "Sidecar a\n  workloadSelector: {labels: {app: reviews}}\n---\n"
        "Sidecar b\n  workloadSelector: {labels: {app: ingressgateway}}\n",
    ),
    Case(
        "IST0111",
        Level.ERROR,
        "Sidecar default/a",
        'The Sidecars [default/a default/b] in namespace "default" have no workload selector, '
        "which can lead to undefined behavior.",
        "Sidecar a\n  egress: [{hosts: ['./*']}]\n---\nSidecar b\n  egress: [{hosts: ['./*']}]\n",
        "Sidecar a\n  egress: [{hosts: ['./*']}]\n---\n"
        "Sidecar b\n  workloadSelector: {labels: {app: reviews}}\n",
    ),
    Case(
        "IST0167",
        Level.WARNING,
        "Sidecar ambient/all",
        "The policy has no impact: namespace is in ambient mode, the policy has no impact.",
        namespace("ambient", "istio.io/dataplane-mode: ambient")
        + "---\nSidecar ambient/all\n  egress: [{hosts: ['./*']}]\n",
        namespace("ambient", "istio-injection: enabled")
        + "---\nSidecar ambient/all\n  egress: [{hosts: ['./*']}]\n",
    ),
    Case(
        "IST0159",
        Level.ERROR,
        "Telemetry default/a",
        'The Telemetries [default/a default/b] in namespace "default" select the same workload '
        'pod "reviews-v1", which can lead to undefined behavior.',
        "Telemetry a\n  selector: {matchLabels: {app: reviews}}\n"
        "  accessLogging: [{providers: [{name: envoy}]}]\n---\n"
        "Telemetry b\n  selector: {matchLabels: {version: v1}}\n"
        "  accessLogging: [{providers: [{name: envoy}]}]\n",
        "Telemetry a\n  selector: {matchLabels: {app: reviews}}\n"
        "  accessLogging: [{providers: [{name: envoy}]}]\n",
    ),
    Case(
        "IST0128",
        Level.WARNING,
        "DestinationRule default/db-tls",
        "DestinationRule default/db-tls in namespace default has TLS mode set to SIMPLE but no "
        "caCertificates are set to validate server identity for host: reviews",
        "DestinationRule db-tls\n  host: reviews\n"
        "  trafficPolicy: {tls: {mode: SIMPLE, credentialName: db-credential}}\n",
        "DestinationRule db-tls\n  host: reviews\n"
        "  workloadSelector: {matchLabels: {app: ratings}}\n"
        "  trafficPolicy: {tls: {mode: SIMPLE, credentialName: db-credential}}\n",
    ),
    Case(
        "IST0129",
        Level.WARNING,
        "DestinationRule default/db-tls",
        "DestinationRule default/db-tls in namespace default has TLS mode set to MUTUAL but no "
        "caCertificates are set to validate server identity for host: reviews at port 9080",
        "DestinationRule db-tls\n  host: reviews\n  trafficPolicy:\n    portLevelSettings:\n"
        "    - port: {number: 9080}\n"
        "      tls: {mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem}\n",
        "DestinationRule db-tls\n  host: reviews\n  trafficPolicy:\n    portLevelSettings:\n"
        "    - port: {number: 9080}\n      tls: {mode: MUTUAL, clientCertificate: /c.pem, "
        "privateKey: /k.pem, caCertificates: /ca.pem}\n",
    ),
    Case(
        "IST0101",
        Level.ERROR,
        "Gateway default/gw",
        'Referenced credentialName not found: "shop-cert"',
        SECURE_GW + "---\n" + tls_secret("shop-cert", namespace="default"),
        SECURE_GW + "---\n" + tls_secret("shop-cert"),
    ),
    *(
        Case(
            "IST0161",
            Level.ERROR,
            "Gateway default/gw",
            "The credential referenced by the Gateway gw in namespace istio-system is invalid, "
            "which can cause the traffic not to work as expected.",
            (gateway("gw", https_server("shop-cert", mode=mode)) if mode else SECURE_GW)
            + "---\n"
            + bad,
            (gateway("gw", https_server("shop-cert", mode=mode)) if mode else SECURE_GW)
            + "---\n"
            + tls_secret("shop-cert", ca=bool(mode)),
        )
        for bad, mode in (
            (tls_secret("shop-cert", expired=True), ""),
            (tls_secret("shop-cert", other_key=True), ""),
            (tls_secret("shop-cert", without_key=True), ""),
            (tls_secret("shop-cert"), "MUTUAL"),
        )
    ),
    Case(
        "IST0002",
        Level.WARNING,
        "VirtualService default/slow",
        "Deprecated: HTTPRoute.fault.delay.percent is deprecated; use "
        "HTTPRoute.fault.delay.percentage",
        vs(
            "slow",
            "  hosts: [reviews]\n  http:\n  - fault: {delay: {percent: 50, fixedDelay: 1s}}\n"
            "    route: [{destination: {host: reviews}}]\n",
        ),
        vs(
            "slow",
            "  hosts: [reviews]\n  http:\n"
            "  - fault: {delay: {percentage: {value: 50}, fixedDelay: 1s}}\n"
            "    route: [{destination: {host: reviews}}]\n",
        ),
    ),
    Case(
        "IST0002",
        Level.WARNING,
        "Sidecar default/egress",
        "Deprecated: OutboundTrafficPolicy.EgressProxy ignored",
        "Sidecar egress\n  outboundTrafficPolicy:\n    mode: ALLOW_ANY\n"
        "    egressProxy: {host: proxy.example.com, port: {number: 3128}}\n",
        "Sidecar egress\n  outboundTrafficPolicy: {mode: ALLOW_ANY}\n",
    ),
    Case(
        "IST0002",
        Level.WARNING,
        "DestinationRule default/reviews",
        "Deprecated: OutlierDetection.consecutiveErrors is deprecated; use "
        "OutlierDetection.consecutive5xxErrors",
        "DestinationRule reviews\n  host: reviews\n"
        "  trafficPolicy: {outlierDetection: {consecutiveErrors: 5}}\n",
        "DestinationRule reviews\n  host: reviews\n"
        "  trafficPolicy: {outlierDetection: {consecutive5xxErrors: 5}}\n",
    ),
    Case(
        "IST0116",
        Level.WARNING,
        "Deployment default/reviews-v1",
        "This deployment reviews-v1 is associated with multiple services using port 9080 but "
        "different protocols: [default/reviews default/reviews-udp]",
        DEPLOY_SERVICES.format(protocol="UDP"),
        DEPLOY_SERVICES.format(protocol="TCP").replace("port: 9080", "port: 9081"),
    ),
    Case(
        "IST0137",
        Level.WARNING,
        "Deployment default/reviews-v1",
        "This deployment reviews-v1 is associated with multiple services [default/reviews "
        'default/reviews-alt] using targetPort "9080" but different ports: [9080 8080].',
        "Service reviews-alt\n  selector: {app: reviews}\n"
        "  ports: [{name: http, port: 8080, targetPort: 9080}]\n",
        "Service reviews-alt\n  selector: {app: reviews}\n"
        "  ports: [{name: http, port: 9080, targetPort: 9080}]\n",
    ),
    Case(
        "IST0144",
        Level.WARNING,
        "Deployment default/ratings",
        "User ID (UID) 1337 is reserved for the sidecar proxy.",
        UID_DEPLOYMENT.format(uid=1337),
        UID_DEPLOYMENT.format(uid=1000),
    ),
    Case(
        "IST0102",
        Level.INFO,
        "Namespace shop",
        "The namespace is not enabled for Istio injection. Run 'kubectl label namespace shop "
        "istio-injection=enabled' to enable it, or 'kubectl label namespace shop "
        "istio-injection=disabled' to explicitly mark it as not needing injection.",
        namespace("shop"),
        namespace("shop", "istio-injection: disabled"),
    ),
    Case(
        "IST0123",
        Level.WARNING,
        "Namespace shop",
        "The namespace has more than one type of injection labels [istio-injection istio.io/rev], "
        "which may lead to undefined behavior. Make sure only one injection label exists.",
        namespace("shop", "istio-injection: enabled, istio.io/rev: canary"),
        namespace("shop", "istio.io/rev: canary"),
    ),
    Case(
        "IST0151",
        Level.WARNING,
        "EnvoyFilter default/lua",
        "This EnvoyFilter does not have a priority and has a relative patch operation set which "
        "can cause the EnvoyFilter not to be applied. Using the INSERT_FIRST of ADD option or "
        "setting the priority may help in ensuring the EnvoyFilter is applied correctly.",
        envoy_filter("lua", "HTTP_FILTER", "INSERT_BEFORE"),
        envoy_filter("lua", "HTTP_FILTER", "INSERT_BEFORE", priority=10),
    ),
    Case(
        "IST0152",
        Level.ERROR,
        "EnvoyFilter default/lua",
        "The REPLACE operation is only valid for HTTP_FILTER and NETWORK_FILTER.",
        envoy_filter("lua", "LISTENER_FILTER", "REPLACE", priority=10),
        envoy_filter("lua", "NETWORK_FILTER", "REPLACE", priority=10),
    ),
    Case(
        "IST0153",
        Level.ERROR,
        "EnvoyFilter default/lua",
        "The ADD operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or "
        "HTTP_ROUTE.",
        envoy_filter("lua", "HTTP_ROUTE", "ADD"),
        envoy_filter("lua", "CLUSTER", "ADD"),
    ),
    Case(
        "IST0154",
        Level.ERROR,
        "EnvoyFilter default/lua",
        "The REMOVE operation will be ignored when applyTo is set to ROUTE_CONFIGURATION, or "
        "HTTP_ROUTE.",
        envoy_filter("lua", "ROUTE_CONFIGURATION", "REMOVE"),
        envoy_filter("lua", "HTTP_FILTER", "REMOVE", priority=10),
    ),
    Case(
        "IST0155",
        Level.WARNING,
        "EnvoyFilter default/lua-b",
        "This EnvoyFilter does not have a priority and has a relative patch operation "
        "(NSTERT_BEFORE/AFTER, REPLACE, MERGE, DELETE) and proxyVersion set which can cause the "
        "EnvoyFilter not to be applied during an upgrade. Using the INSERT_FIRST or ADD option or "
        "setting the priority may help in ensuring the EnvoyFilter is applied correctly.",
        envoy_filter("lua-a", "HTTP_FILTER", "INSERT_FIRST", proxy_version="^1\\.2.*")
        + "---\n"
        + envoy_filter("lua-b", "HTTP_FILTER", "MERGE"),
        envoy_filter("lua-a", "HTTP_FILTER", "INSERT_FIRST")
        + "---\n"
        + envoy_filter("lua-b", "HTTP_FILTER", "MERGE", priority=10),
    ),
]


def _id(case: Case) -> str:
    return f"{case.code}-{case.resource.split()[0]}-{CASES.index(case)}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_positive(case: Case) -> None:
    found = [p for p in _run(case, case.positive) if str(p.ref) == case.resource]
    assert [(p.level, p.message) for p in found][:1] == [(case.level, case.message)], found
    assert found[0].source is not None and found[0].source.file == "case.yaml"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_negative(case: Case) -> None:
    assert _run(case, case.negative) == []


POD = """\
apiVersion: v1
kind: Pod
metadata: {name: ratings-0, labels: {app: ratings}}
spec:
  containers:
  - {name: app, image: ratings}
"""


def test_pod_missing_proxy_is_reported_for_running_pods_only() -> None:
    """A Pod manifest never lists the proxy (injection adds it), so IST0103 needs the pods a
    running mesh reports (``live``), as Istio reads them from a cluster."""
    from sailmesh.config.analysis.run import analyze
    from sailmesh.config.load import load_text

    text = namespace("default", "istio-injection: enabled") + "---\n" + POD
    resources = load_text(text, "live.yaml").resources
    (p,) = of(analyze(resources, live=True), "IST0103")
    assert (p.level, str(p.ref), p.message) == (
        Level.WARNING,
        "Pod default/ratings-0",
        "The pod default/ratings-0 is missing the Istio proxy. This can often be resolved by "
        "restarting or redeploying the workload.",
    )
    assert of(analyze(resources), "IST0103") == []
    with_proxy = text.replace(
        "  - {name: app, image: ratings}\n",
        "  - {name: app, image: r}\n  - {name: istio-proxy, image: envoy}\n",
    )
    assert of(analyze(load_text(with_proxy, "live.yaml").resources, live=True), "IST0103") == []
