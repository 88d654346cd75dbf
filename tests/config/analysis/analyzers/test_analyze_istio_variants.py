"""More rows of Istio's analysis messages, for the variants Istio's analyzers special-case: a
Sidecar selecting an ambient pod (IST0167), a load-time schema warning (IST0133), a gateway
selector that is a subset of another's (IST0145, with and without known workloads) and the
Services the port-name analyzer leaves alone (IST0118: system namespaces, the control
plane's ``istio`` and ``release: istio`` labels, Kubernetes Gateway Services). Each row: a
positive input (code, level, resource, message) and a negative one (no message of that code),
shaped like Istio's test inputs (no namespace means ``default``)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from config_support.analysis_inputs import (
    REVIEWS_SERVICE,
    REVIEWS_V1,
    analyze_text,
    documents,
    ingress_gateway_service,
    of,
)
from config_support.manifests import manifests
from sailmesh.config.diagnostics import Level

GATEWAY_POD_LABELS = "istio: ingressgateway, app: istio-ingressgateway"
TWO_LABEL_GATEWAY = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: ingressgateway, namespace: istio-system}}
spec:
  selector: {{matchLabels: {{istio: ingressgateway}}}}
  template:
    metadata: {{labels: {{{GATEWAY_POD_LABELS}}}}}
    spec: {{containers: [{{name: istio-proxy, image: auto}}]}}
"""
PLATFORM = documents(
    REVIEWS_SERVICE,
    REVIEWS_V1,
    TWO_LABEL_GATEWAY,
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


def gateway(name: str, selector: str) -> str:
    return (
        f"Gateway {name}\n  selector: {{{selector}}}\n  servers:\n"
        "  - port: {number: 8080, name: http, protocol: HTTP}\n    hosts: [shop.example.com]\n"
    )


CONFLICT = (
    "Conflict with gateways default/gw-b (workload selector istio=ingressgateway, port 8080, "
    "hosts shop.example.com)."
)


def service(meta: str, namespace: str = "") -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    return (
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: legacy{ns}{meta}}}\n"
        "spec:\n  selector: {app: legacy}\n  ports: [{name: web, port: 80, targetPort: 8080}]\n"
    )


PORT_NAME = (
    "Port name web (port: 80, targetPort: 8080) doesn't follow the naming convention of Istio port."
)


def ambient_app(mode: str) -> str:
    """A Deployment ``ratings`` whose pods carry ``istio.io/dataplane-mode: <mode>``."""
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ratings}\nspec:\n"
        "  selector: {matchLabels: {app: ratings}}\n  template:\n"
        f"    metadata: {{labels: {{app: ratings, istio.io/dataplane-mode: {mode}}}}}\n"
        "    spec: {containers: [{name: app, image: ratings}]}\n"
    )


RATINGS_SIDECAR = "Sidecar ratings\n  workloadSelector: {labels: {app: ratings}}\n"
NO_IMAGE_POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: job}\n"
    "spec: {containers: [{name: job, command: [sleep, '1']%s}]}\n"
)

CASES = [
    Case(  # a pod that opted into ambient mode has no sidecar to configure
        "IST0167",
        Level.WARNING,
        "Sidecar default/ratings",
        "The policy has no impact: selected workload is in ambient mode, the policy has no impact.",
        ambient_app("ambient") + "---\n" + RATINGS_SIDECAR,
        ambient_app("none") + "---\n" + RATINGS_SIDECAR,
    ),
    Case(  # a load-time warning, as Istio's schema warnings
        "IST0133",
        Level.WARNING,
        "Pod default/job",
        "Schema validation warning: spec.containers[0].image: Kubernetes requires `image`; "
        "sailmesh runs `command`/`args` locally and ignores the image, but kubectl would reject "
        "this manifest",
        NO_IMAGE_POD % "",
        NO_IMAGE_POD % ", image: busybox",
    ),
    Case(
        "IST0145",
        Level.ERROR,
        "Gateway default/gw-a",
        CONFLICT,
        gateway("gw-a", "istio: ingressgateway") + "---\n" + gateway("gw-b", GATEWAY_POD_LABELS),
        gateway("gw-a", "istio: ingressgateway")
        + "---\n"
        + gateway("gw-b", "istio: ingressgateway, app: other-gateway"),
    ),
    Case(  # no workloads among the inputs: a selector contained in the other's conflicts
        "IST0145",
        Level.ERROR,
        "Gateway default/gw-a",
        CONFLICT,
        gateway("gw-a", "istio: ingressgateway") + "---\n" + gateway("gw-b", GATEWAY_POD_LABELS),
        gateway("gw-a", "istio: ingressgateway") + "---\n" + gateway("gw-b", "istio: egress"),
        platform="",
    ),
    *(
        Case(
            "IST0118",
            Level.INFO,
            "Service default/legacy",
            PORT_NAME,
            service(""),
            negative,
        )
        for negative in (
            service("", "kube-system"),
            service("", "kube-public"),
            service("", "kube-node-lease"),
            service("", "local-path-storage"),
            service(", labels: {istio: pilot}"),
            service(", labels: {release: istio}"),
            service(", labels: {gateway.istio.io/managed: istio.io-gateway-controller}"),
        )
    ),
]


def _run(case: Case, text: str) -> list[tuple[str, Level, str]]:
    joined = (case.platform + "---\n" if case.platform else "") + manifests(text)
    found = of(analyze_text(joined, "case.yaml"), case.code)
    return [(str(p.ref), p.level, p.message) for p in found]


def _id(case: Case) -> str:
    return f"{case.code}-{CASES.index(case)}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_positive(case: Case) -> None:
    found = [f for f in _run(case, case.positive) if f[0] == case.resource]
    assert found == [(case.resource, case.level, case.message)]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_negative(case: Case) -> None:
    assert _run(case, case.negative) == []
