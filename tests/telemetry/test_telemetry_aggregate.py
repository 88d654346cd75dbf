"""Raw per-proxy series to Istio's standard metrics: labels, sums, histograms, overrides."""

from __future__ import annotations

from telemetry_support import objects

from sailmesh.telemetry import standard
from sailmesh.telemetry.aggregate import istio_families, istio_labels
from sailmesh.telemetry.exposition import parse
from sailmesh.telemetry.merge import merged_view
from sailmesh.telemetry.peers import Peer, PeerDirectory
from sailmesh.telemetry.policy import applicable, metrics_policy

PRODUCTPAGE = Peer("productpage-v1", "default", {"app": "productpage", "version": "v1"})
REVIEWS = Peer("reviews-v2", "default", {"app": "reviews", "version": "v2"}, "bookinfo-reviews")
DIRECTORY = PeerDirectory.build(
    [("10.244.0.3", PRODUCTPAGE), ("10.244.0.5", REVIEWS), ("10.244.0.6", REVIEWS)]
)
SAN = "spiffe://cluster.local/ns/default/sa/bookinfo-reviews"
REVIEWS_CLUSTER = "outbound|9080|v2|reviews.default.svc.cluster.local"


def raw(name: str, **tags: str) -> dict[str, str]:
    return {"reporter": "source", "cluster": REVIEWS_CLUSTER, "response_code": "200",
            "response_flags": "-", **tags}  # fmt: skip


def test_source_reporter_names_the_upstream_peer() -> None:
    labels = istio_labels(
        standard.REQUEST_COUNT, raw("x", peer="10.244.0.5"), PRODUCTPAGE, DIRECTORY
    )
    assert labels["reporter"] == "source"
    assert (labels["source_workload"], labels["source_app"]) == ("productpage-v1", "productpage")
    assert (labels["destination_workload"], labels["destination_version"]) == ("reviews-v2", "v2")
    assert labels["destination_canonical_service"] == "reviews"
    assert labels["destination_service"] == "reviews.default.svc.cluster.local"
    assert labels["destination_service_name"] == "reviews"
    assert labels["destination_service_namespace"] == "default"
    assert labels["source_cluster"] == labels["destination_cluster"] == "Kubernetes"
    assert labels["connection_security_policy"] == "unknown"  # Istio: unknown on the source side
    assert labels["source_principal"] == labels["destination_principal"] == "unknown"
    assert (labels["request_protocol"], labels["grpc_response_status"]) == ("http", "")


def test_destination_reporter_with_mutual_tls_and_grpc() -> None:
    tags = raw("x", reporter="destination", peer="10.244.0.3", cluster="inbound|9080||",
               service="reviews.default.svc.cluster.local",
               peer_principal="spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
               local_principal=SAN, grpc_status="0")  # fmt: skip
    labels = istio_labels(standard.REQUEST_COUNT, tags, REVIEWS, DIRECTORY)
    assert (labels["source_workload"], labels["destination_workload"]) == (
        "productpage-v1",
        "reviews-v2",
    )
    assert labels["source_principal"].endswith("/sa/bookinfo-productpage")
    assert labels["destination_principal"] == SAN
    assert labels["connection_security_policy"] == "mutual_tls"
    assert (labels["request_protocol"], labels["grpc_response_status"]) == ("grpc", "0")
    plain = istio_labels(standard.REQUEST_COUNT, {**tags, "peer_principal": ""}, REVIEWS, DIRECTORY)
    assert plain["connection_security_policy"] == "none"


def test_unknown_peers_special_clusters_and_aborts() -> None:
    aborted = istio_labels(standard.REQUEST_COUNT, raw("x", peer="", response_code="500",
                           response_flags="FI"), PRODUCTPAGE, DIRECTORY)  # fmt: skip
    assert aborted["destination_workload"] == "unknown"
    assert aborted["destination_canonical_revision"] == "latest"
    assert aborted["destination_service"] == "reviews.default.svc.cluster.local"
    assert (aborted["response_code"], aborted["response_flags"]) == ("500", "FI")
    passthrough = istio_labels(standard.TCP_OPENED, {"reporter": "source", "peer": "1.2.3.4",
                               "cluster": "PassthroughCluster"}, PRODUCTPAGE, DIRECTORY)  # fmt: skip
    assert passthrough["destination_service_name"] == "PassthroughCluster"
    assert passthrough["destination_service"] == "1.2.3.4"
    assert passthrough["request_protocol"] == "tcp" and "response_code" not in passthrough
    stranger = istio_labels(standard.REQUEST_COUNT, raw("x", reporter="destination", peer="10.9.9.9",
                            peer_principal="spiffe://cluster.local/ns/shop/sa/cart"), REVIEWS, DIRECTORY)  # fmt: skip
    assert stranger["source_workload"] == "unknown"
    assert stranger["source_workload_namespace"] == "shop"  # from its certificate


ENVOY = f"""# TYPE envoy_sailmesh_requests_total counter
envoy_sailmesh_requests_total{{reporter="source",peer="10.244.0.5",cluster="{REVIEWS_CLUSTER}",response_code="200",response_flags="-"}} 3
envoy_sailmesh_requests_total{{reporter="source",peer="10.244.0.6",cluster="{REVIEWS_CLUSTER}",response_code="200",response_flags="-"}} 4
envoy_sailmesh_requests_total{{reporter="source",peer="10.244.0.6",cluster="{REVIEWS_CLUSTER}",response_code="200",response_flags="-",tag_team="a"}} 1
# TYPE envoy_sailmesh_request_duration_milliseconds histogram
envoy_sailmesh_request_duration_milliseconds_bucket{{reporter="source",peer="10.244.0.5",cluster="{REVIEWS_CLUSTER}",response_code="200",response_flags="-",le="0.5"}} 1
envoy_sailmesh_request_duration_milliseconds_bucket{{reporter="source",peer="10.244.0.5",cluster="{REVIEWS_CLUSTER}",response_code="200",response_flags="-",le="+Inf"}} 3
envoy_sailmesh_request_duration_milliseconds_sum{{reporter="source",peer="10.244.0.5",cluster="{REVIEWS_CLUSTER}",response_code="200",response_flags="-"}} 6
envoy_sailmesh_request_duration_milliseconds_count{{reporter="source",peer="10.244.0.5",cluster="{REVIEWS_CLUSTER}",response_code="200",response_flags="-"}} 3
envoy_sailmesh_request_duration_milliseconds_bucket{{reporter="source",peer="10.244.0.6",cluster="{REVIEWS_CLUSTER}",response_code="200",response_flags="-",le="0.5"}} 2
envoy_sailmesh_request_duration_milliseconds_bucket{{reporter="source",peer="10.244.0.6",cluster="{REVIEWS_CLUSTER}",response_code="200",response_flags="-",le="+Inf"}} 4
envoy_sailmesh_request_duration_milliseconds_sum{{reporter="source",peer="10.244.0.6",cluster="{REVIEWS_CLUSTER}",response_code="200",response_flags="-"}} 4
envoy_sailmesh_request_duration_milliseconds_count{{reporter="source",peer="10.244.0.6",cluster="{REVIEWS_CLUSTER}",response_code="200",response_flags="-"}} 4
# TYPE envoy_server_live gauge
envoy_server_live 1
"""


def test_two_pods_of_a_workload_sum_into_one_series_in_istio_order() -> None:
    families = {f.name: f for f in istio_families(parse(ENVOY), PRODUCTPAGE, DIRECTORY)}
    assert list(families) == ["istio_requests_total", "istio_request_duration_milliseconds"]
    (count,) = families["istio_requests_total"].samples
    assert count.value == 8  # 3 + 4 + the one with a tag no policy asks for (dropped)
    assert [k for k, _ in count.labels] == list(standard.HTTP_LABELS)
    histogram = families["istio_request_duration_milliseconds"]
    values = {(s.name, s.label("le")): s.value for s in histogram.samples}
    name = "istio_request_duration_milliseconds"
    assert values[(f"{name}_bucket", "0.5")] == 3 and values[(f"{name}_bucket", "+Inf")] == 7
    assert (values[(f"{name}_sum", "")], values[(f"{name}_count", "")]) == (10, 7)
    assert histogram.type == "histogram" and "Duration" in histogram.help


def test_overrides_remove_upsert_and_disable() -> None:
    policy = metrics_policy(applicable(objects("""
Telemetry default/team
  metrics:
  - overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides:
        team: {value: "request.headers['x-team'] | 'none'"}
        request_protocol: {operation: REMOVE}
    - match: {metric: REQUEST_DURATION}
      disabled: true
"""), "istio-system", "default", {}))  # fmt: skip
    families = {f.name: f for f in istio_families(parse(ENVOY), PRODUCTPAGE, DIRECTORY, policy)}
    assert list(families) == ["istio_requests_total"]
    by_team = {s.label("team"): s.value for s in families["istio_requests_total"].samples}
    assert by_team == {"none": 7, "a": 1}
    sample = families["istio_requests_total"].samples[0]
    assert "request_protocol" not in dict(sample.labels)
    assert sample.labels[-1][0] == "team"  # added labels come after Istio's


def test_the_merged_view_has_istio_then_envoy_then_the_app() -> None:
    text = merged_view(ENVOY, "app_requests 5", PRODUCTPAGE, DIRECTORY)
    assert text.index("istio_requests_total{") < text.index("envoy_server_live 1")
    assert text.rstrip().endswith("app_requests 5")
    assert "envoy_sailmesh_" not in text  # the raw series stay on 15090
    assert merged_view(None, None, None, DIRECTORY) == ""


def test_counters_survive_a_listener_update() -> None:
    from sailmesh.telemetry.continuity import Continuity

    def scrape(*series: tuple[str, float]) -> str:
        lines = ["# TYPE envoy_sailmesh_requests_total counter"]
        lines += [
            f'envoy_sailmesh_requests_total{{reporter="source",peer="{peer}",cluster="{REVIEWS_CLUSTER}",'
            f'response_code="200",response_flags="-"}} {value}'
            for peer, value in series
        ]
        return "\n".join(lines) + "\n"

    def total(text: str, continuity: Continuity) -> float:
        (family,) = istio_families(continuity.apply(parse(text)), PRODUCTPAGE, DIRECTORY)
        (sample,) = family.samples  # both pods are reviews-v2: one series
        return sample.value

    continuity = Continuity()
    assert total(scrape(("10.244.0.5", 10), ("10.244.0.6", 4)), continuity) == 14
    # the listener was replaced: one pod's series vanished, the other restarted from zero
    assert total(scrape(("10.244.0.6", 1)), continuity) == 15
    # the vanished one is back, counting from zero again
    assert total(scrape(("10.244.0.5", 2), ("10.244.0.6", 3)), continuity) == 19
    assert total(scrape(("10.244.0.5", 5), ("10.244.0.6", 3)), continuity) == 22


def test_grpc_stream_counters_are_multiplied_by_the_messages_each_carried() -> None:
    tags = 'reporter="destination",peer="10.244.0.3",cluster="inbound|9080||",grpc_status="0",response_code="200",response_flags="-"'
    text = (
        "# TYPE envoy_sailmesh_request_messages_total counter\n"
        f'envoy_sailmesh_request_messages_total{{{tags},grpc_messages="5,2"}} 3\n'
        f'envoy_sailmesh_request_messages_total{{{tags},grpc_messages="1,1"}} 4\n'
        f'envoy_sailmesh_request_messages_total{{{tags},grpc_messages="-"}} 9\n'
        "# TYPE envoy_sailmesh_response_messages_total counter\n"
        f'envoy_sailmesh_response_messages_total{{{tags},grpc_messages="5,2"}} 3\n'
        f'envoy_sailmesh_response_messages_total{{{tags},grpc_messages="1,1"}} 4\n'
    )
    families = {f.name: f for f in istio_families(parse(text), REVIEWS, DIRECTORY)}
    (requests,) = families["istio_request_messages_total"].samples
    (responses,) = families["istio_response_messages_total"].samples
    assert (requests.value, responses.value) == (3 * 5 + 4 * 1, 3 * 2 + 4 * 1)
    assert requests.label("grpc_response_status") == "0"
    assert requests.label("request_protocol") == "grpc"
    assert requests.label("source_workload") == "productpage-v1"
    assert "grpc_messages" not in dict(requests.labels)
