"""Load balancing on real traffic, one mesh for the module; load from a fortio client pod in
``region1/zone1`` (``sailctl exec deploy/client -c fortio -- /usr/bin/fortio load``, bounded by
``-n``), counted on the servers (each logs one line per request it answers):

- locality failover: with outlier detection, all calls stay in the client's zone; when its
  replica fails they move to the other zone of the region, then to the other region when that
  fails too, and back to the local replica when it recovers;
- ``distribute``: 20/30/50 weights over three localities hold within 5 points;
- round robin spreads evenly; consistent hash by header and by cookie is sticky per key;
  least request favours a fast replica over a slow one; a generated hash cookie carries the
  DestinationRule's cookie ``attributes``.

- ``perTryTimeout``: each try of a call to a slow server is cut and retried;
- ``connectionPool.tcp.maxConnectionDuration``: upstream connections are closed and replaced
  while calls keep succeeding;
- DestinationRule ``workloadSelector``: a rule applies only to the workloads it selects;
- a Sidecar egress scope shrinks the client's cluster list (``sailctl proxy-config cluster``)
  and, under REGISTRY_ONLY, out-of-scope services answer 502.

The servers are a few lines of Python (``command``, so no sample image) answering 503 while
their fail file exists, after ``$DELAY`` seconds.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import BOOKINFO, assert_nothing_left, sailctl, skip_unless_netns

from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.runtime import proxy as envoy_proxy
from sailmesh.runtime.local import RunningPod

pytestmark = pytest.mark.e2e

skip_unless_netns()

SERVER = """\
import http.server, os, time
FAIL, DELAY = os.environ["FAIL_FILE"], float(os.environ.get("DELAY") or 0)
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        time.sleep(DELAY)
        code = 503 if os.path.exists(FAIL) else 200
        body = (os.environ["NAME"] + "\\n").encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        os.write(1, f"served {code} {self.path}\\n".encode())  # one write: threads lose no line
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
"""

CLIENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: client}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata:
      labels: {app: client, topology.kubernetes.io/region: region1, topology.kubernetes.io/zone: zone1}
    spec:
      containers: [{name: fortio, image: fortio/fortio, ports: [{containerPort: 8080}]}]
"""


def _server(name: str, app: str, flags: Path, labels: str, delay: float = 0) -> str:
    script = "\n".join("            " + line for line in SERVER.splitlines())
    return f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  selector: {{matchLabels: {{app: {app}, name: {name}}}}}
  template:
    metadata: {{labels: {{app: {app}, name: {name}{labels}}}}}
    spec:
      containers:
      - name: app
        image: python
        command: [python3, -c]
        args:
          - |
{script}
        env:
        - {{name: NAME, value: {name}}}
        - {{name: FAIL_FILE, value: "{flags / name}"}}
        - {{name: DELAY, value: "{delay}"}}
        ports: [{{containerPort: 8080}}]
"""


def _service(app: str) -> str:
    return f"""---
apiVersion: v1
kind: Service
metadata: {{name: {app}}}
spec: {{selector: {{app: {app}}}, ports: [{{name: http, port: 8080}}]}}
"""


def _where(region: str, zone: str) -> str:
    return f", topology.kubernetes.io/region: {region}, topology.kubernetes.io/zone: {zone}"


#: ``hello``: one replica per locality; ``spread``: three replicas, one of them slow.
LOCATED = {"hello-z1": ("region1", "zone1"), "hello-z2": ("region1", "zone2"),
           "hello-r2": ("region2", "zone1")}  # fmt: skip
SPREAD = {"spread-a": 0.0, "spread-b": 0.0, "spread-slow": 0.1}


def apps(flags: Path) -> str:
    text = CLIENT
    for name, (region, zone) in LOCATED.items():
        text += _server(name, "hello", flags, _where(region, zone))
    for name, delay in SPREAD.items():
        text += _server(name, "spread", flags, "", delay)
    text += _server("sleepy", "sleepy", flags, "", 1.0)
    return text + _service("hello") + _service("spread") + _service("sleepy")


@pytest.fixture(scope="module")
def flags() -> Iterator[Path]:
    """Where the fail files go: a directory the apps' user can read (pytest's own temporary
    directories are private to the test's user)."""
    found = Path(tempfile.mkdtemp(prefix="sailmesh-fail-flags-"))
    found.chmod(0o755)
    try:
        yield found
    finally:
        shutil.rmtree(found, ignore_errors=True)


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory, flags: Path) -> Iterator[LocalMeshThread]:
    m = LocalMeshThread(tmp_path_factory.mktemp("sailmesh-home"))
    run_id = m.mesh.names.run_id
    try:
        m.start([str(BOOKINFO / "platform" / "namespace.yaml")])
        m.apply(apps(flags))
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id)


def pod(mesh: LocalMeshThread, name: str) -> RunningPod:
    assert mesh.mesh.runtime is not None
    found = mesh.mesh.runtime.find_pod(f"deploy/{name}", "default")
    assert found is not None, name
    return found


def served(mesh: LocalMeshThread, names: Iterator[str] | list[str]) -> dict[str, int]:
    """How many requests each server has answered with 200 so far (its log lines)."""
    out = {}
    for name in names:
        text = pod(mesh, name).supervisor.log_path("app").read_text(errors="replace")
        out[name] = text.count("served 200 ")
    return out


def load(
    mesh: LocalMeshThread, url: str, calls: int, *flags: str, conns: int = 2, qps: int = 0
) -> dict[int, int]:
    """fortio's ``Code N : count`` lines for a bounded load from the client pod."""
    home = Path(mesh.mesh.home)
    out = sailctl(home, "exec", "deploy/client", "-c", "fortio", "--", "/usr/bin/fortio",
                  "load", "-c", str(conns), "-qps", str(qps), "-n", str(calls), "-loglevel",
                  "Warning", *flags, url)  # fmt: skip
    codes = {int(c): int(n) for c, n in re.findall(r"^Code (-?\d+) : (\d+) \(", out, re.M)}
    assert sum(codes.values()) == calls, out
    return codes


def share(mesh: LocalMeshThread, url: str, calls: int, names: list[str], *flags: str,
          conns: int = 2) -> dict[str, int]:  # fmt: skip
    """Which servers answered the successful calls of a bounded load of ``calls``."""
    before = served(mesh, names)
    codes = load(mesh, url, calls, *flags, conns=conns)

    def settled() -> bool:
        return sum(served(mesh, names).values()) - sum(before.values()) >= codes.get(200, 0)

    wait_for(settled, 10, f"the servers to log {calls} calls ({codes})")
    after = served(mesh, names)
    return {name: after[name] - before[name] for name in names}


def client_cluster(mesh: LocalMeshThread, host: str) -> str:
    """The client sidecar's active cluster for ``host`` port 8080, as Envoy dumps it."""
    client = pod(mesh, "client")
    path = f"/config_dump?resource=dynamic_active_clusters&name_regex=.*8080..{host}.*"
    status, body = envoy_proxy.admin_request(client.netns_file, path, client.admin_port)
    assert status == 200, body[:200]
    return body


def wait_cluster(mesh: LocalMeshThread, host: str, text: str, present: bool = True) -> None:
    """Until the client's cluster for ``host`` has (or no longer has) ``text``."""

    def synced() -> bool:
        return (text in client_cluster(mesh, host)) == present

    wait_for(synced, 30, f"{text} {'in' if present else 'out of'} the {host} cluster")


HELLO = "http://hello:8080/hello"
FAILOVER = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: hello}
spec:
  host: hello
  trafficPolicy:
    loadBalancer:
      localityLbSetting: {enabled: true}
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 5s
      maxEjectionPercent: 100
"""


def _only(mesh: LocalMeshThread, name: str, calls: int = 20) -> bool:
    """Whether ``name`` answered every call (failing replicas answer 503 until outlier
    detection ejects them; they rejoin when their ejection time is over, and are ejected again
    if they still fail)."""
    return share(mesh, HELLO, calls, list(LOCATED))[name] == calls


def test_locality_failover_and_back(mesh: LocalMeshThread, flags: Path) -> None:
    names = list(LOCATED)
    mesh.apply(FAILOVER)
    fail_z1, fail_z2 = flags / "hello-z1", flags / "hello-z2"
    try:
        wait_for(lambda: _only(mesh, "hello-z1"), 30, "calls to stay in zone1")
        local = share(mesh, HELLO, 100, names)
        fail_z1.touch()
        wait_for(lambda: _only(mesh, "hello-z2"), 30, "failover to zone2")
        zone2 = share(mesh, HELLO, 100, names)
        fail_z2.touch()
        wait_for(lambda: _only(mesh, "hello-r2"), 30, "failover to region2")
        region2 = share(mesh, HELLO, 100, names)
        fail_z1.unlink()
        fail_z2.unlink()
        wait_for(lambda: _only(mesh, "hello-z1"), 60, "calls back in zone1")
        back = share(mesh, HELLO, 100, names)
    finally:
        fail_z1.unlink(missing_ok=True)
        fail_z2.unlink(missing_ok=True)
        mesh.delete(FAILOVER)
    print(f"\nlocality failover (200s per server of 100 calls): local {local}, "
          f"zone1 failed {zone2}, zone2 too {region2}, recovered {back}")  # fmt: skip
    assert local == {"hello-z1": 100, "hello-z2": 0, "hello-r2": 0}
    # Every success comes from the next locality (a failing replica whose ejection time is
    # over turns a burst of calls into 503s until it is ejected again, as in Envoy/Istio).
    assert zone2["hello-z1"] == zone2["hello-r2"] == 0 and zone2["hello-z2"] >= 50, zone2
    assert region2["hello-z1"] == region2["hello-z2"] == 0 and region2["hello-r2"] >= 50, region2
    assert back == local


DISTRIBUTE = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: hello}
spec:
  host: hello
  trafficPolicy:
    loadBalancer:
      localityLbSetting:
        distribute:
        - from: region1/zone1/*
          to: {"region1/zone1/*": 20, "region1/zone2/*": 30, "region2/*": 50}
"""


def test_distribute_weights_hold(mesh: LocalMeshThread) -> None:
    names = list(LOCATED)
    mesh.apply(DISTRIBUTE)
    try:
        wait_cluster(mesh, "hello", "locality_weighted_lb_config")
        calls = 600
        found = share(mesh, HELLO, calls, names)
    finally:
        mesh.delete(DISTRIBUTE)
        wait_cluster(mesh, "hello", "locality_weighted_lb_config", present=False)
    percent = {name: 100 * n / calls for name, n in found.items()}
    print(f"\ndistribute 20/30/50: {percent}")
    for name, want in (("hello-z1", 20), ("hello-z2", 30), ("hello-r2", 50)):
        assert abs(percent[name] - want) <= 5, percent


SPREAD_URL = "http://spread:8080/x"
#: The rule's name in the cluster's metadata: the client has the rule's cluster.
SPREAD_RULE = "/apis/networking.istio.io/v1/namespaces/default/destination-rule/spread"


def _spread_rule(lb: str) -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: spread}}
spec:
  host: spread
  trafficPolicy: {{loadBalancer: {lb}}}
"""


def test_round_robin_spreads_evenly(mesh: LocalMeshThread) -> None:
    rule = _spread_rule("{simple: ROUND_ROBIN}")
    mesh.apply(rule)
    try:
        wait_cluster(mesh, "spread", SPREAD_RULE)
        found = share(mesh, SPREAD_URL, 300, list(SPREAD), conns=1)
    finally:
        mesh.delete(rule)
        wait_cluster(mesh, "spread", SPREAD_RULE, present=False)
    print(f"\nround robin, 300 calls: {found}")
    assert all(90 <= n <= 110 for n in found.values()), found


def _sticky(mesh: LocalMeshThread, flag: str, keys: list[str]) -> dict[str, set[str]]:
    """For each key, the servers that answered 12 calls carrying it."""
    out = {}
    for key in keys:
        found = share(mesh, SPREAD_URL, 12, list(SPREAD), "-H", flag.format(key))
        out[key] = {name for name, n in found.items() if n}
    return out


@pytest.mark.parametrize(
    ("hashing", "flag"),
    [("{httpHeaderName: x-user}", "x-user: {}"),
     ("{httpCookie: {name: user, ttl: 0s, attributes: [{name: SameSite, value: Strict}]}}", "Cookie: user={}")],
    ids=["header", "cookie"],
)  # fmt: skip
def test_consistent_hash_is_sticky_per_key(mesh: LocalMeshThread, hashing: str, flag: str) -> None:
    rule = _spread_rule(f"{{consistentHash: {hashing}}}")
    keys = [f"user-{i}" for i in range(8)]
    mesh.apply(rule)
    try:

        def hashing_on() -> bool:
            return all(len(s) == 1 for s in _sticky(mesh, flag, keys[:2]).values())

        wait_for(hashing_on, 30, "consistent hashing")
        found = _sticky(mesh, flag, keys)
        # without the cookie, Envoy makes one (a session cookie, ttl 0s) with the attributes
        headers = sailctl(Path(mesh.mesh.home), "exec", "deploy/client", "-c", "fortio", "--",
                          "/usr/bin/fortio", "curl", SPREAD_URL)  # fmt: skip
    finally:
        mesh.delete(rule)
        wait_cluster(mesh, "spread", SPREAD_RULE, present=False)
    print(f"\nconsistent hash by {flag.split(':')[0]}: {found}")
    if "Cookie" in flag:
        cookie = re.search(r"^set-cookie: (.*)$", headers, re.M | re.I)
        assert cookie is not None and "SameSite=Strict" in cookie.group(1), headers
    assert all(len(servers) == 1 for servers in found.values()), found
    assert len(set().union(*found.values())) >= 2, found  # different keys, different servers


def test_least_request_favours_the_fast_replica(mesh: LocalMeshThread) -> None:
    rule = _spread_rule("{simple: LEAST_REQUEST}")
    mesh.apply(rule)
    try:
        wait_cluster(
            mesh,
            "spread",
            "/apis/networking.istio.io/v1/namespaces/default/destination-rule/spread",
        )
        found = share(mesh, SPREAD_URL, 300, list(SPREAD), conns=8)
    finally:
        mesh.delete(rule)
        wait_cluster(mesh, "spread", SPREAD_RULE, present=False)
    print(f"\nleast request, 300 calls on 8 connections, spread-slow +100 ms: {found}")
    # round robin would give each 100; least request sends the slow replica far fewer
    assert found["spread-slow"] * 1.5 < min(found["spread-a"], found["spread-b"]), found


def _sleepy_route(retries: str) -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: sleepy}}
spec:
  hosts: [sleepy]
  http: [{{route: [{{destination: {{host: sleepy}}}}], timeout: 5s, retries: {retries}}}]
"""


def sleepy_stats(mesh: LocalMeshThread) -> dict[str, int]:
    client = pod(mesh, "client")
    path = "/stats?filter=outbound.8080..sleepy.*upstream_rq_(per_try_timeout|retry)$"
    status, body = envoy_proxy.admin_request(client.netns_file, path, client.admin_port)
    assert status == 200, body[:200]
    return {m[0]: int(m[1]) for m in re.findall(r"\.(upstream_rq_\w+): (\d+)", body)}


def test_per_try_timeout_is_honoured(mesh: LocalMeshThread) -> None:
    """A server that answers after 1 s: within the route's 5 s timeout one try succeeds;
    with ``perTryTimeout: 0.2s`` and two retries each try times out (3 per call) and the
    call fails with 504 well before the server would have answered."""
    url = "http://sleepy:8080/x"
    single = _sleepy_route("{attempts: 0}")
    per_try = _sleepy_route("{attempts: 2, perTryTimeout: 0.2s, retryOn: 5xx}")
    mesh.apply(single)
    try:
        wait_for(lambda: load(mesh, url, 1, conns=1) == {200: 1}, 30, "the sleepy route")
        mesh.apply(per_try)
        wait_for(lambda: load(mesh, url, 1, conns=1) == {504: 1}, 30, "per-try timeouts")
        before = sleepy_stats(mesh)
        codes = load(mesh, url, 4, conns=1)
        after = sleepy_stats(mesh)
    finally:
        mesh.delete(per_try)
    grew = {k: after[k] - before.get(k, 0) for k in after}
    print(f"\nperTryTimeout 0.2s x 3 tries against a 1 s server: {codes}, stats {grew}")
    assert codes == {504: 4}
    assert grew["upstream_rq_per_try_timeout"] == 12 and grew["upstream_rq_retry"] == 8, grew


def spread_stat(mesh: LocalMeshThread, name: str) -> int:
    client = pod(mesh, "client")
    path = f"/stats?filter=outbound.8080..spread.*{name}$"
    status, body = envoy_proxy.admin_request(client.netns_file, path, client.admin_port)
    assert status == 200, body[:200]
    found = re.search(rf"\.{name}: (\d+)", body)
    return int(found.group(1)) if found else 0


def test_max_connection_duration_recycles_upstream_connections(mesh: LocalMeshThread) -> None:
    rule = _spread_rule("{simple: ROUND_ROBIN}").replace(
        "trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}",
        "trafficPolicy: {connectionPool: {tcp: {maxConnectionDuration: 1s}}}",
    )
    mesh.apply(rule)
    try:
        wait_cluster(mesh, "spread", "max_connection_duration")
        before = spread_stat(mesh, "upstream_cx_max_duration_reached")
        codes = load(mesh, SPREAD_URL, 40, conns=1, qps=10)  # about 4 s
        closed = spread_stat(mesh, "upstream_cx_max_duration_reached") - before
    finally:
        mesh.delete(rule)
        wait_cluster(mesh, "spread", SPREAD_RULE, present=False)
    print(f"\nmaxConnectionDuration 1s over ~4 s of calls: {codes}, {closed} connections closed")
    assert codes == {200: 40}
    assert closed >= 2, closed


def test_destination_rule_workload_selector(mesh: LocalMeshThread) -> None:
    """A rule selecting other workloads leaves the client alone; selecting the client applies."""

    def rule(app: str) -> str:
        return _spread_rule("{consistentHash: {httpHeaderName: x-user}}").replace(
            "  host: spread\n",
            f"  host: spread\n  workloadSelector: {{matchLabels: {{app: {app}}}}}\n",
        )

    keys = ["user-0", "user-1"]
    others, ours = rule("someone-else"), rule("client")
    mesh.apply(others)
    try:
        time.sleep(2)  # give a wrongly applied rule time to arrive
        assert SPREAD_RULE not in client_cluster(mesh, "spread")
        spread = _sticky(mesh, "x-user: {}", keys)
        mesh.apply(ours)
        wait_cluster(mesh, "spread", SPREAD_RULE)
        sticky = _sticky(mesh, "x-user: {}", keys)
    finally:
        mesh.delete(ours)
        wait_cluster(mesh, "spread", SPREAD_RULE, present=False)
    print(f"\nworkloadSelector: other workloads {spread}; the client {sticky}")
    assert all(len(servers) > 1 for servers in spread.values()), spread
    assert all(len(servers) == 1 for servers in sticky.values()), sticky


SIDECAR_SCOPE = """
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: client}
spec:
  workloadSelector: {labels: {app: client}}
  egress:
  - hosts: ["./hello.default.svc.cluster.local"]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
"""


def client_clusters(mesh: LocalMeshThread) -> str:
    return sailctl(Path(mesh.mesh.home), "proxy-config", "cluster", "deploy/client")


def curl_status(mesh: LocalMeshThread, url: str) -> int:
    out = sailctl(Path(mesh.mesh.home), "exec", "deploy/client", "-c", "fortio", "--",
                  "/usr/bin/fortio", "curl", url, check=False)  # fmt: skip
    found = re.match(r"HTTP/1\.1 (\d{3})", out)
    return int(found.group(1)) if found else 0


def test_sidecar_egress_scope_shrinks_clusters_and_blocks_the_rest(mesh: LocalMeshThread) -> None:
    before = client_clusters(mesh)
    assert "spread.default.svc.cluster.local" in before
    mesh.apply(SIDECAR_SCOPE)
    try:
        wait_for(lambda: curl_status(mesh, SPREAD_URL) == 502, 30, "spread out of scope")
        after = client_clusters(mesh)
        hello = curl_status(mesh, HELLO)
    finally:
        mesh.delete(SIDECAR_SCOPE)
    wait_for(lambda: curl_status(mesh, SPREAD_URL) == 200, 30, "spread back in scope")
    outbound = [line.split()[0] for line in after.splitlines() if "svc.cluster.local" in line]
    print(f"\nSidecar egress scope: {len(before.splitlines())} -> {len(after.splitlines())} "
          f"cluster lines; outbound services {sorted(set(outbound))}")  # fmt: skip
    assert hello == 200
    assert "hello.default.svc.cluster.local" in after
    assert "spread.default.svc.cluster.local" not in after
    assert "sleepy.default.svc.cluster.local" not in after
    assert len(after.splitlines()) < len(before.splitlines())
