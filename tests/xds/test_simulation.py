"""Simulation: a call from a workload hits listener / route config / virtual host / cluster."""

from __future__ import annotations

from collections import Counter

import pytest
import xds_fixtures as fx
from xds_cases import CASES

from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.simulate import Call, Result, missing_clusters, simulate
from sailmesh.xds.translate import translate

REVIEWS = "reviews.default.svc.cluster.local"
RATINGS = "ratings.default.svc.cluster.local"


def run(snap: MeshSnapshot, call: Call, **proxy: object) -> Result:
    resources = translate(fx.productpage_proxy(**proxy), snap)
    result = simulate(resources, call)
    assert not missing_clusters(resources, result), result
    return result


def test_default_route_without_virtual_service() -> None:
    snap = fx.snapshot([])
    result = run(snap, Call("reviews", 9080))
    assert result.listener == "0.0.0.0_9080"
    assert result.route_config == "9080"
    assert result.virtual_host == f"{REVIEWS}:9080"
    assert result.route == "default"
    assert result.cluster == f"outbound|9080||{REVIEWS}"
    retry = result.route_message.route.retry_policy
    assert retry.num_retries.value == 2
    assert retry.retry_on == (
        "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
    )
    assert retry.host_selection_retry_max_attempts == 5


@pytest.mark.parametrize(
    "host",
    [
        "reviews",
        "reviews:9080",
        "reviews.default",
        "reviews.default.svc",
        REVIEWS,
        f"{REVIEWS}:9080",
        "10.96.0.13",
        "10.96.0.13:9080",
        "REVIEWS.default",
        "reviews.default.svc:8000",  # the port in the Host header is not matched (Istio >= 1.16)
    ],
)
def test_every_name_reaches_the_service(host: str) -> None:
    snap = CASES["bookinfo_all_v1"]()
    result = run(snap, Call(host.split(":")[0], 9080, headers={":authority": host}))
    assert result.cluster == f"outbound|9080|v1|{REVIEWS}"


def test_short_name_only_from_the_same_namespace() -> None:
    snap = fx.snapshot([])
    resources = translate(fx.productpage_proxy(namespace="other", pod_name="x"), snap)
    assert simulate(resources, Call("reviews", 9080)).virtual_host == "allow_any"
    assert simulate(resources, Call("reviews.default", 9080)).virtual_host == f"{REVIEWS}:9080"


def test_all_v1() -> None:
    result = run(CASES["bookinfo_all_v1"](), Call("reviews", 9080, path="/reviews/1"))
    assert result.cluster == f"outbound|9080|v1|{REVIEWS}"
    meta = result.route_message.metadata.filter_metadata["istio"]["config"]
    assert meta == "/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews"


def test_jason_goes_to_v2_others_to_v1() -> None:
    snap = CASES["reviews_jason_v2"]()
    jason = run(snap, Call("reviews", 9080, headers={"end-user": "jason"}))
    assert jason.cluster == f"outbound|9080|v2|{REVIEWS}"
    other = run(snap, Call("reviews", 9080, headers={"end-user": "alice"}))
    assert other.cluster == f"outbound|9080|v1|{REVIEWS}"
    anonymous = run(snap, Call("reviews", 9080))
    assert anonymous.cluster == f"outbound|9080|v1|{REVIEWS}"


def test_fifty_fifty_weights() -> None:
    result = run(CASES["reviews_50_v3"](), Call("reviews", 9080))
    assert result.cluster is None
    assert Counter(dict(result.weighted)) == Counter(
        {f"outbound|9080|v1|{REVIEWS}": 50, f"outbound|9080|v3|{REVIEWS}": 50}
    )


def test_fault_injection_only_on_the_matching_route() -> None:
    from envoy.extensions.filters.http.fault.v3 import fault_pb2

    snap = CASES["ratings_fault"]()
    jason = run(snap, Call("ratings", 9080, headers={"end-user": "jason"}))
    config = jason.route_message.typed_per_filter_config["envoy.filters.http.fault"]
    fault = fault_pb2.HTTPFault()
    config.Unpack(fault)
    assert fault.delay.fixed_delay.seconds == 7
    assert fault.delay.percentage.numerator == 1_000_000
    assert fault.abort.http_status == 500
    assert fault.abort.percentage.numerator == 100_000
    other = run(snap, Call("ratings", 9080))
    assert other.cluster == f"outbound|9080|v1|{RATINGS}"
    assert "envoy.filters.http.fault" not in other.route_message.typed_per_filter_config


def test_unknown_host_allow_any_and_registry_only() -> None:
    allow = run(fx.snapshot([]), Call("example.com", 9080))
    assert (allow.virtual_host, allow.cluster) == ("allow_any", "PassthroughCluster")
    snap = CASES["registry_only"]()
    blocked = run(snap, Call("example.com", 9080))
    assert (blocked.virtual_host, blocked.direct_status) == ("block_all", 502)
    tcp = run(snap, Call("1.2.3.4", 5432, ip="1.2.3.4", protocol="tcp"))
    assert (tcp.listener, tcp.cluster) == ("virtualOutbound", "BlackHoleCluster")
    registered = run(snap, Call("httpbin.org", 80))
    assert registered.cluster == "outbound|80||httpbin.org"
    assert registered.route_message.route.timeout.seconds == 3


def test_service_entry_tls_by_sni() -> None:
    snap = CASES["service_entry_dns"]()
    result = run(snap, Call("httpbin.org", 443, ip="3.3.3.3", protocol="tls"))
    assert (result.listener, result.cluster) == ("0.0.0.0_443", "outbound|443||httpbin.org")
    other = run(snap, Call("example.org", 443, ip="4.4.4.4", protocol="tls"))
    assert other.cluster == "PassthroughCluster"


def test_match_fields_and_source_labels() -> None:
    vs = fx.resource(
        "VirtualService",
        """
hosts: [reviews]
http:
  - match: [{sourceLabels: {app: reviews}}]
    route: [{destination: {host: reviews, subset: v3}}]
  - match: [{port: 9999}]
    route: [{destination: {host: reviews, subset: v3}}]
  - match:
    - uri: {prefix: /api}
      method: {exact: POST}
      queryParams: {debug: {exact: "1"}}
    route: [{destination: {host: reviews, subset: v2}}]
  - match:
    - uri: {regex: "/items/[0-9]+"}
      ignoreUriCase: true
      withoutHeaders: {x-legacy: {}}
    route: [{destination: {host: reviews, subset: v2}, weight: 100}]
    timeout: 5s
    retries: {attempts: 0}
  - route: [{destination: {host: reviews, subset: v1}}]
""",
        name="reviews",
    )
    snap = fx.snapshot([vs, *fx.config(files=("destination-rule-all.yaml",))])
    v1, v2 = f"outbound|9080|v1|{REVIEWS}", f"outbound|9080|v2|{REVIEWS}"
    resources = translate(fx.productpage_proxy(), snap)
    vh = resources["type.googleapis.com/envoy.config.route.v3.RouteConfiguration"]["9080"]
    reviews = next(v for v in vh.virtual_hosts if v.name.startswith("reviews"))
    assert len(reviews.routes) == 3  # the sourceLabels and port routes do not apply here
    assert run(snap, Call("reviews", 9080, path="/api/x?debug=1", method="POST")).cluster == v2
    assert run(snap, Call("reviews", 9080, path="/api/x?debug=1")).cluster == v1
    items = run(snap, Call("reviews", 9080, path="/ITEMS/42"))
    assert items.cluster == v2
    assert items.route_message.route.timeout.seconds == 5
    assert not items.route_message.route.HasField("retry_policy")
    legacy = run(snap, Call("reviews", 9080, path="/items/42", headers={"x-legacy": "1"}))
    assert legacy.cluster == v1
    as_reviews = run(snap, Call("reviews", 9080), labels=fx.frozen_map({"app": "reviews"}))
    assert as_reviews.cluster == f"outbound|9080|v3|{REVIEWS}"


def test_tcp_service_with_vip_and_weighted_tcp_route() -> None:
    vs = fx.resource(
        "VirtualService",
        """
hosts: [mysql]
tcp:
- match: [{port: 3306}]
  route:
  - {destination: {host: mysql, subset: a}, weight: 90}
  - {destination: {host: mysql, subset: b}, weight: 10}
""",
        name="mysql",
    )
    mysql = fx.tcp_service("mysql", 3306, "10.96.0.30")
    snap = fx.snapshot([vs], extra_services=[mysql])
    resources = translate(fx.productpage_proxy(), snap)
    result = simulate(resources, Call("mysql", 3306, ip="10.96.0.30", protocol="tcp"))
    assert result.listener == "10.96.0.30_3306"
    assert result.weighted == [
        ("outbound|3306|a|mysql.default.svc.cluster.local", 90),
        ("outbound|3306|b|mysql.default.svc.cluster.local", 10),
    ]


def test_inbound_chains() -> None:
    snap = fx.snapshot([])
    resources = translate(fx.productpage_proxy(), snap)
    served = simulate(resources, Call("productpage", 9080, inbound=True))
    assert (served.listener, served.filter_chain) == ("virtualInbound", "0.0.0.0_9080")
    assert (served.route_config, served.cluster) == ("inbound|9080||", "inbound|9080||")
    other = simulate(resources, Call("productpage", 7777, inbound=True, protocol="tcp"))
    assert other.cluster == "InboundPassthroughCluster"
    loop = simulate(resources, Call("productpage", 15006, inbound=True, protocol="tcp"))
    assert loop.cluster == "BlackHoleCluster"
    inbound = resources["type.googleapis.com/envoy.config.listener.v3.Listener"]["virtualInbound"]
    ports = [c.filter_chain_match.destination_port.value for c in inbound.filter_chains]
    assert 9080 in ports and 15006 in ports
    assert inbound.filter_chains[-1].name == "InboundPassthroughFilterChain"
    clusters = resources["type.googleapis.com/envoy.config.cluster.v3.Cluster"]
    local = clusters["inbound|9080||"]
    assert local.upstream_bind_config.source_address.address == "127.0.0.6"
    sa = local.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address
    assert (sa.address, sa.port_value) == ("127.0.0.1", 9080)


def test_explicit_mode_routes_on_the_host_header() -> None:
    extra = fx.service("web", 80, vip="10.96.0.40", selector=False)
    snap = fx.snapshot(
        fx.config(files=("destination-rule-all.yaml", "virtual-service-reviews-test-v2.yaml")),
        extra_services=[extra],
    )
    resources = translate(fx.productpage_proxy(interception="NONE"), snap)
    names = set(resources["type.googleapis.com/envoy.config.listener.v3.Listener"])
    assert names == {"127.0.0.1_15001"}
    jason = simulate(resources, Call("reviews", 9080, headers={"end-user": "jason"}, explicit=True))
    assert jason.route_config == "http_proxy"
    assert jason.cluster == f"outbound|9080|v2|{REVIEWS}"
    web = simulate(resources, Call("web", 80, explicit=True))
    assert web.cluster == "outbound|80||web.default.svc.cluster.local"
    unknown = simulate(resources, Call("example.com", 80, explicit=True))
    assert unknown.direct_status == 502


def test_mesh_default_retry_policy_is_honoured() -> None:
    mesh = MeshConfig(default_retry_attempts=5, default_retry_on="5xx")
    result = run(fx.snapshot([], mesh=mesh), Call("reviews", 9080))
    retry = result.route_message.route.retry_policy
    assert (retry.num_retries.value, retry.retry_on) == (5, "5xx")


def test_sidecar_egress_hosts_limit_what_the_proxy_sees() -> None:
    sidecar = fx.resource(
        "Sidecar",
        """
egress:
- hosts: ["./reviews.default.svc.cluster.local"]
outboundTrafficPolicy: {mode: REGISTRY_ONLY}
""",
        name="default",
    )
    snap = fx.snapshot([sidecar])
    resources = translate(fx.productpage_proxy(), snap)
    clusters = resources["type.googleapis.com/envoy.config.cluster.v3.Cluster"]
    outbound = sorted(c for c in clusters if c.startswith("outbound|"))
    assert outbound == [f"outbound|9080||{REVIEWS}"]
    assert simulate(resources, Call("reviews", 9080)).cluster == f"outbound|9080||{REVIEWS}"
    assert simulate(resources, Call("ratings", 9080)).direct_status == 502


def test_inbound_chains_by_transport_under_peer_authentication() -> None:
    """A plaintext call reaches no chain of a STRICT port (Envoy closes it), mutual TLS does;
    PERMISSIVE takes both."""
    from mtls_world import SDS, api_proxy, snapshot

    strict = "PeerAuthentication istio-system/mesh\n  mtls: {mode: STRICT}\n"
    resources = translate(api_proxy(), snapshot(strict), options=SDS)
    plain = simulate(resources, Call("api", 8080, inbound=True))
    assert plain.error == "no filter chain"
    mutual = Call("api", 8080, inbound=True, transport="tls", alpn=("istio-peer-exchange", "istio"))
    assert simulate(resources, mutual).filter_chain == "0.0.0.0_8080_mtls"
    resources = translate(api_proxy(), snapshot(), options=SDS)
    assert simulate(resources, Call("api", 8080, inbound=True)).filter_chain == "0.0.0.0_8080"
    assert simulate(resources, mutual).filter_chain == "0.0.0.0_8080_mtls"
    tls = Call("api", 5432, inbound=True, protocol="tcp", transport="tls")
    assert simulate(resources, tls).filter_chain == "0.0.0.0_5432_tcp_tls"  # app's own TLS


MATCH_GATEWAYS = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: my-gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: other-gw, namespace: edge}
spec:
  selector: {istio: edgegateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  gateways: [my-gw, mesh, edge/other-gw]
  http:
  - match: [{gateways: [my-gw], uri: {prefix: /gw}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{gateways: [default/my-gw], headers: {x-ns-form: {exact: "1"}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{gateways: [mesh], uri: {prefix: /gw}}]
    route: [{destination: {host: reviews, subset: v3}}]
  - match: [{uri: {prefix: /any}}]
    route: [{destination: {host: reviews, subset: v3}}]
  - route: [{destination: {host: reviews, subset: v1}}]
"""


def _gateway_proxy(selector: str = "ingressgateway") -> object:
    return fx.productpage_proxy(
        type="router",
        pod_name="ingress-1",
        namespace="istio-system",
        labels=fx.frozen_map({"istio": selector}),
    )


def test_match_gateways_pick_the_proxy_a_block_applies_to() -> None:
    snap = fx.snapshot(fx.config(MATCH_GATEWAYS, files=("destination-rule-all.yaml",)))
    v1, v2, v3 = (f"outbound|9080|{v}|{REVIEWS}" for v in ("v1", "v2", "v3"))
    # a sidecar: the my-gw blocks are gone, the mesh block and the inherited ones stay
    assert run(snap, Call("reviews", 9080, path="/gw")).cluster == v3
    assert run(snap, Call("reviews", 9080, headers={"x-ns-form": "1"})).cluster == v1
    assert run(snap, Call("reviews", 9080, path="/any")).cluster == v3
    # the gateway my-gw serves: its blocks apply (short and ns/ forms), the mesh block does not
    gateway = translate(_gateway_proxy(), snap)  # type: ignore[arg-type]
    at_gateway = Call("reviews.default.svc.cluster.local", 8080, path="/gw")
    assert simulate(gateway, at_gateway).listener == "0.0.0.0_8080"
    assert simulate(gateway, at_gateway).cluster == v2
    ns_form = Call(REVIEWS, 8080, path="/x", headers={"x-ns-form": "1"})
    assert simulate(gateway, ns_form).cluster == v2
    assert simulate(gateway, Call(REVIEWS, 8080, path="/any")).cluster == v3  # inherited
    assert simulate(gateway, Call(REVIEWS, 8080, path="/x")).cluster == v1
    # another gateway bound to the same VirtualService: neither my-gw's nor mesh's blocks
    edge = translate(_gateway_proxy("edgegateway"), snap)  # type: ignore[arg-type]
    assert simulate(edge, Call(REVIEWS, 8080, path="/gw")).cluster == v1
    assert simulate(edge, Call(REVIEWS, 8080, path="/any")).cluster == v3


@pytest.mark.parametrize(
    ("ip", "source", "chain", "cluster"),
    [
        ("240.0.7.5", "10.244.0.9", "240.0.7.0_24_7000", "outbound|7000||ranged.ext"),
        ("240.0.7.200", "10.244.0.9", "240.0.7.0_24_7000_subnets0", "outbound|7000||upper.ext"),
        ("240.0.7.5", "10.244.0.2", "240.0.7.0_24_7000_subnets1", "outbound|7000||upper.ext"),
        # outside the range: upper.ext (no address) holds the rest of port 7000
        ("240.0.6.5", "10.244.0.9", "0.0.0.0_7000", "outbound|7000||upper.ext"),
    ],
)
def test_address_ranges_and_subnet_routes(ip: str, source: str, chain: str, cluster: str) -> None:
    call = Call("ranged.ext", 7000, protocol="tcp", ip=ip, source_ip=source)
    result = run(CASES["traffic_edges"](), call)
    assert (result.listener, result.filter_chain, result.cluster) == (
        "0.0.0.0_7000",
        chain,
        cluster,
    )
