"""`sailctl explain` on real traffic through the demo mesh: each response flag is provoked by
config a user would write (fault abort FI, delay DI and client timeout DC, no route NR at the
gateway, a subset without pods UH, a subset no DestinationRule defines NC, a circuit breaker
UO, a route timeout UT, a wrong target port UF with the default retries URX), and the
explanation read from the proxy's own access
log names the object and field path that decided."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from runtime_e2e import NETWORKING, demo_mesh, skip_unless_netns

from e2e_support.bookinfo import pod
from e2e_support.explain_cli import explain, explained_in
from e2e_support.localmesh import LocalMeshThread

pytestmark = pytest.mark.e2e

skip_unless_netns()

CLIENT = "deploy/productpage-v1"


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    yield from demo_mesh(tmp_path_factory.mktemp("explain-home"))


def explained(mesh: LocalMeshThread, path: str, outcome: str = "", *args: str) -> str:
    """The latest explanation of a request to ``path`` showing ``outcome``, from the log of
    productpage's pod unless ``args`` name another."""
    return explained_in(mesh, path, outcome, *(args or (CLIENT,)))


def calls(mesh: LocalMeshThread, url: str, n: int = 1, timeout: float = 5) -> list[int]:
    """``n`` concurrent GETs of ``url`` from productpage's pod: their status codes (0: none)."""
    code = (
        "import urllib.request as u, urllib.error as e, concurrent.futures as cf\n"
        "def one(_):\n"
        f"    try: r = u.urlopen({url!r}, timeout={timeout}); r.read(); return r.status\n"
        "    except e.HTTPError as err: return err.code\n"
        "    except Exception: return 0\n"
        f"with cf.ThreadPoolExecutor({n}) as ex: print(*ex.map(one, range({n})))\n"
    )
    result = pod(mesh, CLIENT).sandbox.run(["python3", "-c", code], env={"PATH": "/usr/bin:/bin"})
    return [int(c) for c in result.stdout.split()]


def until(mesh: LocalMeshThread, url: str, want: int, timeout: float = 15) -> None:
    """Call until ``url`` answers ``want`` (the new config reached the client's sidecar)."""
    deadline = time.monotonic() + timeout
    while (got := calls(mesh, url)) != [want]:
        assert time.monotonic() < deadline, f"{url} answers {got}, never {want}"
        time.sleep(0.2)


def unique(path: str) -> str:
    return f"{path}?id={uuid.uuid4().hex[:8]}"


def vs(name: str, http: str) -> str:
    return (
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        f"metadata: {{name: {name}}}\nspec:\n  hosts: [{name}]\n  http:\n{http}"
    )


def test_fault_abort_is_traced_to_the_virtual_service(mesh: LocalMeshThread) -> None:
    rule = vs(
        "details",
        "  - fault: {abort: {httpStatus: 555, percentage: {value: 100}}}\n"
        "    route: [{destination: {host: details}}]\n",
    )
    mesh.apply(rule)
    try:
        path = unique("/details/0")
        until(mesh, f"http://details:9080{path}", 555)
        text = explained(mesh, path)
        assert "-> 555 FI" in text.splitlines()[0]
        assert "FI   FaultInjected" in text
        assert (
            "knob:  VirtualService default/details spec.http[0].fault = {abort: {httpStatus: 555"
            in text
        )
        assert "fix:   remove spec.http[0].fault.abort or lower its percentage" in text
    finally:
        mesh.delete(rule)


def test_delay_and_client_timeout(mesh: LocalMeshThread) -> None:
    rule = vs(
        "ratings",
        "  - fault: {delay: {fixedDelay: 2s, percentage: {value: 100}}}\n"
        "    route: [{destination: {host: ratings}}]\n",
    )
    mesh.apply(rule)
    try:
        path = unique("/ratings/0")
        deadline = time.monotonic() + 15
        while calls(mesh, f"http://ratings:9080{path}", timeout=0.5) != [0]:
            assert time.monotonic() < deadline, "the delay never applied"
            path = unique("/ratings/0")
        time.sleep(2)  # the sidecar logs the request when the delay ends
        text = explained(mesh, path)
        assert "DI   DelayInjected" in text and "DC   DownstreamConnectionTermination" in text
        assert (
            "knob:  VirtualService default/ratings spec.http[0].fault = {delay: {fixedDelay: 2s"
            in text
        )
        assert "the client closed the connection after" in text
    finally:
        mesh.delete(rule)


def test_no_route_at_the_gateway(mesh: LocalMeshThread) -> None:
    port = mesh.gateway_port(8080)
    path = unique("/nothing-here")
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
    assert failed.value.code == 404
    text = explained(mesh, path, "", "deploy/istio-ingressgateway", "-n", "istio-system")
    assert "-> 404 NR" in text.splitlines()[0]
    assert "no rule of default/bookinfo matches GET " + path in text
    assert (
        "knob:  VirtualService default/bookinfo spec.http[0].match = [{uri: {exact: /productpage}}"
        in text
    )


RATINGS_V2 = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings}
spec:
  host: ratings
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
"""


def test_subset_without_pods_is_no_healthy_upstream(mesh: LocalMeshThread) -> None:
    rule = vs("ratings", "  - route: [{destination: {host: ratings, subset: v2}}]\n")
    mesh.apply(RATINGS_V2 + "---\n" + rule)
    try:
        path = unique("/ratings/0")
        until(mesh, f"http://ratings:9080{path}", 503)
        text = explained(mesh, path)
        assert "-> 503 UH via outbound|9080|v2|ratings.default.svc.cluster.local" in text
        assert "subset v2 selects none of the 1 pods of ratings.default.svc.cluster.local" in text
        assert (
            "knob:  DestinationRule default/ratings spec.subsets[1].labels = {version: v2}" in text
        )
    finally:
        mesh.delete(rule)
        mesh.apply((NETWORKING / "destination-rule-all.yaml").read_text())


def test_undefined_subset_is_no_cluster(mesh: LocalMeshThread) -> None:
    """A route to subset v9 of details, which no DestinationRule defines: the route names a
    cluster no proxy gets (Istio's behaviour too), and Envoy answers 503 NC."""
    rule = vs("details", "  - route: [{destination: {host: details, subset: v9}}]\n")
    mesh.apply(rule)
    try:
        path = unique("/details/0")
        until(mesh, f"http://details:9080{path}", 503)
        text = explained(mesh, path, "-> 503 NC")
        assert "NC   NoClusterFound" in text, text
        assert "the route names outbound|9080|v9|details.default.svc.cluster.local" in text
        assert (
            "knob:  VirtualService default/details spec.http[0].route[0].destination.subset = v9"
            in text
        )
    finally:
        mesh.delete(rule)


SLOW_RATINGS = vs(
    "ratings",
    "  - fault: {delay: {fixedDelay: 1s, percentage: {value: 100}}}\n"
    "    route: [{destination: {host: ratings}}]\n",
)
REVIEWS_V2 = vs("reviews", "  - route: [{destination: {host: reviews, subset: v2}}]\n")

REVIEWS_BREAKER = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
"""


def test_route_timeout(mesh: LocalMeshThread) -> None:
    """Istio's request-timeouts task: reviews v2 waits on a ratings delayed by 1 s; the route to
    reviews allows 0.3 s."""
    timed = REVIEWS_V2.replace("  - route:", "  - timeout: 0.3s\n    route:")
    mesh.apply(SLOW_RATINGS + "---\n" + timed)
    try:
        path = unique("/reviews/0")
        until(mesh, f"http://reviews:9080{path}", 504)
        text = explained(mesh, path)
        assert "-> 504 UT via outbound|9080|v2|reviews.default.svc.cluster.local" in text
        assert "UT   UpstreamRequestTimeout" in text
        assert "knob:  VirtualService default/reviews spec.http[0].timeout = 0.3s" in text
    finally:
        mesh.delete(SLOW_RATINGS + "---\n" + timed)


def test_circuit_breaker(mesh: LocalMeshThread) -> None:
    mesh.apply(SLOW_RATINGS + "---\n" + REVIEWS_V2 + "---\n" + REVIEWS_BREAKER)
    try:
        path = unique("/reviews/0")
        deadline = time.monotonic() + 20
        while 503 not in (codes := calls(mesh, f"http://reviews:9080{path}", n=6)):
            assert time.monotonic() < deadline, f"the breaker never tripped: {codes}"
            path = unique("/reviews/0")
        assert 200 in codes, codes  # the one connection and its one pending request got through
        text = explained(mesh, path, "-> 503 UO")
        assert "-> 503 UO via outbound|9080|v2|reviews.default.svc.cluster.local" in text
        assert "the circuit breaker of outbound|9080|v2|reviews.default.svc.cluster.local" in text
        knobs = [ln.strip() for ln in text.splitlines() if "knob:" in ln]
        assert knobs == [
            "knob:  DestinationRule default/reviews spec.trafficPolicy.connectionPool.tcp.maxConnections = 1",
            "knob:  DestinationRule default/reviews spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests = 1",
            "knob:  DestinationRule default/reviews spec.trafficPolicy.connectionPool.http.maxRequestsPerConnection = 1",
        ]
    finally:
        mesh.delete(SLOW_RATINGS + "---\n" + REVIEWS_V2)
        mesh.apply((NETWORKING / "destination-rule-all.yaml").read_text())


WRONG_PORT = """\
apiVersion: v1
kind: Service
metadata: {name: details-alt}
spec:
  selector: {app: details}
  ports: [{name: http, port: 9080, targetPort: 9999}]
"""


def test_connection_failure_names_the_target_port(mesh: LocalMeshThread) -> None:
    mesh.apply(WRONG_PORT)
    try:
        path = unique("/details/0")
        until(mesh, f"http://details-alt:9080{path}", 503)
        text = explained(mesh, path, "-> 503")
        # The details pod's sidecar captures :9999 and answers 503 (nothing listens); the
        # client's default retries on 503 are used up: URX here, UF in details' sidecar.
        assert "URX  UpstreamRetryLimitExceeded" in text, text
        details = pod(mesh, "deploy/details-v1")
        name = f"default/{details.plan.name}"
        assert f"cause: the mesh's default retries were used up: {name} answered 503" in text
        assert "knob:  mesh default meshConfig.defaultHttpRetryPolicy = {attempts: 2" in text
        assert "knob:  Service default/details-alt spec.ports[0].targetPort = 9999" in text
        assert f"fix:   see why it answered 503: sailctl explain --from-logs {name}" in text
        text = explained(mesh, path, "-> 503 UF", name)
        assert "cause: nothing listens on port 9999 of this pod's app" in text, text
        assert "connection refused" in text.lower(), text
        assert "knob:  Service default/details-alt spec.ports[0].targetPort = 9999" in text
    finally:
        mesh.delete(WRONG_PORT)


def test_explain_a_pasted_line_and_a_code(mesh: LocalMeshThread) -> None:
    log = pod(mesh, CLIENT).supervisor.log_path("istio-proxy").read_text().splitlines()
    line = next(ln for ln in reversed(log) if '" 503 UO ' in ln)
    text = explain(mesh, line)
    assert "UO   UpstreamOverflow" in text and "circuit breaker" in text
    text = explain(
        mesh,
        "--code",
        "503",
        "--flags",
        "UO",
        "--cluster",
        "outbound|9080|v1|reviews.default.svc.cluster.local",
    )
    assert "Envoy's default circuit breaker" in text  # no connection pool now: restored rules
