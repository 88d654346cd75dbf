"""Istio's bookinfo / task YAML and the networking examples of the seed documents.

Valid Istio must load without errors; the seed snippets that put fields where Istio has none
must be rejected naming that field.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sailmesh.config.diagnostics import Level
from sailmesh.config.load import load_text

BOOKINFO_GATEWAY = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: bookinfo-gateway
spec:
  selector:
    istio: ingressgateway # use istio default controller
  servers:
  - port:
      number: 8080
      name: http
      protocol: HTTP
    hosts:
    - "*"
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: bookinfo
spec:
  hosts:
  - "*"
  gateways:
  - bookinfo-gateway
  http:
  - match:
    - uri:
        exact: /productpage
    - uri:
        prefix: /static
    - uri:
        exact: /login
    - uri:
        exact: /logout
    - uri:
        prefix: /api/v1/products
    route:
    - destination:
        host: productpage
        port:
          number: 9080
"""

DESTINATION_RULE_ALL = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: productpage
spec:
  host: productpage
  subsets:
  - name: v1
    labels:
      version: v1
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
  - name: v3
    labels:
      version: v3
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ratings
spec:
  host: ratings
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
  - name: v2-mysql
    labels:
      version: v2-mysql
  - name: v2-mysql-vm
    labels:
      version: v2-mysql-vm
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: details
spec:
  host: details
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
"""

VIRTUAL_SERVICE_ALL_V1 = "\n---\n".join(
    f"""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {name}
spec:
  hosts:
  - {name}
  http:
  - route:
    - destination:
        host: {name}
        subset: v1
"""
    for name in ("productpage", "reviews", "ratings", "details")
)

REVIEWS_50_V3 = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
    - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 50
    - destination:
        host: reviews
        subset: v3
      weight: 50
"""

REVIEWS_V3 = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
    - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: v3
"""

REVIEWS_TEST_V2 = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
    - reviews
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: reviews
        subset: v2
  - route:
    - destination:
        host: reviews
        subset: v1
"""


def ratings_fault_for_jason(fault: str) -> str:
    """Istio's ratings-test-delay/abort samples: ``fault`` for user jason, ratings v1 for all."""
    return f"""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts:
  - ratings
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    fault:
{fault}    route:
    - destination:
        host: ratings
        subset: v1
  - route:
    - destination:
        host: ratings
        subset: v1
"""


RATINGS_TEST_DELAY = ratings_fault_for_jason("""\
      delay:
        percentage:
          value: 100.0
        fixedDelay: 7s
""")

RATINGS_TEST_ABORT = ratings_fault_for_jason("""\
      abort:
        percentage:
          value: 100.0
        httpStatus: 500
""")

TIMEOUTS_TASK = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ratings
spec:
  hosts:
  - ratings
  http:
  - fault:
      delay:
        percentage:
          value: 100
        fixedDelay: 2s
    route:
    - destination:
        host: ratings
        subset: v1
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: v2
    timeout: 0.5s
"""

CIRCUIT_BREAKING_TASK = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: httpbin
spec:
  host: httpbin
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: 1
      http:
        http1MaxPendingRequests: 1
        maxRequestsPerConnection: 1
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 3m
      maxEjectionPercent: 100
"""

MIRRORING_AND_EGRESS_TASKS = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: httpbin
spec:
  hosts:
  - httpbin
  http:
  - route:
    - destination:
        host: httpbin
        subset: v1
      weight: 100
    mirror:
      host: httpbin
      subset: v2
    mirrorPercentage:
      value: 100.0
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: httpbin-ext
spec:
  hosts:
  - httpbin.org
  ports:
  - number: 80
    name: http
    protocol: HTTP
  resolution: DNS
  location: MESH_EXTERNAL
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: mygateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 443
      name: https
      protocol: HTTPS
    tls:
      mode: SIMPLE
      credentialName: httpbin-credential
    hosts:
    - httpbin.example.com
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: tcp-echo-gateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 31400
      name: tcp
      protocol: TCP
    hosts:
    - "*"
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: tcp-echo
spec:
  hosts:
  - "*"
  gateways:
  - tcp-echo-gateway
  tcp:
  - match:
    - port: 31400
    route:
    - destination:
        host: tcp-echo
        port:
          number: 9000
        subset: v1
      weight: 80
    - destination:
        host: tcp-echo
        port:
          number: 9000
        subset: v2
      weight: 20
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  namespace: istio-config
spec:
  egress:
  - hosts:
    - "./*"
    - "istio-system/*"
  outboundTrafficPolicy:
    mode: REGISTRY_ONLY
"""

ISTIO_SAMPLES = {
    "bookinfo-gateway": (BOOKINFO_GATEWAY, 2),
    "destination-rule-all": (DESTINATION_RULE_ALL, 4),
    "virtual-service-all-v1": (VIRTUAL_SERVICE_ALL_V1, 4),
    "virtual-service-reviews-50-v3": (REVIEWS_50_V3, 1),
    "virtual-service-reviews-v3": (REVIEWS_V3, 1),
    "virtual-service-reviews-test-v2": (REVIEWS_TEST_V2, 1),
    "virtual-service-ratings-test-delay": (RATINGS_TEST_DELAY, 1),
    "virtual-service-ratings-test-abort": (RATINGS_TEST_ABORT, 1),
    "request-timeouts": (TIMEOUTS_TASK, 2),
    "circuit-breaking": (CIRCUIT_BREAKING_TASK, 1),
    "mirroring-egress-ingress-tcp": (MIRRORING_AND_EGRESS_TASKS, 6),
}


@pytest.mark.parametrize(
    ("text", "count"), [pytest.param(t, c, id=n) for n, (t, c) in ISTIO_SAMPLES.items()]
)
def test_istio_samples_load(text: str, count: int) -> None:
    result = load_text(text)
    assert result.problems == []
    assert len(result.resources) == count


def test_reviews_test_v2_typed() -> None:
    resource = load_text(REVIEWS_TEST_V2).resources[0]
    first = resource.spec.http[0]
    assert first.match[0].headers["end-user"].exact == "jason"
    assert first.route[0].destination.subset == "v2"


# --- seed documents (copied here; checked against the originals when they are present) -----

SEED_VALID = {
    "gateway-https-redirect": """
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: my-app-gateway
  namespace: default
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - my-app.example.com
    tls:
      httpsRedirect: true
  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - my-app.example.com
    tls:
      mode: SIMPLE
      credentialName: my-app-tls
""",
    "vs-retries": """
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: my-app-vs
  namespace: default
spec:
  hosts:
  - my-app.example.com
  gateways:
  - my-app-gateway
  http:
  - match:
    - uri:
        prefix: /api/v1
    route:
    - destination:
        host: my-app-service
        port:
          number: 80
        subset: v1
    timeout: 30s
    retries:
      attempts: 3
      perTryTimeout: 2s
      retryOn: 5xx,reset,connect-failure,refused-stream
  - route:
    - destination:
        host: my-app-service
        port:
          number: 80
        subset: v1
""",
    "serviceentry": """
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: external-api
  namespace: default
spec:
  hosts:
  - api.external-service.com
  ports:
  - number: 443
    name: https
    protocol: HTTPS
  location: MESH_EXTERNAL
  resolution: DNS
""",
    "fault-injection": """
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: my-app-fault-injection
  namespace: default
spec:
  hosts:
  - my-app-service
  http:
  - match:
    - headers:
        test:
          exact: "fault"
    fault:
      delay:
        percentage:
          value: 100
        fixedDelay: 5s
      abort:
        percentage:
          value: 100
        httpStatus: 503
    route:
    - destination:
        host: my-app-service
        port:
          number: 80
  - route:
    - destination:
        host: my-app-service
        port:
          number: 80
""",
    "mirror-percent": """
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: 100
    mirror:
      host: reviews
      subset: v2
    mirrorPercent: 10
""",
    "dr-reviews": """
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
    connectionPool:
      tcp:
        maxConnections: 100
      http:
        http1MaxPendingRequests: 1024
        maxRequestsPerConnection: 10
    outlierDetection:
      consecutive5xxErrors: 5
      interval: 10s
      baseEjectionTime: 30s
""",
    "canary-with-fault": """
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: payment-service-canary
  namespace: production
spec:
  hosts:
  - payment-service
  http:
  - match:
    - headers:
        x-canary-user:
          exact: "true"
    route:
    - destination:
        host: payment-service
        subset: canary
  - match:
    - uri:
        prefix: /api/payments
    route:
    - destination:
        host: payment-service
        subset: stable
      weight: 95
    - destination:
        host: payment-service
        subset: canary
      weight: 5
    fault:
      delay:
        percentage:
          value: 0.1  # 0.1% of requests
        fixedDelay: 5s
""",
}

SEED_INVALID = {
    # outlier-detection fields written under connectionPool.http
    "dr-outlier-in-pool": (
        """
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: my-app-circuit-breaker
spec:
  host: my-app-service
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: 10
      http:
        http1MaxPendingRequests: 10
        maxRequestsPerConnection: 2
        h2UpgradePolicy: UPGRADE
        maxRetries: 3
        consecutiveGatewayErrors: 5
        interval: 30s
    loadBalancer:
      simple: LEAST_CONN
""",
        {
            "spec.trafficPolicy.connectionPool.http.consecutiveGatewayErrors",
            "spec.trafficPolicy.connectionPool.http.interval",
        },
    ),
    # Gateway servers have no `redirect`; httpsRedirect belongs under tls
    "gateway-redirect": (
        """
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata:
  name: ecommerce-gateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - api.ecommerce.com
    redirect:
      httpsRedirect: true
""",
        {"spec.servers[0].redirect"},
    ),
    # tcp keepalive is `tcpKeepalive`
    "dr-keepalive": (
        """
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: payment-service-policies
spec:
  host: payment-service
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: 100
        connectTimeout: 30s
        keepAlive:
          time: 7200s
          interval: 75s
""",
        {"spec.trafficPolicy.connectionPool.tcp.keepAlive"},
    ),
    # WorkloadEntry has `ports` (a map), not `port`
    "se-endpoint-port": (
        """
apiVersion: networking.istio.io/v1alpha3
kind: ServiceEntry
metadata:
  name: payment-service-remote
spec:
  hosts:
  - payment-service.production.remote
  location: MESH_EXTERNAL
  ports:
  - number: 8080
    name: http
    protocol: HTTP
  resolution: DNS
  addresses:
  - 240.0.0.1
  endpoints:
  - address: payment-service.production.svc.cluster.remote
    port: 8080
""",
        {"spec.endpoints[0].port"},
    ),
    # the interview snippet has no metadata (without hosts it would be a delegate VS)
    "vs-without-metadata": (
        """
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
spec:
  http:
  - route:
    - destination:
        host: my-app-service
        subset: v1
""",
        {"metadata"},
    ),
}


@pytest.mark.parametrize("text", [pytest.param(t, id=n) for n, t in SEED_VALID.items()])
def test_seed_valid(text: str) -> None:
    result = load_text(text)
    assert [p for p in result.problems if p.level is Level.ERROR] == []
    assert len(result.resources) == 1


def test_seed_least_conn_and_mirror_percent_warn() -> None:
    result = load_text(SEED_VALID["mirror-percent"])
    assert [p.path for p in result.problems] == ["spec.http[0].mirrorPercent"]


@pytest.mark.parametrize(
    ("text", "paths"), [pytest.param(t, p, id=n) for n, (t, p) in SEED_INVALID.items()]
)
def test_seed_invalid(text: str, paths: set[str]) -> None:
    result = load_text(text)
    assert not result.resources
    errors = {p.path for p in result.problems if p.level is Level.ERROR}
    assert all(any(e.startswith(path) for e in errors) for path in paths), errors
    assert all(any(e.startswith(path) for path in paths) for e in errors), errors


SEEDS = Path(__file__).resolve().parents[4] / "shared" / "seeds"
_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)


def _seed_blocks() -> list[tuple[str, str]]:
    if not SEEDS.is_dir():
        return []
    blocks = []
    for path in sorted(SEEDS.glob("*.txt")):
        for i, block in enumerate(_BLOCK.findall(path.read_text(encoding="utf-8"))):
            if "networking.istio.io" in block and "metadata:" in block:
                blocks.append((f"{path.stem[:3]}-{i}", block))
    return blocks


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed documents not present")
def test_seed_documents_networking_problems_are_the_known_ones() -> None:
    """Every networking error in the seeds is one of the known misplaced or missing fields."""
    known_suffixes = (
        "connectionPool.http.consecutiveGatewayErrors",
        "connectionPool.http.interval",
        "connectionPool.http.baseEjectionTime",
        "connectionPool.http.maxEjectionPercent",
        "servers[1].redirect",
        "connectionPool.tcp.keepAlive",
        "endpoints[0].port",
    )
    for name, block in _seed_blocks():
        result = load_text(block, file=name)
        for problem in result.problems:
            if (
                problem.level is Level.ERROR
                and problem.ref
                and problem.ref.kind
                in ("VirtualService", "DestinationRule", "Gateway", "ServiceEntry")
            ):
                assert problem.path.endswith(known_suffixes), str(problem)
