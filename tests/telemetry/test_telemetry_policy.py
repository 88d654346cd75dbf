"""The Telemetry API for one proxy: which objects apply, and what they make of metrics."""

from __future__ import annotations

from telemetry_support import objects

from sailmesh.telemetry import standard
from sailmesh.telemetry.policy import MetricRule, applicable, metrics_policy
from sailmesh.telemetry.tags import TagValue

TELEMETRIES = objects("""
Telemetry istio-system/mesh
  metrics:
  - overrides:
    - match: {metric: ALL_METRICS}
      tagOverrides:
        request_protocol: {operation: REMOVE}
        team: {value: "'platform'"}
---
Telemetry default/namespace
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: REQUEST_COUNT, mode: CLIENT}
      tagOverrides:
        team: {value: "request.headers['x-team'] | 'none'"}
    - match: {metric: TCP_OPENED_CONNECTIONS}
      disabled: true
---
Telemetry default/reviews
  selector: {matchLabels: {app: reviews}}
  metrics:
  - overrides:
    - match: {metric: TCP_OPENED_CONNECTIONS, mode: SERVER}
      disabled: false
      tagOverrides:
        team: {operation: REMOVE}
---
Telemetry default/stackdriver-only
  selector: {matchLabels: {app: ratings}}
  metrics:
  - providers: [{name: stackdriver}]
    overrides:
    - disabled: true
---
Telemetry other/elsewhere
  metrics:
  - overrides: [{disabled: true}]
---
Telemetry default/edge
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: edge}]
  metrics:
  - overrides: [{disabled: true}]
---
Telemetry istio-system/root-edge
  targetRef: {group: gateway.networking.k8s.io, kind: Gateway, name: edge}
  metrics:
  - overrides: [{disabled: true}]
""")

EDGE = {"gateway.networking.k8s.io/gateway-name": "edge"}


def names(found: list[object]) -> list[str]:
    return [getattr(t, "name", "") for t in found]


def test_mesh_then_namespace_then_workload() -> None:
    reviews = applicable(TELEMETRIES, "istio-system", "default", {"app": "reviews"})
    assert names(reviews) == ["mesh", "namespace", "reviews"]
    assert names(applicable(TELEMETRIES, "istio-system", "default", {"app": "details"})) == [
        "mesh",
        "namespace",
    ]
    assert names(applicable(TELEMETRIES, "istio-system", "bookinfo", {})) == ["mesh"]


def test_overrides_merge_in_precedence_order() -> None:
    details = metrics_policy(applicable(TELEMETRIES, "istio-system", "default", {"app": "details"}))
    count = standard.REQUEST_COUNT
    client = details.rule(count, "source")
    assert client.removes == frozenset({"request_protocol"})
    assert dict(client.upserts) == {"team": TagValue("%REQ(x-team)%", "none")}  # CLIENT only
    assert dict(details.rule(count, "destination").upserts) == {"team": TagValue("platform")}
    assert details.rule(standard.TCP_OPENED, "source").disabled
    assert details.rule(standard.TCP_OPENED, "destination").disabled

    reviews = metrics_policy(applicable(TELEMETRIES, "istio-system", "default", {"app": "reviews"}))
    server = reviews.rule(standard.TCP_OPENED, "destination")
    assert not server.disabled  # the workload's SERVER override wins for the server side only
    assert "team" in server.removes and not dict(server.upserts)
    assert reviews.rule(standard.TCP_OPENED, "source").disabled


def test_other_providers_change_nothing_here() -> None:
    ratings = metrics_policy(applicable(TELEMETRIES, "istio-system", "default", {"app": "ratings"}))
    assert not ratings.rule(standard.REQUEST_DURATION, "destination").disabled


def test_a_listener_emits_what_the_policy_keeps() -> None:
    details = metrics_policy(applicable(TELEMETRIES, "istio-system", "default", {"app": "details"}))
    emission = details.emission("source", "details.default.svc.cluster.local")
    assert "tcp_connections_opened_total" in emission.disabled
    assert emission.upserts is not None
    assert emission.upserts["requests_total"] == {"team": "%REQ(x-team)%"}
    tags = dict(emission.tags_for(standard.REQUEST_COUNT, http=True))
    assert tags["tag_team"] == "%REQ(x-team)%"
    assert tags["service"] == "details.default.svc.cluster.local"
    assert [s.stat_name for s in emission.tcp_loggers()[0].stats] == ["tcp_connections_closed_total",
                                                                      "tcp_sent_bytes_total",
                                                                      "tcp_received_bytes_total"]  # fmt: skip
    assert metrics_policy([]).rule(standard.REQUEST_COUNT, "source") == MetricRule()


def test_a_gateway_target_is_workload_level_in_its_own_namespace() -> None:
    assert names(applicable(TELEMETRIES, "istio-system", "default", EDGE)) == [
        "mesh",
        "namespace",
        "edge",
    ]
    # the root namespace's targeted object is neither mesh-wide nor for other namespaces
    assert names(applicable(TELEMETRIES, "istio-system", "other", EDGE)) == ["mesh", "elsewhere"]
    assert names(applicable(TELEMETRIES, "istio-system", "istio-system", EDGE)) == [
        "mesh",
        "root-edge",
    ]
