"""Table tests of the small pieces: names, domains, retry policies, policy precedence."""

from __future__ import annotations

import pytest
import xds_fixtures as fx

from sailmesh.registry.model import Service, ServicePort
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.xds import names
from sailmesh.xds.policy import effective_policy
from sailmesh.xds.route_actions import fraction, retry_policy
from sailmesh.xds.routes import service_domains


def test_names() -> None:
    assert names.outbound_cluster(9080, "v1", "reviews.default.svc.cluster.local") == (
        "outbound|9080|v1|reviews.default.svc.cluster.local"
    )
    assert names.inbound_cluster(9080) == "inbound|9080||"
    assert names.listener_name("0.0.0.0", 9080) == "0.0.0.0_9080"
    assert names.virtual_host("reviews.default.svc.cluster.local", 9080) == (
        "reviews.default.svc.cluster.local:9080"
    )
    assert names.parse_cluster("outbound|9080||a.b") == ("outbound", 9080, "", "a.b")
    assert names.parse_cluster("PassthroughCluster") is None
    assert names.kind_path_segment("VirtualService") == "virtual-service"
    assert names.kind_path_segment("DestinationRule") == "destination-rule"
    (vs,) = fx.config(
        "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\n"
        "metadata: {name: reviews, namespace: ns1}\n"
        "spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}}]}]}\n"
    )
    assert names.config_path(vs) == (
        "/apis/networking.istio.io/v1alpha3/namespaces/ns1/virtual-service/reviews"
    )


SVC = Service(
    hostname="reviews.default.svc.cluster.local",
    namespace="default",
    ports=(ServicePort("http", 9080, "HTTP"),),
    vip="10.96.0.13",
    name="reviews",
)


@pytest.mark.parametrize(
    ("namespace", "explicit", "expected"),
    [
        (
            "default",
            False,
            [
                "reviews.default.svc.cluster.local",
                "reviews",
                "reviews.default.svc",
                "reviews.default",
                "10.96.0.13",
            ],
        ),
        (
            "other",
            True,
            [
                "reviews.default.svc.cluster.local:9080",
                "reviews.default.svc:9080",
                "reviews.default:9080",
                "10.96.0.13:9080",
            ],
        ),
    ],
)
def test_domains(namespace: str, explicit: bool, expected: list[str]) -> None:
    assert service_domains(SVC, 9080, namespace, explicit) == expected


def test_external_host_domains() -> None:
    ext = Service(hostname="api.example.com", namespace="default", ports=())
    assert service_domains(ext, 443, "default", False) == ["api.example.com"]
    assert service_domains(ext, 443, "default", True) == ["api.example.com:443"]


def test_retry_policies() -> None:
    (vs,) = fx.config(
        """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r}
spec:
  hosts: [r]
  http:
  - retries: {attempts: 4, perTryTimeout: 1.5s, retryOn: "gateway-error,429,503"}
    route: [{destination: {host: r}}]
  - retries: {attempts: 0}
    route: [{destination: {host: r}}]
  - retries: {attempts: 1, retryIgnorePreviousHosts: false}
    route: [{destination: {host: r}}]
"""
    )
    mesh = MeshConfig()
    custom = retry_policy(vs.spec.http[0].retries, mesh)
    assert custom is not None
    assert custom.num_retries.value == 4
    assert custom.retry_on == "gateway-error,retriable-status-codes"
    assert list(custom.retriable_status_codes) == [429, 503]
    assert (custom.per_try_timeout.seconds, custom.per_try_timeout.nanos) == (1, 500_000_000)
    assert retry_policy(vs.spec.http[1].retries, mesh) is None
    no_predicate = retry_policy(vs.spec.http[2].retries, mesh)
    assert no_predicate is not None and not no_predicate.retry_host_predicate
    default = retry_policy(None, mesh)
    assert default is not None and list(default.retriable_status_codes) == [503]


def test_fraction_is_in_millionths() -> None:
    assert fraction(0.5).numerator == 5_000
    assert fraction(100).numerator == 1_000_000
    assert fraction(250).numerator == 1_000_000


def test_policy_precedence() -> None:
    (dr,) = fx.config(
        """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec:
  host: r
  trafficPolicy:
    loadBalancer: {simple: RANDOM}
    connectionPool: {tcp: {maxConnections: 5}}
    portLevelSettings:
    - port: {number: 80}
      loadBalancer: {simple: ROUND_ROBIN}
  subsets:
  - name: a
    labels: {v: a}
    trafficPolicy:
      connectionPool: {tcp: {maxConnections: 7}}
      portLevelSettings:
      - port: {number: 80}
        loadBalancer: {simple: LEAST_REQUEST}
"""
    )
    top_other_port = effective_policy(dr, "", 81)
    assert top_other_port.load_balancer.simple == "RANDOM"
    top_80 = effective_policy(dr, "", 80)
    assert top_80.load_balancer.simple == "ROUND_ROBIN"
    assert top_80.connection_pool.tcp.max_connections == 5  # inherited
    sub_80 = effective_policy(dr, "a", 80)
    assert sub_80.load_balancer.simple == "LEAST_REQUEST"
    assert sub_80.connection_pool.tcp.max_connections == 7
    assert effective_policy(dr, "a", 81).load_balancer.simple == "RANDOM"
