"""The waterfall page in real headless Chromium over a control plane with no pods, fed OTLP
exports the way Envoy sends them, span batches arriving seconds apart: the open page redraws
when late spans arrive, keeping the span whose tags are open and the keyboard focus. (The
traces pages over real Envoy traffic: ``test_e2e_dashboard_traces.py``.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from e2e_support.browser import chromium, new_page, screenshot
from e2e_support.loop_thread import LoopThread
from sailmesh.app.backend import MeshApi
from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings
from sailmesh.dashboard.server import DashboardServer
from sailmesh.dashboard.views import Sources
from sailmesh.telemetry.history import TrafficHistory
from trace_support import CLIENT, export, span

MODULE = "test_dashboard_traces_page"


@pytest.fixture(scope="module")
def dashboard() -> Iterator[DashboardServer]:
    cp = ControlPlane(ControlPlaneSettings())
    loop = LoopThread("dashboard", 30)
    server = DashboardServer(Sources(cp, TrafficHistory(), MeshApi(cp), 1.0), port=0)
    loop.call(server.start())
    try:
        yield server
    finally:
        loop.call(server.stop())
        loop.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def test_late_spans_are_drawn_keeping_open_tags_and_focus(
    dashboard: DashboardServer, browser: Browser
) -> None:
    store = dashboard.src.cp.traces
    store.ingest(export("gw.istio-system", span(7, 1, None, 1000, 100, kind=CLIENT)))
    store.ingest(export("productpage.default", span(7, 2, 1, 1010, 80)))
    trace_id = f"{7:032x}"
    p = new_page(browser)
    p.goto(dashboard.url + f"#/trace/{trace_id}")
    p.get_by_role("heading", name=f"Trace {trace_id}").wait_for()
    assert p.locator(".wf-row").count() == 2
    p.locator(".wf-label").first.focus()
    p.keyboard.press("ArrowDown")
    p.keyboard.press("Enter")  # productpage's tags open
    p.locator(".wf-row").nth(1).get_by_role("table").wait_for()

    store.ingest(export("reviews.default", span(7, 3, 2, 1020, 30, error=True)))
    p.wait_for_function("document.querySelectorAll('.wf-row').length === 3", timeout=10_000)
    rows = p.eval_on_selector_all(
        ".wf-row",
        "rows => rows.map(r => [r.dataset.service, r.dataset.depth, r.dataset.error,"
        " r.querySelector('.wf-label').getAttribute('aria-expanded')])",
    )
    assert rows == [
        ["gw.istio-system", "0", "false", "false"],
        ["productpage.default", "1", "false", "true"],
        ["reviews.default", "2", "true", "false"],
    ]
    assert p.locator(".wf-row").nth(1).get_by_role("table").is_visible()
    focused = p.evaluate("document.activeElement.closest('.wf-row').dataset.service")
    assert focused == "productpage.default"
    p.keyboard.press("ArrowDown")  # the keys still move through the redrawn rows
    assert p.evaluate("document.activeElement.closest('.wf-row').dataset.service") == (
        "reviews.default"
    )
    screenshot(p, MODULE, "late-spans")
    p.close()
