"""Metrics of long streams and connections end to end, read from each sidecar's merged view
(15020):

- gRPC messages: a client pod streams N messages to a gRPC echo service through both sidecars
  (mutual TLS), and each side counts exactly N ``istio_request_messages_total`` and N
  ``istio_response_messages_total`` for that edge, with Istio's labels and
  ``grpc_response_status``;
- Telemetry ``reportingInterval``: the TCP bytes of a connection that stays open show up (and
  grow) before it closes, counted once.

One small mesh (netns mode) is shared by the module: the echo services and a client. Each test
measures what its own traffic adds (counters before and after).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import assert_nothing_left, skip_unless_netns

from e2e_support.bookinfo import pod
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from e2e_support.telemetry_manifests import TCP_ECHO
from sailmesh.runtime.addons import get_in_node
from sailmesh.telemetry.exposition import Sample, parse

pytestmark = pytest.mark.e2e

skip_unless_netns()

#: The apps run with the test's interpreter: the system ``python3`` has no grpcio.
MANIFESTS = (
    """
apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: grpc-echo, labels: {app: grpc-echo}}
spec:
  ports: [{port: 7070, name: grpc}]
  selector: {app: grpc-echo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: grpc-echo-v1}
spec:
  selector: {matchLabels: {app: grpc-echo, version: v1}}
  template:
    metadata: {labels: {app: grpc-echo, version: v1}}
    spec:
      containers:
      - name: echo
        command: ["PYTHON", "-m", "sailmesh.samples.grpcecho", "serve", "--port", "7070"]
        ports: [{containerPort: 7070}]
---
"""
    + TCP_ECHO
    + """---
apiVersion: apps/v1
kind: Deployment
metadata: {name: grpc-client}
spec:
  selector: {matchLabels: {app: grpc-client}}
  template:
    metadata: {labels: {app: grpc-client, version: v1}}
    spec:
      containers:
      - name: client
        command: ["python3", "-c", "import time; time.sleep(10**9)"]
"""
).replace("PYTHON", sys.executable)
GRPC_EDGE = {"source_workload": "grpc-client", "destination_workload": "grpc-echo-v1"}
TCP_EDGE = {"source_workload": "grpc-client", "destination_workload": "tcp-echo-v1"}


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    manifests = tmp_path_factory.mktemp("manifests") / "grpc.yaml"
    manifests.write_text(MANIFESTS)
    m = LocalMeshThread(tmp_path_factory.mktemp("sailmesh-home"))
    run_id = m.mesh.names.run_id
    try:
        m.start([str(manifests)])
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id)


def merged(
    mesh: LocalMeshThread, deploy: str, metric: str, edge: dict[str, str] = GRPC_EDGE
) -> list[Sample]:
    """The ``metric`` series of the pod's merged view (15020) for the client -> echo edge."""
    got: list[tuple[int, str]] = []

    def scraped() -> bool:
        ip = pod(mesh, deploy).ip
        got[:] = [get_in_node(mesh.mesh.names, 15020, "/stats/prometheus", host=ip, timeout=5)]
        return got[0][0] == 200

    wait_for(scraped, 20, f"{deploy}'s merged metrics on 15020")
    body = got[0][1]
    return [
        s
        for family in parse(body)
        if family.name == metric
        for s in family.samples
        if all(s.label(k) == v for k, v in edge.items())
    ]


def total(
    mesh: LocalMeshThread, deploy: str, metric: str, reporter: str, edge: dict[str, str] = GRPC_EDGE
) -> float:
    samples = merged(mesh, deploy, metric, edge)
    return sum(s.value for s in samples if s.label("reporter") == reporter)


def stream(mesh: LocalMeshThread, count: int) -> None:
    client = pod(mesh, "deploy/grpc-client")
    args = [sys.executable, "-m", "sailmesh.samples.grpcecho", "stream"]
    args += ["--target", "grpc-echo:7070", "--count", str(count)]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    result = client.sandbox.run(args, env=env)
    assert result.stdout.split() == [str(count), str(count), "OK"], result.stderr


SIDES = (("source", "deploy/grpc-client"), ("destination", "deploy/grpc-echo-v1"))
METRICS = ("istio_request_messages_total", "istio_response_messages_total")


def test_a_stream_of_n_messages_counts_n_each_way_on_both_sides(mesh: LocalMeshThread) -> None:
    before = {(m, r): total(mesh, d, m, r) for m in METRICS for r, d in SIDES}
    stream(mesh, 7)
    stream(mesh, 3)

    def counted() -> bool:
        return all(total(mesh, d, m, r) - before[(m, r)] == 10 for m in METRICS for r, d in SIDES)

    wait_for(counted, 20, "7 + 3 messages each way, counted by both sidecars")
    for reporter, deploy in SIDES:
        (sample, *_) = [
            s for s in merged(mesh, deploy, METRICS[0]) if s.label("reporter") == reporter
        ]
        assert sample.label("grpc_response_status") == "0"
        assert sample.label("request_protocol") == "grpc"
        assert sample.label("response_code") == "200"
        assert sample.label("destination_service") == "grpc-echo.default.svc.cluster.local"
        assert "grpc_messages" not in dict(sample.labels)
    (destination, *_) = [
        s
        for s in merged(mesh, "deploy/grpc-echo-v1", METRICS[0])
        if s.label("reporter") == "destination"
    ]
    assert destination.label("connection_security_policy") == "mutual_tls"
    assert destination.label("source_principal").endswith("/sa/default")


def test_a_stream_is_also_one_request(mesh: LocalMeshThread) -> None:
    before = total(mesh, "deploy/grpc-echo-v1", "istio_requests_total", "destination")
    stream(mesh, 5)
    wait_for(
        lambda: (
            total(mesh, "deploy/grpc-echo-v1", "istio_requests_total", "destination") == before + 1
        ),
        20,
        "one request for one stream",
    )


REPORT_EVERY_SECOND = """
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: tcp-reporting, namespace: default}
spec:
  metrics:
  - providers: [{name: prometheus}]
    reportingInterval: 1s
"""
#: Connects to tcp-echo, echoes 1000 bytes, then 1000 more when ``go`` appears, and closes
#: when ``close`` appears; says where it is with files (``one``, ``two``, ``closed``).
LONG_CONNECTION = """
import os, socket, sys, time
here = sys.argv[1]
def mark(name):
    open(os.path.join(here, name), "w").close()
def wait(name):
    deadline = time.time() + 60
    while not os.path.exists(os.path.join(here, name)) and time.time() < deadline:
        time.sleep(0.05)
s = socket.create_connection(("tcp-echo", 9000), timeout=30)
def exchange():
    s.sendall(b"x" * 1000)
    got = b""
    while len(got) < 1000:
        got += s.recv(65536)
exchange(); mark("one"); wait("go")
exchange(); mark("two"); wait("close")
s.close(); mark("closed")
"""
TCP_SIDES = (("source", "deploy/grpc-client"), ("destination", "deploy/tcp-echo-v1"))


def test_a_long_tcp_connection_reports_its_bytes_before_it_closes(mesh: LocalMeshThread) -> None:
    mesh.apply(REPORT_EVERY_SECOND)
    assert mesh.mesh.cp is not None
    assert mesh.call(mesh.mesh.cp.wait_synced(timeout=20), timeout=30)
    here = Path(tempfile.mkdtemp(prefix="sm-tcp-report-"))
    here.chmod(0o777)  # the app user writes its marks here
    try:

        def tcp(metric: str, reporter: str, deploy: str) -> float:
            return total(mesh, deploy, f"istio_tcp_{metric}", reporter, TCP_EDGE)

        names = ("sent_bytes_total", "received_bytes_total", "connections_closed_total")
        before = {(m, r): tcp(m, r, d) for m in names for r, d in TCP_SIDES}

        def delta(metric: str) -> set[float]:
            return {tcp(metric, r, d) - before[(metric, r)] for r, d in TCP_SIDES}

        client = pod(mesh, "deploy/grpc-client")
        client.sandbox.spawn(
            ["python3", "-c", LONG_CONNECTION, str(here)], env={"PATH": "/usr/bin:/bin"}
        )

        def marked(name: str) -> None:
            wait_for(lambda: (here / name).exists(), 20, f"the client's mark {name!r}")

        marked("one")
        wait_for(lambda: delta("sent_bytes_total") == {1000}, 15, "1000 bytes while open")
        assert delta("received_bytes_total") == {1000}
        assert delta("connections_closed_total") == {0}  # still open
        (here / "go").touch()
        marked("two")
        wait_for(lambda: delta("sent_bytes_total") == {2000}, 15, "2000 bytes while open")
        assert delta("connections_closed_total") == {0}
        (here / "close").touch()
        marked("closed")
        wait_for(lambda: delta("connections_closed_total") == {1}, 15, "the connection closed")
        time.sleep(2.5)  # the end report and a periodic one more: nothing counted twice
        assert delta("sent_bytes_total") == {2000}
        assert delta("received_bytes_total") == {2000}
    finally:
        mesh.delete(REPORT_EVERY_SECOND)
        for name in ("go", "close"):
            (here / name).touch()
        wait_for(lambda: (here / "closed").exists(), 20, "the client to end")
        shutil.rmtree(here)
