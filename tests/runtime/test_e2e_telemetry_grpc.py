"""gRPC message metrics end to end: a client pod streams N messages to a gRPC echo service
through both sidecars (mutual TLS), and each sidecar's merged view (15020) counts exactly N
``istio_request_messages_total`` and N ``istio_response_messages_total`` for that edge, with
Istio's labels and ``grpc_response_status``.

One small mesh (netns mode) is shared by the module: the echo service and a client. Each test
measures what its own streams add (counters before and after).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import assert_nothing_left, skip_unless_netns

from e2e_support.bookinfo import pod
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.runtime.addons import get_in_node
from sailmesh.telemetry.exposition import Sample, parse

pytestmark = pytest.mark.e2e

skip_unless_netns()

#: The apps run with the test's interpreter: the system ``python3`` has no grpcio.
MANIFESTS = """
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
""".replace("PYTHON", sys.executable)
EDGE = {"source_workload": "grpc-client", "destination_workload": "grpc-echo-v1"}


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


def merged(mesh: LocalMeshThread, deploy: str, metric: str) -> list[Sample]:
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
        if all(s.label(k) == v for k, v in EDGE.items())
    ]


def total(mesh: LocalMeshThread, deploy: str, metric: str, reporter: str) -> float:
    return sum(s.value for s in merged(mesh, deploy, metric) if s.label("reporter") == reporter)


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
