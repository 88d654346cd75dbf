"""Istio's metrics and access logs end to end: real traffic through real sidecars and the
gateway, scraped by the real Prometheus add-on, read back through Prometheus' HTTP API.

One mesh (netns mode) is shared by the module: bookinfo with its gateway, a TCP echo service,
an app that serves its own metrics, and Prometheus scraping every second. Each test measures
what its own bounded load adds (counters before and after), so the tests do not depend on
each other's traffic; config a test applies is deleted again.
"""

from __future__ import annotations

import http.client
import json
import math
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from runtime_e2e import DEMO_PATHS, assert_nothing_left, sailctl, skip_unless_netns

from e2e_support.bookinfo import page, pod
from e2e_support.localmesh import LocalMeshThread
from e2e_support.prometheus import api, query, value, wait_for_value
from e2e_support.proxy import wait_for
from e2e_support.telemetry_manifests import (
    EXTRA,
    JSON_ERRORS_ONLY,
    METRIC_OVERRIDES,
    RATINGS_ABORT,
)
from sailmesh.runtime.addons import get_in_node
from sailmesh.telemetry.dashboards import DASHBOARDS, expressions, shipped
from sailmesh.telemetry.standard import BUCKETS, HTTP_LABELS, TCP_LABELS

pytestmark = pytest.mark.e2e

skip_unless_netns()


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    m = LocalMeshThread(
        tmp_path_factory.mktemp("sailmesh-home"), addons=("prometheus",), scrape_interval="1s"
    )
    run_id = m.mesh.names.run_id
    try:
        m.start(DEMO_PATHS)
        m.apply(EXTRA)
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id)


@pytest.fixture(scope="module")
def prom(mesh: LocalMeshThread) -> str:
    assert mesh.mesh.addons is not None
    url = mesh.mesh.addons.urls()["prometheus"]
    wait_for_value(url, 'count(up{job="kubernetes-pods"} == 1)', lambda v: v >= 9, timeout=30)
    return url


def requests(url: str, selector: str) -> float:
    return value(url, f"sum(istio_requests_total{{{selector}}})")


def edge(reporter: str, source: str, destination: str, extra: str = "") -> str:
    return (
        f'reporter="{reporter}",source_workload="{source}",destination_workload="{destination}"'
        + extra
    )


def settle() -> None:
    """Let Prometheus scrape what earlier traffic left (the scrape interval is 1 s)."""
    time.sleep(2.5)


def load_pages(mesh: LocalMeshThread, count: int) -> None:
    port = mesh.gateway_port(8080)
    for _ in range(count):
        page(port)


def test_every_bookinfo_edge_is_counted_by_both_reporters(mesh: LocalMeshThread, prom: str) -> None:
    reviews = ("reviews-v1", "reviews-v2", "reviews-v3")
    edges = [("istio-ingressgateway", "productpage-v1"), ("productpage-v1", "details-v1")]
    edges += [("productpage-v1", r) for r in reviews]
    edges += [(r, "ratings-v1") for r in reviews[1:]]
    selectors = [edge(rep, s, d) for s, d in edges for rep in ("source", "destination")]
    settle()
    before = {sel: requests(prom, sel) for sel in selectors}
    pages = 30
    load_pages(mesh, pages)

    gateway_edge = edge("destination", "istio-ingressgateway", "productpage-v1")
    wait_for_value(prom, f"sum(istio_requests_total{{{gateway_edge}}})",
                   lambda v: v == before[gateway_edge] + pages)  # fmt: skip

    def delta(sel: str) -> float:
        return requests(prom, sel) - before[sel]

    def settled() -> bool:
        got = {sel: delta(sel) for sel in selectors}
        both = all(got[edge("source", s, d)] == got[edge("destination", s, d)] for s, d in edges)
        to_reviews = sum(got[edge("source", "productpage-v1", r)] for r in reviews)
        to_ratings = sum(got[edge("destination", r, "ratings-v1")] for r in reviews[1:])
        ratings_callers = sum(got[edge("destination", "productpage-v1", r)] for r in reviews[1:])
        return both and to_reviews == pages and to_ratings == ratings_callers

    # both sidecars of each hop count each request once; reviews v2/v3 call ratings once
    wait_for(settled, 20, "every edge's requests in Prometheus")
    assert delta(edge("source", "istio-ingressgateway", "productpage-v1")) == pages
    assert delta(edge("source", "productpage-v1", "details-v1")) == pages
    (labels, _), *_ = query(
        prom, f"istio_requests_total{{{edge('destination', 'productpage-v1', 'details-v1')}}}"
    )
    assert labels["destination_service"] == "details.default.svc.cluster.local"
    assert labels["destination_service_name"] == "details"
    assert labels["source_app"] == "productpage" and labels["destination_version"] == "v1"
    assert labels["response_code"] == "200" and labels["response_flags"] == "-"
    # auto mTLS between the sidecars: the destination names both ends from their certificates
    assert labels["request_protocol"] == "http"
    assert labels["connection_security_policy"] == "mutual_tls"
    assert labels["source_principal"] == "spiffe://cluster.local/ns/default/sa/bookinfo-productpage"
    assert (
        labels["destination_principal"] == "spiffe://cluster.local/ns/default/sa/bookinfo-details"
    )
    # Prometheus drops empty labels: grpc_response_status is "" for plain HTTP (as in Istio)
    assert {k for k in labels if k in HTTP_LABELS} == set(HTTP_LABELS) - {"grpc_response_status"}


def test_request_duration_and_size_histograms_have_istio_buckets(
    mesh: LocalMeshThread, prom: str
) -> None:
    sel = edge("destination", "istio-ingressgateway", "productpage-v1")
    settle()
    before = requests(prom, sel)
    load_pages(mesh, 5)
    total = wait_for_value(prom, f"sum(istio_requests_total{{{sel}}})", lambda v: v == before + 5)
    for metric in ("request_duration_milliseconds", "request_bytes", "response_bytes"):
        name = f"istio_{metric}"
        count = f"sum(istio_{metric}_count{{{sel}}})"
        wait_for_value(prom, count, lambda v: v == total)  # Envoy merges histograms every 5 s
        bounds = {float(s["le"]) for s, _ in query(prom, f"{name}_bucket{{{sel}}}")}
        assert bounds == {*BUCKETS, math.inf}
        assert value(prom, f"sum({name}_sum{{{sel}}})") > 0
    p50 = value(
        prom,
        "histogram_quantile(0.5, sum by (le) (istio_request_duration_milliseconds_bucket"
        f"{{{sel}}}))",
    )
    assert 0 < p50 < 1000


def plaintext_pages(mesh: LocalMeshThread, count: int) -> None:
    """``count`` product pages fetched by ``plain-client`` (no sidecar) from productpage's
    service: plaintext connections, reported with ``connection_security_policy="none"``."""
    code = (
        "import urllib.request\n"
        f"for _ in range({count}):\n"
        "    urllib.request.urlopen('http://productpage:9080/productpage', timeout=10).read()\n"
        "print('ok')\n"
    )
    client = pod(mesh, "deploy/plain-client")
    result = client.sandbox.run(["python3", "-c", code], env={"PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "ok", result.stderr


def tcp_echoes(mesh: LocalMeshThread, connections: int) -> None:
    """``connections`` TCP connections from productpage's pod to tcp-echo, 1000 bytes each way."""
    code = (
        "import socket\n"
        f"for _ in range({connections}):\n"
        "    s = socket.create_connection(('tcp-echo', 9000), timeout=5)\n"
        "    s.sendall(b'x' * 1000)\n"
        "    got = b''\n"
        "    while len(got) < 1000:\n"
        "        got += s.recv(65536)\n"
        "    s.close()\n"
        "print('ok')\n"
    )
    client = pod(mesh, "deploy/productpage-v1")
    result = client.sandbox.run(["python3", "-c", code], env={"PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "ok", result.stderr


def test_a_tcp_service_gets_tcp_metrics_from_both_sides(mesh: LocalMeshThread, prom: str) -> None:
    src = edge("source", "productpage-v1", "tcp-echo-v1")
    dst = edge("destination", "productpage-v1", "tcp-echo-v1")
    names = ("connections_opened_total", "connections_closed_total")
    names += ("sent_bytes_total", "received_bytes_total")

    def tcp(metric: str, sel: str) -> float:
        return value(prom, f"sum(istio_tcp_{metric}{{{sel}}})")

    settle()
    before = {(m, s): tcp(m, s) for m in names for s in (src, dst)}
    tcp_echoes(mesh, 5)
    want = {"connections_opened_total": 5, "connections_closed_total": 5}
    want |= {"sent_bytes_total": 5000, "received_bytes_total": 5000}

    def counted() -> bool:
        return all(tcp(m, s) - before[(m, s)] == n for m, n in want.items() for s in (src, dst))

    wait_for(counted, 20, "5 connections of 1000 bytes each way, counted on both sides")
    (labels, _), *_ = query(prom, f"istio_tcp_connections_opened_total{{{dst}}}")
    assert labels["request_protocol"] == "tcp"
    assert labels["destination_service"] == "tcp-echo.default.svc.cluster.local"
    assert {k for k in labels if k in HTTP_LABELS} == set(TCP_LABELS)


def test_an_injected_abort_shows_as_500_with_response_flags_FI(
    mesh: LocalMeshThread, prom: str
) -> None:
    aborted = 'reporter="source",destination_service_name="ratings",response_code="500",response_flags="FI"'
    callers = [edge("destination", "productpage-v1", r) for r in ("reviews-v2", "reviews-v3")]
    mesh.apply(RATINGS_ABORT)
    try:
        port = mesh.gateway_port(8080)
        wait_for(lambda: "Ratings service is currently unavailable" in page(port), 20,
                 "the abort to reach the reviews sidecars")  # fmt: skip
        settle()
        before_callers = sum(requests(prom, c) for c in callers)
        before_aborted = requests(prom, aborted)
        load_pages(mesh, 20)

        def matches() -> bool:
            calls = sum(requests(prom, c) for c in callers) - before_callers
            return calls > 0 and requests(prom, aborted) - before_aborted == calls

        wait_for(matches, 20, "every ratings call of reviews v2/v3 counted as aborted")
    finally:
        mesh.delete(RATINGS_ABORT)
    (labels, _), *_ = query(prom, f"istio_requests_total{{{aborted}}}")
    assert labels["destination_workload"] == "unknown"  # aborted before any upstream
    assert labels["source_workload"] in ("reviews-v2", "reviews-v3")


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_json_access_logs_with_a_filter_log_only_failing_requests(mesh: LocalMeshThread) -> None:
    port = mesh.gateway_port(8080)
    mesh.apply(JSON_ERRORS_ONLY)
    try:
        log = pod(mesh, "deploy/productpage-v1").supervisor.log_path("istio-proxy")

        def lines_of(marker: str) -> list[str]:
            return [x for x in log.read_text(errors="replace").splitlines() if marker in x]

        def failing(marker: str) -> str:
            return f"/api/v1/products/0/{marker}"  # the app answers 404

        probe = f"probe-{uuid.uuid4()}"
        wait_for(lambda: _get(port, failing(probe)) == 404
                 and any(x.startswith("{") for x in lines_of(probe)), 20, "JSON logs")  # fmt: skip
        ok = [f"ok-{uuid.uuid4()}" for _ in range(5)]
        failed = [f"bad-{uuid.uuid4()}" for _ in range(5)]
        assert [_get(port, f"/productpage?id={m}") for m in ok] == [200] * 5
        assert [_get(port, failing(m)) for m in failed] == [404] * 5
        wait_for(lambda: all(lines_of(m) for m in failed), 10, "the failing requests' lines")
        for marker in failed:
            (line,) = lines_of(marker)  # the inbound request; its sidecar made no other
            entry = json.loads(line)
            assert entry["response_code"] == 404 and entry["path"] == failing(marker)
            assert entry["upstream_cluster"] == "inbound|9080||"
            assert {"start_time", "response_flags", "duration", "authority"} <= set(entry)
            assert {"request_id", "upstream_host", "downstream_remote_address"} <= set(entry)
        assert all(lines_of(m) == [] for m in ok), "successful requests were logged"
    finally:
        mesh.delete(JSON_ERRORS_ONLY)


def test_an_annotated_app_s_own_metrics_are_merged_into_its_15020(
    mesh: LocalMeshThread, prom: str
) -> None:
    app = pod(mesh, "deploy/bookstore-v1")
    status, body = get_in_node(mesh.mesh.names, 15020, "/stats/prometheus", host=app.ip)
    assert status == 200 and "bookstore_orders_total 42" in body
    assert "envoy_server_live" in body  # Envoy's own stats are in the merged view too
    status, raw = get_in_node(mesh.mesh.names, 15090, "/stats/prometheus", host=app.ip)
    assert status == 200 and "envoy_cluster_manager_active_clusters" in raw
    assert "bookstore_orders_total" not in raw
    found = wait_for_value(prom, 'sum(bookstore_orders_total{pod=~"bookstore-v1-.*"})',
                           lambda v: v == 42)  # fmt: skip
    assert found == 42


def test_control_plane_metrics_have_istio_names(mesh: LocalMeshThread, prom: str) -> None:
    proxies = len(mesh.mesh.cp.connected) if mesh.mesh.cp else 0
    assert value(prom, 'pilot_xds{app="istiod"}') == proxies
    assert value(prom, 'sum(pilot_xds_pushes{type="lds"})') >= proxies
    assert value(prom, "sum(pilot_xds_push_time_count)") > 0
    assert value(prom, "sum(pilot_proxy_convergence_time_count)") > 0
    before = value(prom, 'sum(pilot_k8s_cfg_events{type="VirtualService"})')
    mesh.apply(RATINGS_ABORT)
    mesh.delete(RATINGS_ABORT)
    wait_for_value(prom, 'sum(pilot_k8s_cfg_events{type="VirtualService"})',
                   lambda v: v == before + 2)  # fmt: skip
    assert value(prom, 'sum(pilot_k8s_cfg_events{type="VirtualService",event="delete"})') >= 1
    assert value(prom, "sum(pilot_total_xds_rejects)") == 0
    # the CA's expiry, as istiod reports it (Unix seconds): the mesh's root and signing chain
    identity = mesh.mesh.identity
    assert identity is not None
    root = value(prom, 'citadel_server_root_cert_expiry_timestamp{app="istiod"}')
    chain = value(prom, 'citadel_server_cert_chain_expiry_timestamp{app="istiod"}')
    assert root == pytest.approx(identity.root_expiry(), abs=1) and root > time.time()
    assert chain == pytest.approx(identity.chain_expiry(), abs=1) and chain <= root


def test_the_alerting_rules_are_loaded_and_evaluate(prom: str) -> None:
    wait_for(lambda: all(r.get("lastEvaluation", "").startswith("2")
                         for g in api(prom, "rules")["data"]["groups"] for r in g["rules"]),
             20, "the rules to be evaluated")  # fmt: skip
    rules = [r for g in api(prom, "rules")["data"]["groups"] for r in g["rules"]]
    names = {r["name"] for r in rules}
    assert {"IstioHigh5xxRate", "IstioHighP99Latency", "IstioConfigRejected", "IstioPushErrors",
            "IstioCertificateExpiring"} <= names  # fmt: skip
    assert all(r["health"] == "ok" for r in rules), [(r["name"], r.get("lastError")) for r in rules]


def test_telemetry_overrides_add_and_remove_labels_and_disable_metrics(
    mesh: LocalMeshThread, prom: str
) -> None:
    inbound = 'reporter="destination",destination_workload="productpage-v1"'
    duration = f"count(istio_request_duration_milliseconds_count{{{inbound}}})"
    wait_for_value(prom, duration, lambda v: v >= 1)  # reported before the override
    mesh.apply(METRIC_OVERRIDES)
    try:
        labelled = f'sum(istio_requests_total{{{inbound},team="bookinfo"}})'

        def counted() -> bool:
            load_pages(mesh, 2)
            return value(prom, labelled) > 0

        wait_for(counted, 30, "requests counted with the UPSERTed label")
        for labels, _ in query(prom, f'istio_requests_total{{{inbound},team="bookinfo"}}'):
            assert "request_protocol" not in labels  # REMOVEd
        # the workload's own Telemetry beats the namespace's for its team label
        details = 'reporter="destination",destination_workload="details-v1",team="details-team"'
        wait_for_value(prom, f"sum(istio_requests_total{{{details}}})", lambda v: v > 0)
        # the namespace's REMOVE still applies to details (workload overrides add to it)
        assert all(
            "request_protocol" not in x
            for x, _ in query(prom, f"istio_requests_total{{{details}}}")
        )
        # disabled for the server side only: gone from the destination reporter, kept at the source
        wait_for_value(prom, duration + " or vector(0)", lambda v: v == 0)
        source = 'reporter="source",source_workload="productpage-v1"'
        assert value(prom, f"count(istio_request_duration_milliseconds_count{{{source}}})") >= 1
    finally:
        mesh.delete(METRIC_OVERRIDES)

    def reported_again() -> bool:
        load_pages(mesh, 2)
        return value(prom, duration + " or vector(0)") >= 1

    wait_for(reported_again, 30, "the server-side duration reported again without the override")


#: Values for the dashboards' template variables (Grafana would offer them from label_values).
VARIABLES = {
    "service": "productpage.default.svc.cluster.local",
    "srcns": ".*",
    "srcwl": ".*",
    "namespace": "default",
    "workload": "productpage-v1",
}


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_dashboard_expression_parses_and_returns_series(
    mesh: LocalMeshThread, prom: str, name: str
) -> None:
    load_pages(mesh, 5)
    plaintext_pages(mesh, 2)  # the panels of traffic without mutual TLS need some
    tcp_echoes(mesh, 1)
    settle()
    document = shipped(name)
    for expr in expressions(document):
        concrete = re.sub(r"\$(\w+)", lambda m: VARIABLES[m.group(1)], expr)
        answer = api(prom, "query", query=concrete)
        assert answer["status"] == "success", (expr, answer)
        assert answer["data"]["result"], f"no series for {concrete}"


def test_sailctl_dashboard_prints_the_prometheus_url(mesh: LocalMeshThread, prom: str) -> None:
    out = sailctl(mesh.mesh.home, "dashboard", "prometheus").strip()
    assert out == prom
    with urllib.request.urlopen(f"{out}/-/ready", timeout=5) as response:
        assert response.status == 200
