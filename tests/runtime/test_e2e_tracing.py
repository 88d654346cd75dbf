"""Distributed tracing end to end: real requests through the gateway and bookinfo's sidecars,
spans reported by Envoy's OpenTelemetry tracer to the control plane's collector (OTLP/gRPC,
served next to ADS), read back through ``sailctl traces`` and the control-plane API, and
forwarded to an OTLP/HTTP endpoint the test runs on 127.0.0.1.

One mesh (netns mode) is shared by the module: bookinfo with its gateway and the demo's
DestinationRules, and an echo app (default/echo) that answers with the request headers it
received. Each test applies its mesh-wide Telemetry, waits until every proxy has it, and
counts only the traces its own requests started (the gateway's root spans after a mark).
Istio's span tags (``enableIstioTags``, on by default) are read from the collector's spans;
``disableContextPropagation`` from the headers the echo app received.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from runtime_e2e import DEMO_PATHS, assert_nothing_left, sailctl, skip_unless_netns

from e2e_support.bookinfo import page
from e2e_support.echo import ECHO_SCRIPT, pod_call
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from e2e_support.sync import synced
from sailmesh.runtime.local import RunningPod
from sailmesh.telemetry.traces import decode

pytestmark = pytest.mark.e2e

skip_unless_netns()

GATEWAY = "istio-ingressgateway.istio-system"
#: Envoy's OpenTelemetry tracer sends its spans every 5 s (or every 5 spans).
FLUSH = 12.0


def telemetry(sampling: float, extra: str = "") -> str:
    """The mesh-wide Telemetry; ``extra``: more fields of its tracing entry (one line)."""
    return f"""
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {{name: mesh-default, namespace: istio-system}}
spec:
  tracing:
  - randomSamplingPercentage: {sampling}
    customTags:
      suite: {{literal: {{value: e2e-tracing}}}}
      user: {{header: {{name: end-user, defaultValue: nobody}}}}
    {extra}
"""


ECHO = f"""
apiVersion: v1
kind: Service
metadata: {{name: echo, namespace: default}}
spec:
  selector: {{app: echo}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: echo, namespace: default}}
spec:
  selector: {{matchLabels: {{app: echo}}}}
  template:
    metadata: {{labels: {{app: echo, version: v3}}}}
    spec:
      containers:
      - name: echo
        command: {json.dumps(["python3", "-c", ECHO_SCRIPT])}
        ports: [{{containerPort: 8080}}]
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sailmesh-home")


class _Receiver(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint on 127.0.0.1 that keeps the trace ids of what it is sent."""

    trace_ids: ClassVar[set[str]] = set()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.trace_ids.update(span["trace_id"] for span, _ in decode(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def receiver() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def mesh(home: Path, receiver: http.server.HTTPServer) -> Iterator[LocalMeshThread]:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/v1/traces"
    echo = home / "echo-app"
    echo.mkdir()
    (echo / "echo.yaml").write_text(ECHO)
    m = LocalMeshThread(home, otlp_forward=url)
    run_id = m.mesh.names.run_id
    try:
        m.start([*DEMO_PATHS, str(echo)])
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id)


#: reviews v2 calls ratings on every request: each page crosses productpage -> reviews -> ratings
REVIEWS_V2 = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v2}
"""


def configure(mesh: LocalMeshThread, sampling: float, extra: str = "") -> None:
    mesh.apply(REVIEWS_V2)
    mesh.apply(telemetry(sampling, extra), namespace="istio-system")
    synced(mesh)


def gateway_traces(mesh: LocalMeshThread, since_ns: int) -> list[dict[str, Any]]:
    assert mesh.mesh.cp is not None
    found = mesh.mesh.cp.traces.list_traces(limit=1000)
    return [t for t in found if t["root_service"] == GATEWAY and t["start_ns"] >= since_ns]


def spans_of(mesh: LocalMeshThread, trace_id: str) -> list[dict[str, Any]]:
    assert mesh.mesh.cp is not None
    trace = mesh.mesh.cp.traces.get_trace(trace_id)
    assert trace is not None
    spans: list[dict[str, Any]] = trace["span_list"]
    return spans


def test_one_trace_per_request_joined_across_every_hop(mesh: LocalMeshThread, home: Path) -> None:
    configure(mesh, 100)
    mark = time.time_ns()
    port = mesh.gateway_port(8080)
    pages = 4
    for _ in range(pages):
        page(port)
    expected = {GATEWAY, "productpage.default", "details.default", "reviews.default",
                "ratings.default"}  # fmt: skip

    def complete() -> bool:
        traces = gateway_traces(mesh, mark)
        return len(traces) == pages and all(expected <= set(t["services"]) for t in traces)

    try:
        wait_for(complete, FLUSH + 10, f"{pages} complete traces in the collector")
    except AssertionError:
        assert mesh.mesh.cp is not None
        raise AssertionError(mesh.mesh.cp.traces.list_traces(limit=50)) from None
    traces = gateway_traces(mesh, mark)
    assert len({t["trace_id"] for t in traces}) == pages
    trace_id = traces[0]["trace_id"]

    def chain() -> list[dict[str, Any]]:
        """The spans from ratings' server span up through the parents, as far as they go."""
        spans = spans_of(mesh, trace_id)
        by_id = {s["span_id"]: s for s in spans}
        found = [s for s in spans if s["service"] == "ratings.default" and s["kind"] == "SERVER"]
        while found and found[-1]["parent_span_id"] in by_id:
            found.append(by_id[found[-1]["parent_span_id"]])
        return found

    wait_for(lambda: len(chain()) >= 6, FLUSH, "the spans of every hop")
    # each hop a client span of the caller's proxy parenting a server span of the callee's
    # sidecar, from the gateway down to ratings
    hops = chain()
    spans = spans_of(mesh, trace_id)
    assert [(s["service"], s["kind"]) for s in reversed(hops)] == [
        (GATEWAY, "CLIENT"),
        ("productpage.default", "SERVER"),
        ("productpage.default", "CLIENT"),
        ("reviews.default", "SERVER"),
        ("reviews.default", "CLIENT"),
        ("ratings.default", "SERVER"),
    ]
    assert hops[-1]["parent_span_id"] in ("", "0" * 16)  # the gateway's span is the root
    # the custom tags are on every span (literal, and a header with its default)
    assert all(s["attributes"].get("suite") == "e2e-tracing" for s in spans)
    assert all(s["attributes"].get("user") == "nobody" for s in spans)

    # the CLI: the list (filtered by service) and the waterfall
    listed = sailctl(home, "traces", "--service", "ratings", "-n", "50")
    assert trace_id in listed
    shown = sailctl(home, "traces", trace_id)
    lines = shown.splitlines()
    assert lines[0].startswith(f"trace {trace_id}")
    assert any("ratings.default" in line and "server" in line and "█" in line for line in lines)
    slow = sailctl(home, "traces", "--min-duration", "1h")
    assert "no traces" in slow
    # the collector forwarded what it received to the endpoint the user named
    wanted = {t["trace_id"] for t in traces}
    wait_for(lambda: wanted <= _Receiver.trace_ids, 10, "the forwarded spans")
    assert len(gateway_traces(mesh, mark)) == pages  # still one trace per request


def test_sampling_zero_reports_no_trace(mesh: LocalMeshThread) -> None:
    configure(mesh, 0)
    mark = time.time_ns()
    port = mesh.gateway_port(8080)
    for _ in range(5):
        page(port)
    time.sleep(FLUSH)
    assert gateway_traces(mesh, mark) == []


def test_the_api_answers_an_unknown_trace_with_404(mesh: LocalMeshThread, home: Path) -> None:
    out = sailctl(home, "traces", "0" * 32, check=False)
    assert f"no trace {'0' * 32}" in out


def test_spans_arrive_over_otlp_grpc(mesh: LocalMeshThread) -> None:
    """Envoy's tracer exports OTLP over gRPC to the receiver next to ADS (Istio's default for
    opentelemetry providers): the spans of these pages came through it."""
    configure(mesh, 100)
    assert mesh.mesh.cp is not None
    receiver = mesh.mesh.cp.otlp
    before = receiver.exports
    mark = time.time_ns()
    port = mesh.gateway_port(8080)
    for _ in range(2):
        page(port)
    wait_for(lambda: len(gateway_traces(mesh, mark)) == 2, FLUSH + 10, "2 traces")
    assert receiver.exports > before


EVERY_HOP = {GATEWAY, "productpage.default", "details.default", "reviews.default",
             "ratings.default"}  # fmt: skip
ISTIO_TAGS = ("istio.canonical_service", "istio.canonical_revision", "istio.namespace",
              "istio.mesh_id", "istio.cluster_id")  # fmt: skip


def traced_pages(mesh: LocalMeshThread, pages: int) -> list[dict[str, Any]]:
    """Load ``pages`` pages; the spans of their traces (every hop down to ratings)."""
    mark = time.time_ns()
    port = mesh.gateway_port(8080)
    for _ in range(pages):
        page(port)

    def spans() -> list[dict[str, Any]]:
        found = [s for t in gateway_traces(mesh, mark) for s in spans_of(mesh, t["trace_id"])]
        return found if {s["service"] for s in found} >= EVERY_HOP else []

    wait_for(lambda: len(gateway_traces(mesh, mark)) == pages and bool(spans()), FLUSH + 10,
             f"{pages} traces with spans of every hop")  # fmt: skip
    return spans()


def test_istio_span_tags_are_on_every_span_unless_disabled(mesh: LocalMeshThread) -> None:
    configure(mesh, 100)
    spans = traced_pages(mesh, 2)
    for span in spans:
        tags = span["attributes"]
        service, namespace = span["service"].rsplit(".", 1)
        assert tags["istio.canonical_service"] == service, span
        assert tags["istio.namespace"] == namespace
        assert tags["istio.mesh_id"] == "cluster.local"
        assert tags["istio.cluster_id"] == "Kubernetes"
        assert tags["suite"] == "e2e-tracing"  # next to the user's tags
    revisions = {s["service"]: s["attributes"]["istio.canonical_revision"] for s in spans}
    assert revisions["ratings.default"] == "v1" and revisions[GATEWAY] == "latest"

    configure(mesh, 100, "enableIstioTags: false")
    spans = traced_pages(mesh, 2)
    for span in spans:
        assert not [k for k in span["attributes"] if k in ISTIO_TAGS], span
        assert span["attributes"]["suite"] == "e2e-tracing"


def pod_of(mesh: LocalMeshThread, app: str) -> RunningPod:
    assert mesh.mesh.runtime is not None
    for pod in mesh.mesh.runtime.pods.values():
        if pod.plan.namespace == "default" and pod.plan.owner.startswith(f"Deployment/{app}"):
            return pod
    raise AssertionError(f"no pod of default/{app}")


TRACE_CONTEXT = ("traceparent", "tracestate", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled",
                 "x-b3-parentspanid", "b3")  # fmt: skip


PRODUCTPAGE = "productpage.default"


def echo_services(mesh: LocalMeshThread, since_ns: int) -> list[list[str]]:
    """The services of each trace since ``since_ns`` that has a span of the echo app."""
    assert mesh.mesh.cp is not None
    found = mesh.mesh.cp.traces.list_traces(limit=1000)
    return [
        sorted(t["services"])
        for t in found
        if t["start_ns"] >= since_ns and "echo.default" in t["services"]
    ]


def test_disable_context_propagation_keeps_trace_headers_from_the_app(
    mesh: LocalMeshThread,
) -> None:
    """productpage's app calls the echo app without trace headers of its own: with
    propagation the echo app receives the context its proxies made, one trace joins both
    sidecars; with ``disableContextPropagation`` it receives none, and each sidecar still
    reports its span (two traces: nothing joined them)."""
    client = pod_of(mesh, "productpage-v1")
    configure(mesh, 100)
    mark = time.time_ns()
    headers = pod_call(client, "http://echo.default/").headers
    assert "traceparent" in headers, headers  # the control: Envoy does inject by default
    joined = [["echo.default", "productpage.default"]]
    wait_for(lambda: echo_services(mesh, mark) == joined, FLUSH + 10, "one trace of both sides")

    configure(mesh, 100, "disableContextPropagation: true")
    mark = time.time_ns()
    answer = pod_call(client, "http://echo.default/")
    assert not [h for h in answer.headers if h in TRACE_CONTEXT], answer.headers
    assert "x-request-id" in answer.headers  # not trace context: still there
    assert mesh.mesh.cp is not None
    cp = mesh.mesh.cp

    def client_side() -> list[dict[str, Any]]:
        found = cp.traces.list_traces(limit=1000)
        return [t for t in found if t["start_ns"] >= mark and t["services"] == [PRODUCTPAGE]]

    # each sidecar still reports its span, in a trace of its own
    wait_for(lambda: bool(echo_services(mesh, mark)) and bool(client_side()), FLUSH + 10,
             "the spans of both sidecars")  # fmt: skip
    time.sleep(FLUSH / 2)  # a late span of the other side would join (it must not)
    assert echo_services(mesh, mark) == [["echo.default"]]
    assert len(client_side()) == 1
