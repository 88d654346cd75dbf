"""How fast the dashboard's graph is with a big generated mesh (200 services, 1,000 edges by
default; ``BENCH_DASHBOARD_CASE=SERVICESxEDGES`` for another size).

Generated, not run: 200 services in 10 namespaces, each served by one or two workloads (v1,
v2), and callers picked at random until the graph has the wanted edges (caller -> service and
service -> workload hops). A minute of traffic samples, one a second, goes into the control
plane's :class:`~sailmesh.telemetry.history.TrafficHistory`, each hop with counters and a
duration histogram. Measured:
- the control plane's side of ``/api/graph``: rates over the window, the graph and its JSON;
- in real headless Chromium (the system's, as the browser tests), on the real page served by
  :class:`~sailmesh.dashboard.server.DashboardServer`: from navigation to the laid-out graph
  with every edge drawn (first render, dagre layout included), a periodic refresh (fetch, then
  the data of every element updated in place, no new layout), and a new layout alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sailmesh.app.backend import MeshApi
from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings
from sailmesh.dashboard import views
from sailmesh.dashboard.server import DashboardServer
from sailmesh.telemetry.history import TrafficHistory
from sailmesh.telemetry.traffic import BOUNDS, Counters, Hop, NodeRef, TrafficSample

Row = tuple[str, str, str, str]


def _case() -> tuple[int, int]:
    services, edges = os.environ.get("BENCH_DASHBOARD_CASE", "200x1000").split("x")
    return int(services), int(edges)


def generate_hops(services: int, edges: int, seed: int = 15) -> list[Hop]:
    rng = random.Random(seed)
    svc_nodes, workloads, hops = [], [], []
    for i in range(services):
        ns = f"team-{i % 10}"
        svc = NodeRef("service", ns, f"svc-{i}")
        svc_nodes.append(svc)
        for version in ("v1", "v2")[: 1 + (i % 4 == 0)]:
            w = NodeRef("workload", ns, f"svc-{i}-{version}", f"svc-{i}", version)
            workloads.append(w)
            hops.append(Hop(svc, w, "http"))
    seen = set(hops)
    while len(hops) < edges:
        hop = Hop(rng.choice(workloads), rng.choice(svc_nodes), "http")
        if hop not in seen and hop.source.name.rsplit("-", 1)[0] != hop.destination.name:
            seen.add(hop)
            hops.append(hop)
    return hops


def generate_history(hops: list[Hop], seconds: int = 60) -> TrafficHistory:
    history = TrafficHistory()
    rng = random.Random(1)
    rps = {hop: rng.uniform(0.5, 50) for hop in hops}
    for t in range(seconds + 1):
        sample: TrafficSample = {}
        for hop in hops:
            n = rps[hop] * t
            c = Counters(requests=n, errors=n * (0.3 if hash(hop) % 50 == 0 else 0.0), mtls=n)
            c.buckets = [n * min(1.0, b / 50) if b != float("inf") else n for b in BOUNDS]
            reporter = "source" if hop.destination.kind == "service" else "destination"
            sample[(reporter, hop)] = c
        history.add(float(t), sample)
    return history


def _median_ms(fn: object, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: object) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)  # type: ignore[arg-type]

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _browser_rows(src: views.Sources, edges: int) -> list[Row]:
    from e2e_support.browser import chromium, new_page, screenshot

    loop = _Loop()
    server = DashboardServer(src, port=0)
    loop.call(server.start())
    rows: list[Row] = []
    try:
        with chromium() as browser:
            page = new_page(browser)
            page.set_default_timeout(120_000)
            started = time.perf_counter()
            page.goto(server.url + "#/graph")
            page.wait_for_function(f"() => state.cy && state.cy.edges().length === {edges}")
            first = (time.perf_counter() - started) * 1000
            refresh = page.evaluate(
                "async () => { const t = performance.now(); await render(false);"
                " clearTimeout(state.timer); return performance.now() - t; }"
            )
            layout = page.evaluate(
                "() => { state.nodeKey = ''; const t = performance.now();"
                " drawGraph(window.sailGraph); return performance.now() - t; }"
            )
            rows += [
                (
                    "dashboard",
                    f"first render in Chromium, {edges} edges",
                    f"{first:.0f} ms",
                    "< 3000 ms",
                ),
                (
                    "dashboard",
                    "periodic refresh (fetch + update in place)",
                    f"{refresh:.0f} ms",
                    "< 300 ms",
                ),
                ("dashboard", "new layout + draw", f"{layout:.0f} ms", "< 2000 ms"),
            ]
            screenshot(page, "bench_dashboard", f"graph-{edges}-edges")
            page.close()
    finally:
        loop.call(server.stop())
        loop.close()
    return rows


def run() -> list[Row]:
    services, edges = _case()
    hops = generate_hops(services, edges)
    history = generate_history(hops)
    cp = ControlPlane(ControlPlaneSettings())
    src = views.Sources(cp, history, MeshApi(cp), 5.0)
    body = views.graph(src, "1m")
    assert len(body["edges"]) == edges, len(body["edges"])
    server_ms = _median_ms(lambda: json.dumps(views.graph(src, "1m")))
    rows: list[Row] = [
        (
            "dashboard",
            f"/api/graph, {services} services, {edges} edges",
            f"{server_ms:.0f} ms",
            "< 200 ms",
        ),
    ]
    return rows + _browser_rows(src, edges)


if __name__ == "__main__":
    for row in run():
        print("  ".join(row))
