"""The shipped Grafana dashboards: written from :mod:`sailmesh.telemetry.dashboards` (refresh
with ``SAILMESH_UPDATE_GOLDEN=1``), Grafana-shaped, over Istio's metric names. That every
expression parses and returns series from a real Prometheus is shown end to end by
``tests/runtime/test_e2e_telemetry.py``."""

from __future__ import annotations

import json
import os
import re
from importlib import resources

import pytest

from sailmesh.telemetry.dashboards import DASHBOARDS, expressions, render, shipped

FOLDER = resources.files("sailmesh.telemetry").joinpath("grafana")


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_shipped_file_matches_its_builder(name: str) -> None:
    expected = render(DASHBOARDS[name])
    path = FOLDER.joinpath(name)
    if os.environ.get("SAILMESH_UPDATE_GOLDEN"):
        with resources.as_file(path) as real:
            real.write_text(expected)
    assert path.read_text() == expected, f"{name} differs; rerun with SAILMESH_UPDATE_GOLDEN=1"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboards_are_grafana_documents_over_istio_metrics(name: str) -> None:
    document = shipped(name)
    assert document["uid"] and document["title"].startswith("Istio ")
    variables = {v["name"] for v in document["templating"]["list"]}
    assert "datasource" in variables
    exprs = expressions(document)
    assert exprs and all(isinstance(e, str) and e for e in exprs)
    used = {m for e in exprs for m in re.findall(r"\b(istio_\w+|pilot_\w+|envoy_\w+)", e)}
    assert used, name
    for expr in exprs:
        for var in re.findall(r"\$(\w+)", expr):
            assert var in variables, (name, var)
    ids = [p["id"] for p in document["panels"]]
    assert len(ids) == len(set(ids))
    json.dumps(document)


def test_every_standard_http_metric_is_on_some_dashboard() -> None:
    text = " ".join(e for d in DASHBOARDS.values() for e in expressions(d.to_json()))
    for metric in ("istio_requests_total", "istio_request_duration_milliseconds_bucket",
                   "istio_request_bytes_bucket", "istio_response_bytes_bucket",
                   "istio_tcp_sent_bytes_total", "istio_tcp_received_bytes_total",
                   "istio_tcp_connections_opened_total", "pilot_xds_pushes",
                   "pilot_proxy_convergence_time_bucket", "pilot_total_xds_rejects"):  # fmt: skip
        assert metric in text, metric
