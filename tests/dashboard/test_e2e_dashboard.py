"""The dashboard in real headless Chromium, over bookinfo under a bounded load through the
gateway: the graph's nodes and live edges, a canary shift, an abort turning an edge red, a
NACKed proxy with Envoy's error text, config and service pages, keyboard use at a narrow
width. Each test saves screenshots under ``test-artifacts/test_e2e_dashboard/``.

One mesh (netns mode) for the module, sampling traffic every second; the load runs for the
whole module (one worker, bounded in time and requests). Config a test applies is deleted
again.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from e2e_support.bookinfo import DEMO_PATHS, NETWORKING, RATINGS_ABORT
from e2e_support.browser import chromium, new_page, screenshot
from e2e_support.load import Load
from e2e_support.localmesh import LocalMeshThread
from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.modes import Mode, detect_mode

pytestmark = pytest.mark.e2e

if detect_mode().mode is not Mode.NETNS:  # pragma: no cover - CI runs as root
    pytest.skip(f"needs netns mode: {detect_mode().describe()}", allow_module_level=True)

MODULE = "test_e2e_dashboard"
WORKLOADS = ("productpage-v1", "details-v1", "reviews-v1", "reviews-v2", "reviews-v3", "ratings-v1")
# Valid RE2 that validation accepts, but its compiled program (about 40,000 instructions) is
# over the regex program size limit Istio's proxies run with (32768): every sidecar with this
# route NACKs RDS.
TOO_BIG_REGEX = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: details}
spec:
  hosts: [details]
  http:
  - match: [{uri: {regex: "^/PATTERN$"}}]
    route: [{destination: {host: details, subset: v1}}]
  - route: [{destination: {host: details, subset: v1}}]
""".replace("PATTERN", "[a-z]{1000}" * 40)
STRICT_REVIEWS = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: reviews-strict}
spec:
  selector: {matchLabels: {app: reviews}}
  mtls: {mode: STRICT}
"""


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    m = LocalMeshThread(
        tmp_path_factory.mktemp("sailmesh-home"), dashboard_port=0, traffic_interval=1.0
    )
    run_id = m.mesh.names.run_id
    try:
        m.start(DEMO_PATHS)
        yield m
    finally:
        m.close()
        assert netns.list_netns(netns.RunNames(run_id).prefix) == [], "namespaces left behind"


@pytest.fixture(scope="module")
def load(mesh: LocalMeshThread) -> Iterator[Load]:
    with Load(
        mesh.gateway_port(8080), "/productpage", workers=1, max_seconds=420, max_requests=40_000
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def url(mesh: LocalMeshThread, load: Load) -> str:
    assert mesh.mesh.dashboard is not None
    return mesh.mesh.dashboard.url


def edge_id(source: str, destination: str) -> str:
    return f"{source}>{destination}"


def wl(name: str, namespace: str = "default") -> str:
    return f"workload:{namespace}/{name}"


def svc(name: str, namespace: str = "default") -> str:
    return f"service:{namespace}/{name}"


def graph_edges(page: Page) -> dict[str, dict[str, object]]:
    """The edges the page's table shows: id -> its row's health and rps."""
    rows = page.eval_on_selector_all(
        "#edges tr[data-edge]",
        "rows => rows.map(r => [r.dataset.edge, r.dataset.health, Number(r.dataset.rps)])",
    )
    return {r[0]: {"health": r[1], "rps": r[2]} for r in rows}


def wait_for_edges(page: Page, predicate: str, timeout: float = 30_000) -> None:
    """Wait until ``predicate`` (JS over ``edges``: id -> {health, rps}) holds for the table."""
    page.wait_for_function(
        "() => { const edges = {}; document.querySelectorAll('#edges tr[data-edge]').forEach("
        "r => edges[r.dataset.edge] = {health: r.dataset.health, rps: Number(r.dataset.rps)});"
        f" return ({predicate}); }}",
        timeout=timeout,
    )


def gateway_node(page: Page) -> str:
    ids: list[str] = page.evaluate("state.cy.nodes().map(n => n.id())")
    (gateway,) = [i for i in ids if i.endswith("/istio-ingressgateway")]
    return gateway


def test_graph_shows_bookinfo_with_live_edges(browser: Browser, url: str) -> None:
    page = new_page(browser)
    page.goto(url + "#/graph")
    expected = [
        (svc("productpage"), wl("productpage-v1")),
        (wl("productpage-v1"), svc("details")),
        (svc("details"), wl("details-v1")),
        (wl("productpage-v1"), svc("reviews")),
        *[(svc("reviews"), wl(f"reviews-{v}")) for v in ("v1", "v2", "v3")],
        (wl("reviews-v2"), svc("ratings")),
        (wl("reviews-v3"), svc("ratings")),
        (svc("ratings"), wl("ratings-v1")),
    ]
    wanted = " && ".join(f"(edges['{edge_id(s, d)}']?.rps > 0)" for s, d in expected)
    wait_for_edges(page, wanted, timeout=45_000)
    gateway = gateway_node(page)
    wait_for_edges(page, f"edges['{edge_id(gateway, svc('productpage'))}']?.rps > 0")
    nodes = set(page.evaluate("state.cy.nodes().map(n => n.id())"))
    assert {wl(w) for w in WORKLOADS} | {gateway} <= nodes
    edges = graph_edges(page)
    for s, d in [*expected, (gateway, svc("productpage"))]:
        assert edges[edge_id(s, d)]["health"] == "healthy", (s, d, edges[edge_id(s, d)])
    # mTLS is on by default: every hop is badged (callers' hops as their servers saw them)
    security = page.evaluate("Object.fromEntries(window.sailGraph.edges.map(e => [e.id, e.mtls]))")
    for s, d in [*expected, (gateway, svc("productpage"))]:
        assert security[edge_id(s, d)] == 1.0, (s, d)
    labels = page.evaluate("state.cy.edges().map(e => e.data('label'))")
    assert all(label.startswith("mTLS · ") for label in labels), labels
    # what cytoscape drew: one edge element per table row, labelled with its rps
    drawn = page.evaluate("state.cy.edges().map(e => [e.id(), e.data('label')])")
    assert {d[0] for d in drawn} == set(edges)
    assert all("rps" in label for _, label in drawn)
    page.wait_for_timeout(500)
    screenshot(page, MODULE, "graph")
    page.close()


def test_a_canary_shift_moves_reviews_traffic_to_v3(
    browser: Browser, mesh: LocalMeshThread, url: str
) -> None:
    page = new_page(browser)
    page.goto(url + "?window=10s#/graph")
    v3 = edge_id(svc("reviews"), wl("reviews-v3"))
    others = [edge_id(svc("reviews"), wl(f"reviews-{v}")) for v in ("v1", "v2")]
    wait_for_edges(page, " && ".join(f"edges['{e}']?.rps > 0" for e in [v3, *others]))
    applied = time.monotonic()
    mesh.apply((NETWORKING / "virtual-service-reviews-v3.yaml").read_text())
    try:
        # the 10 s window fills with v3 only: v1 and v2 drop out of the graph
        moved = " && ".join(f"!edges['{e}']" for e in others)
        wait_for_edges(page, f"edges['{v3}']?.rps > 0 && {moved}", timeout=40_000)
        took = time.monotonic() - applied
        print(f"reviews traffic all on v3 in the graph {took:.1f} s after the apply")
        screenshot(page, MODULE, "canary-v3")
    finally:
        mesh.delete((NETWORKING / "virtual-service-reviews-v3.yaml").read_text())
    page.close()


def test_an_abort_fault_turns_the_ratings_edge_red(
    browser: Browser, mesh: LocalMeshThread, url: str
) -> None:
    page = new_page(browser)
    page.goto(url + "?window=10s#/graph")
    callers = [edge_id(wl(r), svc("ratings")) for r in ("reviews-v2", "reviews-v3")]
    wait_for_edges(page, " || ".join(f"edges['{e}']?.health === 'healthy'" for e in callers))
    mesh.apply(RATINGS_ABORT)
    try:
        # once the 10 s window holds only aborted calls, both callers' edges are red
        red = " && ".join(f"edges['{e}']?.health === 'failure'" for e in callers)
        wait_for_edges(page, red, timeout=40_000)
        edges = graph_edges(page)
        failing = [e for e in callers if edges.get(e, {}).get("health") == "failure"]
        colour = page.evaluate(f"state.cy.getElementById('{failing[0]}').style('line-color')")
        assert colour == "rgb(192,24,43)", colour
        assert page.evaluate(f"state.cy.getElementById('{svc('ratings')}').data('health')") == (
            "failure"
        )
        screenshot(page, MODULE, "ratings-abort")
    finally:
        mesh.delete(RATINGS_ABORT)
    page.close()


def test_the_proxies_page_shows_a_nack_with_envoys_error(
    browser: Browser, mesh: LocalMeshThread, url: str
) -> None:
    page = new_page(browser)
    page.goto(url + "#/proxies")
    page.wait_for_selector("tr[data-node]")
    assert page.locator("tr[data-nacked='true']").count() == 0
    mesh.apply(TOO_BIG_REGEX)
    try:
        page.wait_for_selector("tr[data-nacked='true'] .nack", timeout=30_000)
        text = page.locator("tr[data-nacked='true'] .nack").first.inner_text()
        assert text.startswith("RDS NACK"), text
        assert "regex" in text.lower() and "program size" in text.lower(), text
        assert page.locator("tr[data-nacked='true'] td.state-NACKED").count() >= 1
        # workload certificates come from the node agent (SDS over its socket), with expiry
        first = page.locator("tr[data-node^='sidecar~']").first
        assert first.locator("td.state-NODE_AGENT").count() == 1
        assert re.search(r"\d{4}-\d\d-\d\dT.*\(in \d+ [hd]\)", first.inner_text()), (
            first.inner_text()
        )
        screenshot(page, MODULE, "proxies-nack")
        # the proxy's routes as Envoy has them: the last good version, not the rejected one
        page.locator("tr[data-nacked='true']").first.get_by_role("link", name="routes").click()
        page.get_by_role("table", name="routes of the proxy").wait_for()
        routes = page.locator("main table").inner_text()
        assert "9080" in routes and "details.default.svc.cluster.local:9080" in routes
        rejected = re.search(r"version (\w+)\)", text)
        assert rejected is not None and rejected.group(1) not in routes, routes
        screenshot(page, MODULE, "proxy-routes")
    finally:
        mesh.delete(TOO_BIG_REGEX)
    page.close()


def test_config_page_lists_objects_and_shows_yaml(browser: Browser, url: str) -> None:
    page = new_page(browser)
    page.goto(url + "#/config")
    row = page.locator("tr", has=page.locator("a", has_text="reviews")).filter(
        has_text="DestinationRule"
    )
    row.get_by_role("link").click()
    page.wait_for_selector("pre.yaml")
    assert "subsets:" in page.locator("pre.yaml").inner_text()
    assert page.get_by_role("heading", name="DestinationRule default/reviews").is_visible()
    screenshot(page, MODULE, "config-yaml")
    page.close()


def test_keyboard_to_a_service_page_at_a_narrow_width(browser: Browser, url: str) -> None:
    page = new_page(browser, width=420, height=860)
    page.goto(url + "#/graph")
    wait_for_edges(page, f"edges['{edge_id(wl('productpage-v1'), svc('reviews'))}']?.rps > 0")
    screenshot(page, MODULE, "graph-narrow")
    for _ in range(60):  # tab through the page to the reviews service's link in the edges table
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.getAttribute('href')")
        if focused == "#/service/default/reviews":
            break
    else:
        raise AssertionError("the reviews link was never reached with Tab")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Service default/reviews").wait_for()
    page.wait_for_function("document.querySelectorAll('figure.chart canvas').length >= 2")
    text = page.locator("main").inner_text()
    assert "DestinationRule default/reviews" in text
    for version in ("v1", "v2", "v3"):
        assert f"reviews-{version}" in text
    screenshot(page, MODULE, "service-reviews-narrow")
    page.close()


def test_sailctl_dashboard_prints_the_url(mesh: LocalMeshThread, url: str) -> None:
    sailctl = str(Path(sys.executable).parent / "sailctl")
    env = {**os.environ, "SAILMESH_HOME": str(mesh.mesh.home)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sailctl, "dashboard", *args], env=env, capture_output=True, text=True, timeout=60
        )

    for args in ((), ("sailmesh",)):
        done = run(*args)
        assert done.returncode == 0 and done.stdout.strip() == url.rstrip("/"), done
    done = run("prometheus")
    assert done.returncode == 1
    assert "the prometheus dashboard is not running; start the mesh with" in done.stderr


def test_a_workload_page_shows_its_proxy_traffic_and_policies(
    browser: Browser, mesh: LocalMeshThread, url: str
) -> None:
    mesh.apply(STRICT_REVIEWS)
    try:
        page = new_page(browser)
        page.goto(url + "#/workload/default/reviews-v2")
        page.get_by_role("heading", name="Workload default/reviews-v2").wait_for()
        page.wait_for_function("document.querySelectorAll('figure.chart canvas').length >= 2")
        text = page.locator("main").inner_text()
        assert "sidecar~" in text and "reviews-v2" in text  # its connected proxy
        assert "PeerAuthentication default/reviews-strict" in text
        assert "version=v2" in text
        screenshot(page, MODULE, "workload-reviews-v2")
        page.close()
    finally:
        mesh.delete(STRICT_REVIEWS)
