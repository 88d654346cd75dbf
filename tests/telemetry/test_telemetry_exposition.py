"""The Prometheus text format as Envoy writes it: parsed into families, rendered back."""

from __future__ import annotations

from sailmesh.telemetry.exposition import Family, Sample, parse, parse_sample, render

ENVOY = """# TYPE envoy_server_live gauge
envoy_server_live{} 1
# TYPE envoy_sailmesh_requests_total counter
envoy_sailmesh_requests_total{reporter="source",peer="10.244.0.5",cluster="outbound|9080||reviews.default.svc.cluster.local",response_code="200"} 7
envoy_sailmesh_requests_total{reporter="source",peer="",cluster="x",response_code="500",note="a \\"quoted\\" \\\\ value\\nwith a newline"} 2
# TYPE envoy_sailmesh_request_duration_milliseconds histogram
envoy_sailmesh_request_duration_milliseconds_bucket{reporter="source",le="0.5"} 1
envoy_sailmesh_request_duration_milliseconds_bucket{reporter="source",le="+Inf"} 3
envoy_sailmesh_request_duration_milliseconds_sum{reporter="source"} 12.5
envoy_sailmesh_request_duration_milliseconds_count{reporter="source"} 3
untyped_without_labels 4.5
this is not a sample
"""


def test_families_samples_and_label_escapes() -> None:
    families = {f.name: f for f in parse(ENVOY)}
    assert list(families) == [
        "envoy_server_live",
        "envoy_sailmesh_requests_total",
        "envoy_sailmesh_request_duration_milliseconds",
        "untyped_without_labels",
    ]
    assert families["envoy_server_live"].samples == [Sample("envoy_server_live", (), 1.0)]
    counter = families["envoy_sailmesh_requests_total"]
    assert counter.type == "counter" and len(counter.samples) == 2
    assert counter.samples[0].label("cluster") == "outbound|9080||reviews.default.svc.cluster.local"
    assert counter.samples[1].label("peer") == ""
    assert counter.samples[1].label("note") == 'a "quoted" \\ value\nwith a newline'
    histogram = families["envoy_sailmesh_request_duration_milliseconds"]
    assert histogram.type == "histogram"
    assert [s.name.rsplit("_", 1)[1] for s in histogram.samples] == [
        "bucket",
        "bucket",
        "sum",
        "count",
    ]
    assert families["untyped_without_labels"].type == "untyped"


def test_render_round_trips() -> None:
    families = parse(ENVOY)
    assert parse(render(families)) == families
    text = render(
        [Family("x_total", "counter", "Help text.", [Sample("x_total", (("a", 'q"'),), 3.0)])]
    )
    assert text == '# HELP x_total Help text.\n# TYPE x_total counter\nx_total{a="q\\""} 3\n'


def test_values_and_broken_lines() -> None:
    assert parse_sample("a 1e3") == Sample("a", (), 1000.0)
    assert parse_sample('a{b="c"} +Inf 1700000000000') == Sample("a", (("b", "c"),), float("inf"))
    assert parse_sample('a{b="c"') is None
    assert parse_sample('a{b="c"} x') is None
    assert parse_sample("lonely") is None
