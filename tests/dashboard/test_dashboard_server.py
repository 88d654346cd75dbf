"""The dashboard server on a real control plane (no pods): listens on 127.0.0.1 only, refuses
foreign Host headers, serves the vendored libraries, config with analyzer messages and YAML,
one-line JSON errors; a taken port falls back to a free one."""

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


def test_a_taken_port_falls_back_to_a_free_one(dashboard: DashboardServer) -> None:
    other = DashboardServer(dashboard.src, port=dashboard.port)
    loop = LoopThread("dashboard", 30)
    try:
        url = loop.call(other.start())
        assert other.port not in (0, dashboard.port) and url.startswith("http://127.0.0.1:")
    finally:
        loop.call(other.stop())
        loop.close()
