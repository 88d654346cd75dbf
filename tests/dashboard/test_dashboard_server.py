"""The dashboard server on a real control plane (no pods): listens on 127.0.0.1 only, refuses
foreign Host headers, serves the vendored libraries, config with analyzer messages and YAML,
one-line JSON errors, the traces API (filters, one trace as waterfall rows); a taken port
falls back to a free one."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from config_support.manifests import manifests
from e2e_support.loop_thread import LoopThread
from sailmesh.app.backend import MeshApi
from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings
from sailmesh.dashboard.server import DashboardServer
from sailmesh.dashboard.views import Sources
from sailmesh.telemetry.history import TrafficHistory
from trace_support import CLIENT, export, span

CONFIG = manifests("""
VirtualService reviews
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v9}}]}]
""")


@pytest.fixture(scope="module")
def dashboard() -> Iterator[DashboardServer]:
    cp = ControlPlane(ControlPlaneSettings())
    api = MeshApi(cp)
    api.apply_yaml(CONFIG, "vs.yaml", "default")
    loop = LoopThread("dashboard", 30)
    server = DashboardServer(Sources(cp, TrafficHistory(), api, 5.0), port=0)
    loop.call(server.start())
    try:
        yield server
    finally:
        loop.call(server.stop())
        loop.close()


def get(server: DashboardServer, path: str, host: str = "127.0.0.1") -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": f"{host}:{server.port}"})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type") or "", resp.read().decode()
    finally:
        conn.close()


def get_json(server: DashboardServer, path: str) -> tuple[int, Any]:
    status, _, body = get(server, path)
    return status, json.loads(body)


def test_listens_on_loopback_only(dashboard: DashboardServer) -> None:
    assert dashboard.url == f"http://127.0.0.1:{dashboard.port}/"
    with socket.socket() as s:
        s.settimeout(2)
        # the host's other addresses are not served (the dashboard bound 127.0.0.1 only)
        assert s.connect_ex(("127.0.0.2", dashboard.port)) != 0


def test_foreign_host_headers_are_refused(dashboard: DashboardServer) -> None:
    assert get(dashboard, "/api/config", host="attacker.example")[0] == 403
    assert get(dashboard, "/api/config", host="localhost")[0] == 200


def test_the_page_and_its_vendored_libraries_are_served(dashboard: DashboardServer) -> None:
    status, ctype, body = get(dashboard, "/")
    assert status == 200 and "text/html" in ctype and "/static/vendor/cytoscape.min.js" in body
    assert '<script src="/static/traces.js" defer>' in body and 'href="#/traces"' in body
    for path in ("cytoscape.min.js", "cytoscape-dagre.min.js", "uPlot.iife.min.js"):
        status, ctype, body = get(dashboard, f"/static/vendor/{path}")
        assert status == 200 and "javascript" in ctype and len(body) > 10_000
    assert get(dashboard, "/static/../views.py")[0] == 404


def test_config_lists_objects_with_analyzer_messages_and_yaml(dashboard: DashboardServer) -> None:
    status, body = get_json(dashboard, "/api/config")
    assert status == 200
    (vs,) = [i for i in body["items"] if i["kind"] == "VirtualService"]
    assert vs["status"] == "Error"  # the subset and host are unknown: IST0101
    assert any(m["code"] == "IST0101" for m in vs["messages"])
    status, one = get_json(dashboard, "/api/config/VirtualService/default/reviews")
    assert status == 200 and "subset: v9" in one["yaml"]


def test_errors_are_one_line_json(dashboard: DashboardServer) -> None:
    assert get_json(dashboard, "/api/graph?window=2d") == (
        400,
        {"error": "unknown window '2d'; one of 10s, 1m, 5m, 1h"},
    )
    status, body = get_json(dashboard, "/api/config/VirtualService/default/nope")
    assert status == 404 and body["error"] == "no VirtualService default/nope"
    status, body = get_json(dashboard, "/api/graph?window=1m")
    assert status == 200 and body["nodes"] == [] and body["edges"] == []


def test_traces_api_lists_filters_and_lays_out_one_trace(dashboard: DashboardServer) -> None:
    store = dashboard.src.cp.traces
    # trace 1: gw -> productpage (slow, 80 ms) -> ratings (failing); trace 2: details, 5 ms
    store.ingest(export("gw.istio-system", span(1, 1, None, 1000, 100, kind=CLIENT)))
    store.ingest(export("productpage.default", span(1, 2, 1, 1010, 80)))
    store.ingest(export("ratings.default", span(1, 3, 2, 1020, 10, error=True)))
    store.ingest(export("details.default", span(2, 1, None, 2000, 5)))
    one, two = f"{1:032x}", f"{2:032x}"
    status, body = get_json(dashboard, "/api/traces")
    assert status == 200 and [t["traceId"] for t in body["traces"]] == [two, one]
    assert body["services"] == [
        "details.default", "gw.istio-system", "productpage.default", "ratings.default"]  # fmt: skip
    assert body["traces"][1] == {
        "traceId": one, "startMs": 1000.0, "durationMs": 100.0, "spans": 3,
        "rootService": "gw.istio-system", "rootOperation": "op-1",
        "services": ["gw.istio-system", "productpage.default", "ratings.default"], "errors": 1,
    }  # fmt: skip
    for query, wanted in [
        ("service=productpage", [one]),
        ("service=details.default", [two]),
        ("minDuration=50ms", [one]),
        ("minDuration=0.05s&service=details", []),
        ("minDuration=4", [two, one]),
        ("limit=1", [two]),
    ]:
        status, body = get_json(dashboard, f"/api/traces?{query}")
        assert status == 200 and [t["traceId"] for t in body["traces"]] == wanted, query
    status, trace = get_json(dashboard, f"/api/traces/{one}")
    assert status == 200 and trace["traceId"] == one and trace["durationMs"] == 100
    assert [
        (r["service"], r["operation"], r["kind"], r["depth"], r["parent"], r["error"])
        for r in trace["rows"]
    ] == [
        ("gw.istio-system", "op-1", "CLIENT", 0, None, False),
        ("productpage.default", "op-2", "SERVER", 1, 0, False),
        ("ratings.default", "op-3", "SERVER", 2, 1, True),
    ]
    ratings = trace["rows"][2]
    assert (ratings["offsetMs"], ratings["start"], ratings["width"]) == (20, 0.2, 0.1)
    assert ratings["tags"] == {"tag": "7"} and ratings["parentSpanId"] == f"{2:016x}"


def test_traces_api_refuses_bad_filters_and_unknown_traces(dashboard: DashboardServer) -> None:
    assert get_json(dashboard, "/api/traces?minDuration=soon") == (
        400,
        {"error": "'soon' is not a duration (e.g. 100ms, 1.5s)"},
    )
    status, body = get_json(dashboard, "/api/traces?limit=0")
    assert status == 400 and body["error"] == "limit must be a whole number from 1 to 500, not '0'"
    status, body = get_json(dashboard, "/api/traces/not-a-trace")
    assert status == 400 and "is not a trace id (32 hexadecimal digits)" in body["error"]
    status, body = get_json(dashboard, f"/api/traces/{'E' * 32}")
    assert status == 404 and body["error"] == f"no trace {'e' * 32} (kept: the 2000 most recent)"


def test_a_taken_port_falls_back_to_a_free_one(dashboard: DashboardServer) -> None:
    other = DashboardServer(dashboard.src, port=dashboard.port)
    loop = LoopThread("dashboard", 30)
    try:
        url = loop.call(other.start())
        assert other.port not in (0, dashboard.port) and url.startswith("http://127.0.0.1:")
    finally:
        loop.call(other.stop())
        loop.close()
