"""Every AuthorizationPolicy example of the seed documents, applied as written, on real traffic:
what each allows is answered, what it must refuse is refused (403).

The mesh (netns mode, one per module) has the workloads the examples name: ``product-api``,
``productpage`` and ``my-app`` in ``default``; ``payment-service`` and ``inventory`` in
``production``; callers with the service accounts the examples allow (``my-app-sa``,
``bookinfo-productpage``, ``order-service``), one in ``monitoring``, one with an unrelated
account; and the ingress gateway (service account ``istio-ingressgateway-service-account``)
routing to ``payment-service``. Sidecars talk mutual TLS (auto mTLS), so servers see their
callers' SPIFFE identities.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from authz_world import gateway, start
from runtime_e2e import skip_unless_netns

from e2e_support.authz_mesh import Policies, client, expect, namespace, pod, server
from e2e_support.localmesh import LocalMeshThread
from e2e_support.probes import Request, statuses
from e2e_support.seed_docs import seed_yaml

pytestmark = pytest.mark.e2e

skip_unless_netns()

GATEWAY_TO_PAYMENT = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: payment, namespace: production}
spec:
  hosts: ["*"]
  gateways: [istio-system/shop]
  http: [{route: [{destination: {host: payment-service.production.svc.cluster.local, port: {number: 80}}}]}]
"""


def manifests() -> str:
    return "\n---\n".join(
        [
            namespace("default"),
            namespace("production"),
            namespace("monitoring"),
            server("product-api", "default"),
            server("productpage", "default"),
            server("my-app", "default"),
            server("payment-service", "production"),
            server("inventory", "production"),
            client("my-app-client", "default", "my-app-sa"),
            client("productpage-client", "default", "bookinfo-productpage"),
            client("other", "default", "someone-else"),
            client("order-service", "production", "order-service"),
            client("scraper", "monitoring"),
            GATEWAY_TO_PAYMENT,
        ]
    )


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    yield from start(tmp_path_factory.mktemp("sailmesh-home"), manifests())


OPEN = [
    ("default", "other", "product-api.default/"),
    ("default", "other", "productpage.default/"),
    ("default", "other", "my-app.default/"),
    ("default", "other", "payment-service.production/"),
    ("default", "other", "inventory.production/"),
]


@pytest.fixture
def policies(mesh: LocalMeshThread) -> Iterator[Policies]:
    caller = pod(mesh, "default", "other")

    def opened() -> bool:
        asked = [Request(url) for _, _, url in OPEN]
        return set(statuses(caller, *asked)) == {200}

    applied = Policies(mesh, opened)
    try:
        yield applied
    finally:
        applied.clear()


def ask(mesh: LocalMeshThread, calls: list[tuple[str, str, Request]]) -> list[int | str]:
    """Each ``(namespace, client deployment, request)``'s status, in order."""
    return [statuses(pod(mesh, ns, name), request)[0] for ns, name, request in calls]


def test_product_api_rate_limit_needs_a_user_id_on_gets(
    mesh: LocalMeshThread, policies: Policies
) -> None:
    """Seed 002 ``product-api-rate-limit`` (namespace left out: ``default``)."""
    policies.apply(seed_yaml("AuthorizationPolicy", "product-api-rate-limit"))
    user = {"x-user-id": "u-42"}
    calls = [
        ("default", "other", Request("product-api.default/products", headers=user)),
        ("default", "other", Request("product-api.default/products")),
        ("default", "other", Request("product-api.default/products", "POST", headers=user)),
        ("default", "other", Request("productpage.default/products")),  # not selected
    ]
    expect(lambda: ask(mesh, calls), [200, 403, 403, 200])


def test_my_app_authz_allows_its_service_account_and_monitoring(
    mesh: LocalMeshThread, policies: Policies
) -> None:
    """Seed 001 ``my-app-authz``: my-app-sa may GET/POST /api/*, namespace monitoring may GET
    /metrics and /health; nothing else."""
    policies.apply(seed_yaml("AuthorizationPolicy", "my-app-authz"))
    calls = [
        ("default", "my-app-client", Request("my-app.default/api/orders")),
        ("default", "my-app-client", Request("my-app.default/api/orders", "POST")),
        ("default", "my-app-client", Request("my-app.default/api/orders", "DELETE")),
        ("default", "my-app-client", Request("my-app.default/metrics")),
        ("monitoring", "scraper", Request("my-app.default/metrics")),
        ("monitoring", "scraper", Request("my-app.default/health")),
        ("monitoring", "scraper", Request("my-app.default/metrics", "POST")),
        ("monitoring", "scraper", Request("my-app.default/api/orders")),
        ("default", "other", Request("my-app.default/api/orders")),
        ("default", "other", Request("my-app.default/health")),
    ]
    expect(lambda: ask(mesh, calls), [200, 200, 403, 403, 200, 200, 403, 403, 403, 403])


def test_productpage_policy_allows_product_reads_by_productpage_only(
    mesh: LocalMeshThread, policies: Policies
) -> None:
    """Seed 002 ``productpage-policy``: bookinfo-productpage may GET /api/v1/products*."""
    policies.apply(seed_yaml("AuthorizationPolicy", "productpage-policy"))
    calls = [
        ("default", "productpage-client", Request("productpage.default/api/v1/products")),
        ("default", "productpage-client", Request("productpage.default/api/v1/products/1")),
        ("default", "productpage-client", Request("productpage.default/api/v1/products", "POST")),
        ("default", "productpage-client", Request("productpage.default/productpage")),
        ("default", "other", Request("productpage.default/api/v1/products")),
    ]
    expect(lambda: ask(mesh, calls), [200, 200, 403, 403, 403])


def test_production_deny_all_with_explicit_payment_access(
    mesh: LocalMeshThread, policies: Policies
) -> None:
    """Seed 003 ``deny-all-default`` then ``payment-service-access``: in ``production`` nothing
    is allowed but order-service's POST to /api/v1/process-payment and the ingress gateway's
    GET of /health and /ready."""
    policies.apply(seed_yaml("AuthorizationPolicy", "deny-all-default"))
    denied = [
        ("production", "order-service", Request("payment-service.production/api/v1/process-payment", "POST")),
        ("production", "order-service", Request("inventory.production/items")),
        ("default", "other", Request("payment-service.production/health")),
    ]  # fmt: skip
    expect(lambda: ask(mesh, denied), [403, 403, 403])
    policies.apply(seed_yaml("AuthorizationPolicy", "payment-service-access"))
    via = gateway(mesh)
    calls = [
        ("production", "order-service", Request("payment-service.production/api/v1/process-payment", "POST")),
        ("production", "order-service", Request("payment-service.production/api/v1/process-payment")),
        ("production", "order-service", Request("payment-service.production/health")),
        ("production", "order-service", Request("inventory.production/items")),
        ("default", "other", Request("payment-service.production/api/v1/process-payment", "POST")),
        ("default", "other", Request("payment-service.production/health")),
        ("default", "other", Request(f"{via}/health")),
        ("default", "other", Request(f"{via}/ready")),
        ("default", "other", Request(f"{via}/health", "POST")),
        ("default", "other", Request(f"{via}/api/v1/process-payment", "POST")),
    ]  # fmt: skip
    expect(lambda: ask(mesh, calls), [200, 403, 403, 403, 403, 403, 200, 200, 403, 403])
