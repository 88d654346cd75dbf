"""Traffic edges on real traffic through real sidecars (netns mode, one mesh for the module).

Namespace ``edge`` holds two clients with sidecars (``cli``, ``cli2``); ``outside`` holds
``ext``, a pod without a sidecar running the servers of :mod:`e2e_support.edge_servers`.
ServiceEntries in ``edge`` point at it:

- ``ranged.ext``: the address range ``240.0.7.0/24`` on TCP 7000 (nothing listens at those
  addresses: the client's sidecar captures the connection and sends it to the endpoint, server
  ``A``); its VirtualService sends the upper half of the range, and anything from ``cli2``, to
  ``upper.ext`` (server ``B``): routes split by destination and source subnet;
- ``multi.ext``: two single addresses on TCP 7500 (to server ``B``): each reaches it, as Istio
  gives every address its own listener;
- ``tls-range.ext``: the range ``240.0.8.0/24`` on a TLS port, one address of it routed to
  ``upper.ext`` by a ``tls`` route's ``destinationSubnets``;
- ``direct.ext``: the pod network's range with resolution NONE: the connection goes to the
  address the client asked for, through the ServiceEntry's cluster;
- ``pp1.ext``/``pp2.ext``: DestinationRule ``proxyProtocol`` V1 and V2 towards a server that
  answers with the PROXY header it got;
- ``tunneled.ext``: DestinationRule ``tunnel`` (CONNECT) through the CONNECT proxy to server A;
- ``flaky.ext``/``budget.ext``: a server answering 503, retried 3 times, the second with a
  ``retryBudget`` of 0 %;
- ``web.ext``: an HTTP route with ``statPrefix: critical``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from runtime_e2e import assert_nothing_left, skip_unless_netns

from e2e_support.edge_servers import EDGE_SERVERS
from e2e_support.localmesh import LocalMeshThread
from e2e_support.mtls_mesh import call, pod_of, stats, synced, tcp
from e2e_support.proxy import wait_for
from sailmesh.runtime.local import RunningPod

pytestmark = pytest.mark.e2e

skip_unless_netns()

WEB_VIP, FLAKY_VIP, BUDGET_VIP = "240.0.9.60", "240.0.9.61", "240.0.9.62"
CALLS = 10
MULTI = ("240.0.10.1", "240.0.10.2")


def _pods() -> str:
    servers = json.dumps(["python3", "-c", EDGE_SERVERS])
    clients = "".join(
        f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: edge}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: {name}, command: [sleep, "3600"]}}]
"""
        for name in ("cli", "cli2")
    )
    ports = ", ".join(f"{{containerPort: {p}}}" for p in (7001, 7002, 7003, 7004, 8080, 8081))
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: edge, labels: {{istio-injection: enabled}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: outside, labels: {{istio-injection: disabled}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: ext, namespace: outside}}
spec:
  selector: {{matchLabels: {{app: ext}}}}
  template:
    metadata: {{labels: {{app: ext}}}}
    spec:
      containers: [{{name: ext, command: {servers}, ports: [{ports}]}}]
{clients}"""


def _entry(host: str, port: int, target: int, protocol: str = "TCP", extra: str = "") -> str:
    return f"""---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: {host.split(".")[0]}, namespace: edge}}
spec:
  hosts: [{host}]
  location: MESH_EXTERNAL
  ports: [{{number: {port}, name: p, protocol: {protocol}, targetPort: {target}}}]
{extra}"""


def _rule(host: str, policy: str) -> str:
    return f"""---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: {host.split(".")[0]}, namespace: edge}}
spec:
  host: {host}
  trafficPolicy: {policy}
"""


WEB_ROUTES = """---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: edge}
spec:
  hosts: [web.ext]
  http:
  - match: [{uri: {prefix: /critical}, statPrefix: critical}]
    route: [{destination: {host: web.ext}}]
  - route: [{destination: {host: web.ext}}]
"""


def _ranged_routes(cli2: str) -> str:
    """The upper half of the range, and anything from ``cli2``, to upper.ext; the rest to
    ranged.ext."""
    upper = "[{destination: {host: upper.ext, port: {number: 7100}}}]"
    return f"""---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: ranged, namespace: edge}}
spec:
  hosts: [ranged.ext]
  tcp:
  - {{match: [{{destinationSubnets: [240.0.7.128/25]}}], route: {upper}}}
  - {{match: [{{sourceSubnet: {cli2}}}], route: {upper}}}
  - route: [{{destination: {{host: ranged.ext}}}}]
"""


#: TLS to 240.0.8.8 goes to upper.ext (B); the rest of the range to the entry's endpoint (A).
TLS_RANGE_ROUTES = """---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: tls-range, namespace: edge}
spec:
  hosts: [tls-range.ext]
  tls:
  - match: [{sniHosts: [tls-range.ext], destinationSubnets: [240.0.8.8]}]
    route: [{destination: {host: upper.ext, port: {number: 7100}}}]
"""


def _retried(host: str) -> str:
    return f"""---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: {host.split(".")[0]}, namespace: edge}}
spec:
  hosts: [{host}]
  http: [{{route: [{{destination: {{host: {host}}}}}], retries: {{attempts: 3, retryOn: 5xx}}}}]
"""


def _config(ext: str, cli2: str) -> str:
    static = f"  resolution: STATIC\n  endpoints: [{{address: {ext}}}]\n"
    none = "  addresses: [10.244.0.0/24]\n  resolution: NONE\n"
    return "".join(
        [
            _entry("ranged.ext", 7000, 7001, extra="  addresses: [240.0.7.0/24]\n" + static),
            _entry("upper.ext", 7100, 7002, extra=static),
            _entry(
                "multi.ext", 7500, 7002, extra=f"  addresses: [{MULTI[0]}, {MULTI[1]}]\n" + static
            ),
            _ranged_routes(cli2),
            _entry("direct.ext", 7001, 7001, extra=none),
            _entry("tls-range.ext", 8443, 7001, "TLS", "  addresses: [240.0.8.0/24]\n" + static),
            TLS_RANGE_ROUTES,
            _entry("pp1.ext", 7301, 7003, extra=static),
            _rule("pp1.ext", "{proxyProtocol: {version: V1}}"),
            _entry("pp2.ext", 7302, 7003, extra=static),
            _rule("pp2.ext", "{proxyProtocol: {version: V2}}"),
            _entry("tunneled.ext", 7400, 7004, extra=static),
            _rule("tunneled.ext", f"{{tunnel: {{targetHost: {ext}, targetPort: 7001}}}}"),
            _entry("web.ext", 80, 8080, "HTTP", f"  addresses: [{WEB_VIP}]\n" + static),
            WEB_ROUTES,
            _entry("flaky.ext", 80, 8081, "HTTP", f"  addresses: [{FLAKY_VIP}]\n" + static),
            _retried("flaky.ext"),
            _entry("budget.ext", 80, 8081, "HTTP", f"  addresses: [{BUDGET_VIP}]\n" + static),
            _rule("budget.ext", "{retryBudget: {percent: 0, minRetryConcurrency: 0}}"),
            _retried("budget.ext"),
        ]
    )


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    m = LocalMeshThread(tmp_path_factory.mktemp("sailmesh-home"))
    run_id = m.mesh.names.run_id
    try:
        m.start([])
        m.apply(_pods())
        ext, cli2 = pod_of(m, "outside", "ext").ip, pod_of(m, "edge", "cli2").ip
        assert m.mesh.server is not None
        applied = m.mesh.server.api.apply_yaml(_config(ext, cli2), "edges.yaml", "edge")
        # every field used here is enforced now: no SM0001 NotEnforced warning
        assert not [w for w in applied["warnings"] if "SM0001" in w], applied["warnings"]
        m.mesh.wait_reconciled()
        synced(m)
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id)


def _client(mesh: LocalMeshThread, name: str = "cli") -> RunningPod:
    return pod_of(mesh, "edge", name)


def test_an_address_in_a_service_entry_range_reaches_its_endpoints(mesh: LocalMeshThread) -> None:
    client = _client(mesh)
    # nothing has these addresses: the sidecar sends them to the ServiceEntry's endpoint (A)
    assert tcp(client, "240.0.7.5", 7000) == "A"
    assert tcp(client, "240.0.7.77", 7000) == "A"
    # outside the range the connection passes through to an address nobody has: no answer
    assert tcp(client, "240.0.6.5", 7000) == ""


def test_every_address_of_a_service_entry_reaches_it(mesh: LocalMeshThread) -> None:
    client = _client(mesh)
    assert [tcp(client, address, 7500) for address in MULTI] == ["B", "B"]


def test_tcp_routes_split_by_destination_and_source_subnet(mesh: LocalMeshThread) -> None:
    client, other = _client(mesh), _client(mesh, "cli2")
    assert tcp(client, "240.0.7.200", 7000) == "B"  # the upper half: 240.0.7.128/25
    assert tcp(client, "240.0.7.127", 7000) == "A"
    assert tcp(other, "240.0.7.5", 7000) == "B"  # cli2's address is the sourceSubnet
    upper = stats(client, r"cluster\.outbound\|7100\|\|upper\.ext\.upstream_cx_total$")
    assert sum(upper.values()) >= 1, upper


def test_tls_routes_split_by_destination_subnet(mesh: LocalMeshThread) -> None:
    client = _client(mesh)
    assert tcp(client, "240.0.8.8", 8443) == "B"
    assert tcp(client, "240.0.8.9", 8443) == "A"


def test_resolution_none_goes_to_the_asked_address_through_the_entry(
    mesh: LocalMeshThread,
) -> None:
    client, ext = _client(mesh), pod_of(mesh, "outside", "ext")
    pattern = r"cluster\.outbound\|7001\|\|direct\.ext\.upstream_cx_total$"
    before = sum(stats(client, pattern).values())
    assert tcp(client, ext.ip, 7001) == "A"
    assert sum(stats(client, pattern).values()) == before + 1


def test_proxy_protocol_header_carries_the_client_address(mesh: LocalMeshThread) -> None:
    client = _client(mesh)
    for version, port in (("v1", 7301), ("v2", 7302)):
        answer = tcp(client, "240.0.9.1", port)
        assert answer.startswith(f"proxy {version} {client.ip}:"), answer
        assert answer.endswith(f" 240.0.9.1:{port}"), answer


def test_tunnel_goes_through_the_connect_proxy(mesh: LocalMeshThread) -> None:
    client, ext = _client(mesh), pod_of(mesh, "outside", "ext")
    assert tcp(client, "240.0.9.2", 7400) == "A"
    log = ext.supervisor.log_path("ext")
    wait_for(lambda: f"CONNECT {ext.ip}:7001" in log.read_text(), 5, "the proxy's CONNECT line")


def test_retry_budget_stops_retries(mesh: LocalMeshThread) -> None:
    client = _client(mesh)
    for vip in (FLAKY_VIP, BUDGET_VIP):
        for _ in range(CALLS):
            status, _body = call(client, f"http://{vip}/", resolve=None)
            assert status == 503
    retried = stats(client, r"cluster\.outbound\|80\|\|(flaky|budget)\.ext\.upstream_rq_retry")
    key = "cluster.outbound|80||{}.ext.upstream_rq_retry{}"
    assert retried[key.format("flaky", "")] == 3 * CALLS, retried
    assert retried.get(key.format("budget", ""), 0) == 0, retried
    assert retried[key.format("budget", "_overflow")] == CALLS, retried


def test_route_stat_prefix_counts_the_route_requests(mesh: LocalMeshThread) -> None:
    client = _client(mesh)
    for path in ("/critical/a", "/other"):
        for _ in range(CALLS):
            assert call(client, f"http://{WEB_VIP}{path}")[0] == 200
    found = stats(client, r"\.route\.critical\.upstream_rq_total$")
    assert list(found.values()) == [CALLS], found
