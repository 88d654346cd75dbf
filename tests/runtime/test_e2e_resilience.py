"""Istio's traffic-management tasks on real traffic, one mesh for the module, load from the
fortio client as the tasks type it (``sailctl exec deploy/fortio-deploy -c fortio --
/usr/bin/fortio load ...``, bounded by ``-n``):

- circuit breaking (Istio's task DestinationRule): a share of 503s flagged ``UO`` and the client
  sidecar's ``upstream_rq_pending_overflow`` counter;
- retries: a service one replica of three fails for answers ~1/3 errors without retries and
  >= 99 % successes with them;
- outlier detection: the failing replica is ejected (``proxy-config endpoint`` shows it), then
  >= 99 % of calls succeed;
- mirroring (Istio's task shape, ``mirrorPercentage: 50``): clients get v1's answers only, v2
  sees 50 +- 10 % of the calls with the ``-shadow`` host;
- REGISTRY_ONLY answers 502 for a host outside the registry that ALLOW_ANY reaches, and a
  ServiceEntry makes it reachable (the external service is a pod without a sidecar).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import BOOKINFO, ROOT, assert_nothing_left, sailctl, skip_unless_netns

from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.runtime import proxy as envoy_proxy
from sailmesh.runtime.local import RunningPod

pytestmark = pytest.mark.e2e

skip_unless_netns()

SAMPLES = ROOT / "samples"
PATHS = [
    str(BOOKINFO / "platform" / "namespace.yaml"),
    str(SAMPLES / "httpbin" / "httpbin.yaml"),
    str(SAMPLES / "httpbin" / "sample-client" / "fortio-deploy.yaml"),
]
FORTIO = ("deploy/fortio-deploy", "-c", "fortio", "--", "/usr/bin/fortio")

#: Three replicas behind two Services (one per test): one replica answers 503 to everything.
FLAKY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: flaky-good}
spec:
  replicas: 2
  selector: {matchLabels: {app: flaky}}
  template:
    metadata: {labels: {app: flaky, health: good}}
    spec:
      containers: [{name: fortio, image: fortio/fortio, ports: [{containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: flaky-bad}
spec:
  selector: {matchLabels: {app: flaky}}
  template:
    metadata: {labels: {app: flaky, health: bad}}
    spec:
      containers:
      - name: fortio
        image: fortio/fortio
        args: [server, -echo-server-default-params, status=503]
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: retried}
spec: {selector: {app: flaky}, ports: [{name: http, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: ejected}
spec: {selector: {app: flaky}, ports: [{name: http, port: 8080}]}
"""

#: Istio's mirroring task: httpbin v1 and v2 (the python image, run by gunicorn on port 80).
MIRROR_APPS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: mirror, labels: {istio-injection: enabled}}\n"
for _version in ("v1", "v2"):
    MIRROR_APPS += f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: httpbin-{_version}}}
spec:
  selector: {{matchLabels: {{app: httpbin, version: {_version}}}}}
  template:
    metadata: {{labels: {{app: httpbin, version: {_version}}}}}
    spec:
      containers:
      - image: docker.io/kennethreitz/httpbin
        imagePullPolicy: IfNotPresent
        name: httpbin
        command: ["gunicorn", "--access-logfile", "-", "-b", "0.0.0.0:80", "httpbin:app"]
        ports: [{{containerPort: 80}}]
"""
MIRROR_APPS += """---
apiVersion: v1
kind: Service
metadata: {name: httpbin, labels: {app: httpbin}}
spec:
  ports: [{name: http, port: 8000, targetPort: 80}]
  selector: {app: httpbin}
"""

#: A server outside the mesh: its own sandbox, no sidecar, listening on 8000 (an HTTP port the
#: client's sidecar has a listener for, as in Istio's egress task).
EXTERNAL = """
apiVersion: v1
kind: Namespace
metadata: {name: external, labels: {istio-injection: disabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: external}
spec:
  selector: {matchLabels: {app: external}}
  template:
    metadata: {labels: {app: external}}
    spec:
      containers:
      - {name: httpbin, image: mccutchen/go-httpbin, args: [-port, "8000"], ports: [{containerPort: 8000}]}
"""


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    m = LocalMeshThread(tmp_path_factory.mktemp("sailmesh-home"))
    run_id = m.mesh.names.run_id
    try:
        m.start(PATHS)
        m.apply(FLAKY)
        m.apply(MIRROR_APPS, "mirror")
        m.apply(EXTERNAL, "external")
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id)


def home(mesh: LocalMeshThread) -> Path:
    return Path(mesh.mesh.home)


def pod(mesh: LocalMeshThread, ref: str, namespace: str = "default") -> RunningPod:
    assert mesh.mesh.runtime is not None
    found = mesh.mesh.runtime.find_pod(ref, namespace)
    assert found is not None, ref
    return found


def load(mesh: LocalMeshThread, url: str, calls: int, connections: int = 3) -> dict[int, int]:
    """fortio's ``Code N : count`` lines for a bounded load from the fortio pod."""
    out = sailctl(
        home(mesh),
        "exec",
        *FORTIO,
        "load",
        "-c",
        str(connections),
        "-qps",
        "0",
        "-n",
        str(calls),
        "-loglevel",
        "Warning",
        url,
    )
    codes = {int(c): int(n) for c, n in re.findall(r"^Code (-?\d+) : (\d+) \(", out, re.M)}
    assert sum(codes.values()) == calls, out
    return codes


def success(codes: dict[int, int]) -> float:
    return codes.get(200, 0) / sum(codes.values())


def fortio_curl(mesh: LocalMeshThread, url: str, *flags: str) -> int:
    """The status code of ``fortio curl`` from the fortio pod (0: no response)."""
    out = sailctl(home(mesh), "exec", *FORTIO, "curl", *flags, url, check=False)
    found = re.match(r"HTTP/1\.1 (\d{3})", out)
    return int(found.group(1)) if found else 0


def sidecar_log(client: RunningPod) -> str:
    return client.supervisor.log_path("istio-proxy").read_text(errors="replace")


CIRCUIT_BREAKER = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin}
spec:
  host: httpbin
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 3m
      maxEjectionPercent: 100
"""
OVERFLOW = "cluster.outbound|8000||httpbin.default.svc.cluster.local.upstream_rq_pending_overflow"


def overflows(client: RunningPod) -> int:
    status, body = envoy_proxy.admin_request(
        client.netns_file, "/stats?filter=upstream_rq_pending_overflow", client.admin_port
    )
    assert status == 200, body[:200]
    found = re.search(re.escape(OVERFLOW) + r": (\d+)", body)
    return int(found.group(1)) if found else 0


def test_circuit_breaking_trips_with_three_connections(mesh: LocalMeshThread) -> None:
    client = pod(mesh, "deploy/fortio-deploy")
    mesh.apply(CIRCUIT_BREAKER)
    try:
        url = "http://httpbin:8000/get"

        def tripped() -> bool:
            return load(mesh, url, 30).get(503, 0) > 0

        wait_for(tripped, 30, "the circuit breaker to turn calls away")
        codes = load(mesh, url, 30)
        print(f"\ncircuit breaking, fortio -c 3 -qps 0 -n 30: {codes}")
        assert codes.get(503, 0) > 0 and codes.get(200, 0) > 0, codes
        assert set(codes) <= {200, 503}, codes
        assert overflows(client) > 0
        wait_for(lambda: " 503 UO " in sidecar_log(client), 5, "503 UO in the access log")
    finally:
        mesh.delete(CIRCUIT_BREAKER)


def _retries(attempts: str) -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: retried}}
spec:
  hosts: [retried]
  http: [{{route: [{{destination: {{host: retried}}}}], retries: {attempts}}}]
"""


def test_retries_turn_one_failing_replica_in_three_into_successes(mesh: LocalMeshThread) -> None:
    url = "http://retried:8080/echo"
    none, three = _retries("{attempts: 0}"), _retries("{attempts: 3, perTryTimeout: 2s}")
    mesh.apply(none)
    try:
        wait_for(lambda: load(mesh, url, 30).get(503, 0) > 0, 30, "retries to be off")
        without = load(mesh, url, 90)
        mesh.apply(three)
        wait_for(lambda: success(load(mesh, url, 30)) == 1.0, 30, "retries to be on")
        with_retries = load(mesh, url, 300)
    finally:
        mesh.delete(three)
    print(f"\nretries: without {without}, with attempts: 3 {with_retries}")
    assert 0.2 <= 1 - success(without) <= 0.45, without
    assert success(with_retries) >= 0.99, with_retries


OUTLIER = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ejected}
spec:
  host: ejected
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 2m, maxEjectionPercent: 50}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ejected}
spec:
  hosts: [ejected]
  http: [{route: [{destination: {host: ejected}}], retries: {attempts: 0}}]
"""
EJECTED_CLUSTER = "outbound|8080||ejected.default.svc.cluster.local"


def endpoint_rows(mesh: LocalMeshThread) -> list[list[str]]:
    out = sailctl(home(mesh), "proxy-config", "endpoint", "deploy/fortio-deploy")
    return [line.split() for line in out.splitlines() if EJECTED_CLUSTER in line]


def test_outlier_detection_ejects_the_failing_replica(mesh: LocalMeshThread) -> None:
    bad_ip = pod(mesh, "deploy/flaky-bad").ip
    url = "http://ejected:8080/echo"
    mesh.apply(OUTLIER)
    try:

        def ejected() -> bool:
            load(mesh, url, 12, connections=1)
            return [f"{bad_ip}:8080", "HEALTHY", "FAILED"] in [r[:3] for r in endpoint_rows(mesh)]

        wait_for(ejected, 30, "the failing replica to be ejected")
        rows = endpoint_rows(mesh)
        after = load(mesh, url, 300)
    finally:
        mesh.delete(OUTLIER)
    print(f"\noutlier detection: endpoints {rows}; after the ejection {after}")
    assert sorted(r[2] for r in rows) == ["FAILED", "OK", "OK"], rows
    assert success(after) >= 0.99, after


MIRROR = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin}
spec:
  host: httpbin
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin}
spec:
  hosts: [httpbin]
  http:
  - route: [{destination: {host: httpbin, subset: v1}, weight: 100}]
    mirror: {host: httpbin, subset: v2}
    mirrorPercentage: {value: 50.0}
"""


def _requests(server: RunningPod, marker: str = "") -> int:
    text = server.supervisor.log_path("httpbin").read_text(errors="replace")
    return sum(1 for line in text.splitlines() if '"GET /headers' in line and marker in line)


def test_mirroring_copies_half_the_calls_to_v2(mesh: LocalMeshThread) -> None:
    v1, v2 = pod(mesh, "deploy/httpbin-v1", "mirror"), pod(mesh, "deploy/httpbin-v2", "mirror")
    url = "http://httpbin.mirror:8000/headers"
    mesh.apply(MIRROR, "mirror")
    try:
        wait_for(lambda: load(mesh, url, 10) and _requests(v2, "-shadow") > 0, 30, "mirroring")
        before = (_requests(v1), _requests(v2), _requests(v2, "-shadow"))
        calls = 400
        codes = load(mesh, url, calls, connections=2)

        def settled() -> bool:  # mirrored calls are sent alongside: give the last ones a moment
            return _requests(v1) - before[0] == calls

        wait_for(settled, 10, "v1's log")
        mirrored = _requests(v2, "-shadow") - before[2]
        on_v2 = _requests(v2) - before[1]
    finally:
        mesh.delete(MIRROR, "mirror")
    print(f"\nmirroring 50 %: {calls} calls {codes}, v2 saw {mirrored} copies")
    assert codes == {200: calls}  # every answer came from v1 (v1 logged each call)
    assert on_v2 == mirrored  # v2 only ever saw copies, each with the -shadow host
    assert 0.4 * calls <= mirrored <= 0.6 * calls, mirrored


SIDECAR_REGISTRY_ONLY = """
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default}
spec:
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
"""


def _service_entry(ip: str) -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: external}}
spec:
  hosts: [ext.example.com]
  location: MESH_EXTERNAL
  ports: [{{number: 8000, name: http, protocol: HTTP}}]
  resolution: STATIC
  endpoints: [{{address: {ip}}}]
"""


def test_registry_only_blocks_unknown_hosts_until_a_service_entry(mesh: LocalMeshThread) -> None:
    ip = pod(mesh, "deploy/external", "external").ip
    url, host = f"http://{ip}:8000/get", ("-H", "Host: ext.example.com")
    assert fortio_curl(mesh, url, *host) == 200  # ALLOW_ANY: passed through to the address
    entry = _service_entry(ip)
    mesh.apply(SIDECAR_REGISTRY_ONLY)
    try:
        wait_for(lambda: fortio_curl(mesh, url, *host) == 502, 30, "REGISTRY_ONLY's 502")
        mesh.apply(entry)
        wait_for(lambda: fortio_curl(mesh, url, *host) == 200, 30, "the ServiceEntry's route")
        assert fortio_curl(mesh, url, "-H", "Host: other.example.com") == 502
    finally:
        mesh.delete(entry)
        mesh.delete(SIDECAR_REGISTRY_ONLY)
    client = pod(mesh, "deploy/fortio-deploy")
    log = sidecar_log(client)
    assert "outbound|8000||ext.example.com" in log and "block_all" in log
