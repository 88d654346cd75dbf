"""The dashboard's Traces pages in real headless Chromium, over real traces: bookinfo with
tracing at 100 % sampling (a mesh-wide Telemetry, as in ``tests/runtime/test_e2e_tracing.py``),
requests through the ingress gateway to ``/productpage``, spans reported by every Envoy to the
control plane's collector. A trace is found through the page's service filter and opens as a
waterfall whose nesting is the call chain gateway > productpage > reviews > ratings; tags open
with the keyboard; a failing hop is marked as an error; a service page links its traces; the
list and waterfall work by keyboard at a narrow width. Screenshots go to
``test-artifacts/test_e2e_dashboard_traces/``.

One mesh (netns mode) for the module, with its own tracing config (the graph module's mesh
runs a steady load that would fill the trace store); config a test applies is deleted again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from e2e_support.bookinfo import DEMO_PATHS, RATINGS_ABORT, REVIEWS_V2, page
from e2e_support.browser import chromium, new_page, screenshot
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.modes import Mode, detect_mode

pytestmark = pytest.mark.e2e

if detect_mode().mode is not Mode.NETNS:  # pragma: no cover - CI runs as root
    pytest.skip(f"needs netns mode: {detect_mode().describe()}", allow_module_level=True)

MODULE = "test_e2e_dashboard_traces"
GATEWAY = "istio-ingressgateway.istio-system"
#: Envoy's OpenTelemetry tracer sends its spans every 5 s (or every 5 spans).
FLUSH = 12.0
TRACING = """
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing:
  - randomSamplingPercentage: 100
"""
#: The call chain of a page, as (service, span kind) from the gateway down to ratings.
CHAIN = [
    (GATEWAY, "CLIENT"),
    ("productpage.default", "SERVER"),
    ("productpage.default", "CLIENT"),
    ("reviews.default", "SERVER"),
    ("reviews.default", "CLIENT"),
    ("ratings.default", "SERVER"),
]


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    m = LocalMeshThread(tmp_path_factory.mktemp("sailmesh-home"), dashboard_port=0)
    run_id = m.mesh.names.run_id
    try:
        m.start(DEMO_PATHS)
        m.apply(REVIEWS_V2)  # each page crosses productpage > reviews v2 > ratings
        m.apply(TRACING, namespace="istio-system")
        assert m.mesh.cp is not None
        assert m.call(m.mesh.cp.wait_synced(timeout=20), timeout=30)
        yield m
    finally:
        m.close()
        assert netns.list_netns(netns.RunNames(run_id).prefix) == [], "namespaces left behind"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def url(mesh: LocalMeshThread) -> str:
    assert mesh.mesh.dashboard is not None
    return mesh.mesh.dashboard.url


def chain_in_store(mesh: LocalMeshThread, trace_id: str) -> list[tuple[str, str]]:
    """(service, kind) from ratings' server span up through its parents, as the store has it."""
    assert mesh.mesh.cp is not None
    trace = mesh.mesh.cp.traces.get_trace(trace_id)
    spans = trace["span_list"] if trace else []
    by_id = {s["span_id"]: s for s in spans}
    found = [s for s in spans if s["service"] == "ratings.default" and s["kind"] == "SERVER"]
    while found and found[-1]["parent_span_id"] in by_id:
        found.append(by_id[found[-1]["parent_span_id"]])
    return [(s["service"], s["kind"]) for s in reversed(found)]


def one_page_traced(mesh: LocalMeshThread) -> str:
    """Load /productpage once through the gateway; the id of its trace once every hop's
    spans reached the collector."""
    assert mesh.mesh.cp is not None
    cp = mesh.mesh.cp
    mark = time.time_ns()
    page(mesh.gateway_port(8080))

    def mine() -> list[dict[str, Any]]:
        return [t for t in cp.traces.list_traces(limit=1000)
                if t["root_service"] == GATEWAY and t["start_ns"] >= mark]  # fmt: skip

    wait_for(lambda: len(mine()) == 1, FLUSH + 10, "the page's trace in the collector")
    trace_id: str = mine()[0]["trace_id"]
    wait_for(lambda: chain_in_store(mesh, trace_id) == CHAIN, FLUSH + 5, "the spans of every hop")
    return trace_id


def waterfall_rows(p: Page) -> list[dict[str, Any]]:
    """What the waterfall shows: each row's service, depth, parent row, error flag, label text,
    indentation, whether its duration and error badge are in view (not cut off), and where its
    bar is drawn (pixels)."""
    rows: list[dict[str, Any]] = p.eval_on_selector_all(
        ".wf-row",
        """rows => rows.map(r => {
          const bar = r.querySelector('.wf-bar').getBoundingClientRect();
          const label = r.querySelector('.wf-label'), box = label.getBoundingClientRect();
          const inside = (sel) => [...r.querySelectorAll(sel)].every(e => {
            const b = e.getBoundingClientRect();
            return b.width > 0 && b.left >= box.left && b.right <= box.right; });
          return {service: r.dataset.service, depth: Number(r.dataset.depth),
            parent: r.dataset.parent === '' ? null : Number(r.dataset.parent),
            error: r.dataset.error === 'true', text: label.innerText,
            indent: parseFloat(getComputedStyle(label).paddingLeft),
            durationShown: inside('.wf-dur'), errorShown: inside('.wf-error-badge') &&
              r.querySelectorAll('.wf-error-badge').length === 1,
            left: bar.left, right: bar.right,
            colour: getComputedStyle(r.querySelector('.wf-bar')).backgroundColor};
        })""",
    )
    return rows


def chain_on_page(rows: list[dict[str, Any]]) -> list[int]:
    """Row indexes from the deepest ratings row up through its parents, root first."""
    ratings = [i for i, r in enumerate(rows) if r["service"] == "ratings.default"]
    at: int | None = max(ratings, key=lambda i: rows[i]["depth"])
    out = []
    while at is not None:
        out.append(at)
        at = rows[at]["parent"]
    return out[::-1]


def test_a_trace_found_by_service_opens_as_a_waterfall(
    browser: Browser, mesh: LocalMeshThread, url: str
) -> None:
    trace_id = one_page_traced(mesh)
    p = new_page(browser)
    p.goto(url + "#/traces")
    p.get_by_label("Service", exact=True).fill("productpage")
    p.get_by_label("Minimum duration").fill("1us")
    p.get_by_role("button", name="Apply filters").click()
    p.wait_for_function("location.hash.includes('service=productpage')")
    row = p.locator(f"tr[data-trace='{trace_id}']")
    row.wait_for(timeout=15_000)
    listed = p.locator("tr[data-trace]").all_inner_texts()
    assert listed and all("productpage.default" in text for text in listed), listed
    assert GATEWAY in row.inner_text() and "ratings.default" in row.inner_text()
    screenshot(p, MODULE, "traces-filtered-productpage")
    p.get_by_label("Minimum duration").fill("1h")
    p.get_by_role("button", name="Apply filters").click()
    p.get_by_text("No trace matches these filters.").wait_for()
    p.go_back()
    row.wait_for()

    row.get_by_role("link").click()
    p.get_by_role("heading", name=f"Trace {trace_id}").wait_for()
    rows = waterfall_rows(p)
    chain = chain_on_page(rows)
    assert [rows[i]["service"] for i in chain] == [s for s, _ in CHAIN]
    assert [rows[i]["depth"] for i in chain] == list(range(len(CHAIN)))
    for parent, child in pairwise(chain):
        assert parent < child  # a caller's row comes before the rows of what it calls
        assert rows[child]["indent"] > rows[parent]["indent"]  # drawn indented under it
        # on one time axis: a callee's bar lies within its caller's (1 px for rounding)
        assert rows[child]["left"] >= rows[parent]["left"] - 1, (rows[parent], rows[child])
        assert rows[child]["right"] <= rows[parent]["right"] + 1, (rows[parent], rows[child])
    assert rows[chain[0]]["parent"] is None
    assert all(r["text"].strip() and r["durationShown"] for r in rows)  # name, operation, time
    assert not any(r["error"] for r in rows)
    # the gateway's, productpage's, reviews' and ratings' spans are all drawn, details' too
    assert {GATEWAY, "productpage.default", "reviews.default", "ratings.default",
            "details.default"} <= {r["service"] for r in rows}  # fmt: skip

    # keyboard: Tab to the first span, arrows down to ratings, Enter shows its tags
    p.locator(".wf-label").first.focus()
    for _ in range(chain[-1]):
        p.keyboard.press("ArrowDown")
    focused = p.evaluate("document.activeElement.closest('.wf-row').dataset.service")
    assert focused == "ratings.default"
    p.keyboard.press("Enter")
    tags = p.locator(".wf-row").nth(chain[-1]).get_by_role("table")
    tags.wait_for()
    assert mesh.mesh.cp is not None
    stored = mesh.mesh.cp.traces.get_trace(trace_id)
    assert stored is not None
    (span,) = [s for s in stored["span_list"]
               if s["service"] == "ratings.default" and s["kind"] == "SERVER"]  # fmt: skip
    shown = tags.inner_text()
    assert span["span_id"] in shown and span["attributes"]
    for key, value in span["attributes"].items():
        assert key in shown and value in shown, (key, value)
    screenshot(p, MODULE, "trace-waterfall")
    p.close()


def test_keyboard_from_the_list_to_a_waterfall_at_a_narrow_width(
    browser: Browser, mesh: LocalMeshThread, url: str
) -> None:
    trace_id = one_page_traced(mesh)
    p = new_page(browser, width=420, height=860)
    p.goto(url + "#/service/default/reviews")  # a service page links its traces
    p.get_by_role("link", name="Recent traces through this service").click()
    assert p.get_by_label("Service", exact=True).input_value() == "reviews.default"
    p.locator(f"tr[data-trace='{trace_id}']").wait_for(timeout=15_000)
    screenshot(p, MODULE, "traces-narrow")
    for _ in range(40):  # tab through the header and the filters to the trace's link
        p.keyboard.press("Tab")
        if p.evaluate("document.activeElement.getAttribute('href')") == f"#/trace/{trace_id}":
            break
    else:
        raise AssertionError("the trace's link was never reached with Tab")
    p.keyboard.press("Enter")
    p.get_by_role("heading", name=f"Trace {trace_id}").wait_for()
    rows = waterfall_rows(p)
    assert [rows[i]["service"] for i in chain_on_page(rows)] == [s for s, _ in CHAIN]
    width = p.evaluate("document.documentElement.scrollWidth")
    assert width <= 420, f"the waterfall scrolls sideways at 420 px ({width} px wide)"
    assert all(r["right"] <= 420 and r["durationShown"] for r in rows)
    screenshot(p, MODULE, "trace-waterfall-narrow")
    p.close()


def test_a_failing_hop_is_highlighted_as_an_error(
    browser: Browser, mesh: LocalMeshThread, url: str
) -> None:
    assert mesh.mesh.cp is not None
    cp = mesh.mesh.cp
    mesh.apply(RATINGS_ABORT)
    try:
        assert mesh.call(cp.wait_synced(timeout=20), timeout=30)
        mark = time.time_ns()
        page(mesh.gateway_port(8080))  # reviews answers without stars: the page is still 200

        def failed() -> list[dict[str, Any]]:
            return [t for t in cp.traces.list_traces(service="reviews", limit=1000)
                    if t["start_ns"] >= mark and t["errors"]]  # fmt: skip

        try:
            wait_for(lambda: len(failed()) >= 1, FLUSH + 10, "a trace with an error span")
        except AssertionError:
            recent = [t for t in cp.traces.list_traces(limit=50) if t["start_ns"] >= mark]
            spans = [cp.traces.get_trace(t["trace_id"]) for t in recent]
            raise AssertionError(spans) from None
        trace_id = failed()[0]["trace_id"]
        p = new_page(browser)
        p.goto(url + "#/traces?service=reviews")
        p.locator(f"tr[data-trace='{trace_id}'] td.level-Error").wait_for(timeout=15_000)
        p.locator(f"tr[data-trace='{trace_id}']").get_by_role("link").click()
        p.get_by_role("heading", name=f"Trace {trace_id}").wait_for()
        rows = waterfall_rows(p)
        errors = [r for r in rows if r["error"]]
        assert errors and all(r["errorShown"] for r in errors)  # said in words too, in view
        assert all(r["colour"] == "rgb(192, 24, 43)" for r in errors), errors
        assert any(r["service"] in ("reviews.default", "ratings.default") for r in errors)
        assert all(r["colour"] != "rgb(192, 24, 43)" for r in rows if not r["error"])
        screenshot(p, MODULE, "trace-error")
        p.close()
    finally:
        mesh.delete(RATINGS_ABORT)
