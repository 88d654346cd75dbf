"""Every complete YAML document in the seed documents, with its verdict.

A document is complete when it has ``apiVersion`` and ``kind``. Documents valid for today's Istio
must load without errors; the others (fields placed where Istio has none, missing names, ...)
must be rejected with a problem naming the exact field and saying how to fix it. The table
lists each document by seed file, the line its document starts on, kind and name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from sailmesh.config.diagnostics import Level
from sailmesh.config.parse import parse_document
from sailmesh.config.yamlsource import YamlDocument, read_text

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)

ACCEPT = "accept"
# Rejections: {field path: fragment of the message that says how to fix it}
Rejection = dict[str, str]

EXPECTED: dict[tuple[str, int, str, str | None], str | Rejection] = {
    ("001", 51, "IstioOperator", "control-plane"): ACCEPT,
    ("001", 123, "Gateway", "my-app-gateway"): ACCEPT,
    ("001", 155, "VirtualService", "my-app-vs"): ACCEPT,
    ("001", 211, "DestinationRule", "my-app-dr"): {
        "spec.trafficPolicy.connectionPool.http.consecutiveGatewayErrors": "belongs under spec.trafficPolicy.outlierDetection.consecutiveGatewayErrors",
        "spec.trafficPolicy.connectionPool.http.interval": "belongs under spec.trafficPolicy.outlierDetection.interval",
        "spec.trafficPolicy.connectionPool.http.baseEjectionTime": "belongs under spec.trafficPolicy.outlierDetection.baseEjectionTime",
        "spec.trafficPolicy.connectionPool.http.maxEjectionPercent": "belongs under spec.trafficPolicy.outlierDetection.maxEjectionPercent",
    },
    ("001", 266, "ServiceEntry", "external-api"): ACCEPT,
    ("001", 286, "PeerAuthentication", "default"): ACCEPT,
    ("001", 295, "AuthorizationPolicy", "my-app-authz"): ACCEPT,
    ("001", 325, "VirtualService", "my-app-fault-injection"): ACCEPT,
    ("001", 363, "DestinationRule", "my-app-circuit-breaker"): {
        "spec.trafficPolicy.connectionPool.http.consecutiveGatewayErrors": "belongs under spec.trafficPolicy.outlierDetection.consecutiveGatewayErrors",
        "spec.trafficPolicy.connectionPool.http.interval": "belongs under spec.trafficPolicy.outlierDetection.interval",
        "spec.trafficPolicy.connectionPool.http.baseEjectionTime": "belongs under spec.trafficPolicy.outlierDetection.baseEjectionTime",
        "spec.trafficPolicy.connectionPool.http.maxEjectionPercent": "belongs under spec.trafficPolicy.outlierDetection.maxEjectionPercent",
    },
    ("001", 397, "Telemetry", "my-app-telemetry"): {
        "spec.tracing[1].overrides": "spec.metrics[].overrides",
    },
    ("001", 469, "PeerAuthentication", "default"): ACCEPT,
    # The "best practices" snippets leave out metadata entirely: kubectl refuses nameless objects.
    ("001", 481, "DestinationRule", None): {
        "metadata.name": "every object needs a name",
        "spec.host": "the service host this rule applies to",
    },
    ("001", 495, "Telemetry", None): {"metadata.name": "every object needs a name"},
    ("001", 545, "VirtualService", None): {"metadata.name": "every object needs a name"},
    ("002", 173, "VirtualService", "reviews"): ACCEPT,
    ("002", 214, "DestinationRule", "reviews"): ACCEPT,
    ("002", 242, "Gateway", "bookinfo-gateway"): ACCEPT,
    ("002", 300, "PeerAuthentication", "default"): ACCEPT,
    ("002", 317, "AuthorizationPolicy", "productpage-policy"): ACCEPT,
    ("002", 353, "Telemetry", "mesh-default"): ACCEPT,
    ("002", 404, "DestinationRule", "circuit-breaker"): ACCEPT,
    ("002", 432, "VirtualService", "reviews"): ACCEPT,
    ("002", 454, "VirtualService", "reviews"): ACCEPT,
    ("002", 482, "VirtualService", "ratings"): ACCEPT,
    ("002", 506, "VirtualService", "reviews"): ACCEPT,  # mirrorPercent: accepted, deprecated
    ("002", 530, "AuthorizationPolicy", "rate-limit"): ACCEPT,
    ("002", 613, "VirtualService", "product-api"): ACCEPT,
    ("002", 635, "PeerAuthentication", "cart-mtls"): ACCEPT,
    ("002", 648, "AuthorizationPolicy", "product-api-rate-limit"): ACCEPT,
    ("003", 90, "IstioOperator", "control-plane"): ACCEPT,
    ("003", 150, "Namespace", "production"): ACCEPT,
    ("003", 158, "Deployment", "payment-service"): ACCEPT,
    ("003", 192, "Deployment", "special-service"): {
        "spec.selector": "spec.selector.matchLabels",
    },
    ("003", 223, "Gateway", "ecommerce-gateway"): {
        "spec.servers[1].redirect": "tls: {httpsRedirect: true}",
    },
    ("003", 253, "VirtualService", "ecommerce-routes"): ACCEPT,
    ("003", 295, "DestinationRule", "payment-service-policies"): {
        "spec.trafficPolicy.connectionPool.tcp.keepAlive": "tcpKeepalive",
    },
    ("003", 345, "VirtualService", "payment-service-canary"): ACCEPT,
    ("003", 389, "AuthorizationPolicy", "deny-all-default"): ACCEPT,
    ("003", 400, "AuthorizationPolicy", "payment-service-access"): ACCEPT,
    ("003", 431, "PeerAuthentication", "default-mtls"): ACCEPT,
    ("003", 441, "PeerAuthentication", "payment-service-mtls"): ACCEPT,
    ("003", 463, "RequestAuthentication", "jwt-validation"): ACCEPT,
    ("003", 481, "AuthorizationPolicy", "payment-service-jwt-authz"): ACCEPT,
    ("003", 513, "Telemetry", "default-tracing"): {
        "spec.tracing[2].sampling": "randomSamplingPercentage",
    },
    ("003", 536, "Telemetry", "payment-metrics"): {
        "spec.metrics[2].overrides[0].match.metric": "REQUEST_COUNT",
        "spec.metrics[2].overrides[0].dimensions": "tagOverrides",
    },
    ("003", 573, "ConfigMap", "datadog-config"): ACCEPT,
    ("003", 650, "IstioOperator", "primary-cluster"): ACCEPT,
    ("003", 665, "ServiceEntry", "payment-service-remote"): {
        "spec.endpoints[0].port": "ports: {http: 8080}",
    },
    ("003", 704, "ConfigMap", "istio-proxy-config"): ACCEPT,
}


@dataclass(frozen=True)
class SeedDocument:
    seed: str
    line: int
    document: YamlDocument

    @property
    def key(self) -> tuple[str, int, str, str | None]:
        data = self.document.data
        return (self.seed, self.line, data["kind"], (data.get("metadata") or {}).get("name"))


def seed_documents() -> list[SeedDocument]:
    found = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for block in FENCE.finditer(text):
            first_line = text[: block.start()].count("\n") + 1  # the fence line
            docs, errors = read_text(block.group(2), f"{path.name}:{first_line}")
            if errors:
                continue  # not YAML (shell, prose): nothing to load
            for doc in docs:
                if isinstance(doc.data, dict) and "apiVersion" in doc.data and "kind" in doc.data:
                    found.append(SeedDocument(path.name[:3], first_line + doc.line, doc))
    return found


DOCUMENTS = seed_documents()


def test_table_lists_every_complete_seed_document() -> None:
    assert SEEDS.is_dir(), f"seed documents not found at {SEEDS}"
    assert sorted(d.key for d in DOCUMENTS) == sorted(EXPECTED), "seed documents changed"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda d: "-".join(str(k) for k in d.key))
def test_seed_document_verdict(doc: SeedDocument) -> None:
    expected = EXPECTED[doc.key]
    resource, problems = parse_document(doc.document)
    errors = {p.path: p.message for p in problems if p.level is Level.ERROR}
    if expected == ACCEPT:
        assert resource is not None and not errors, errors
        return
    assert resource is None, "an invalid document must be rejected"
    assert isinstance(expected, dict)
    assert set(errors) == set(expected), errors
    for path, fragment in expected.items():
        assert fragment in errors[path], (path, errors[path])
    for p in problems:
        assert p.ref is not None and p.source is not None and p.source.line >= 1
