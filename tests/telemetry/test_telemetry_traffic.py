"""Istio series folded into graph hops, rates over windows from a bounded history, the graph's
health (pure; the browser tests show the same on real traffic)."""

from __future__ import annotations

import pytest

from sailmesh.telemetry import exposition
from sailmesh.telemetry.graph import build_graph
from sailmesh.telemetry.history import (
    COARSE_STEP,
    FINE_SECONDS,
    HopRates,
    TrafficHistory,
    quantile,
    series,
)
from sailmesh.telemetry.traffic import BOUNDS, TrafficSample, add_proxy


def labels(reporter: str, source: str, destination: str, service: str, **extra: str) -> str:
    found = {
        "reporter": reporter,
        "source_workload": source,
        "source_workload_namespace": "default" if source != "unknown" else "unknown",
        "source_app": source.rsplit("-", 1)[0],
        "source_version": source.rsplit("-", 1)[-1],
        "destination_workload": destination,
        "destination_workload_namespace": "default" if destination != "unknown" else "unknown",
        "destination_app": destination.rsplit("-", 1)[0],
        "destination_version": destination.rsplit("-", 1)[-1],
        "destination_service": f"{service}.default.svc.cluster.local",
        "destination_service_name": service,
        "destination_service_namespace": "default",
        "response_code": "200",
        "connection_security_policy": "mutual_tls",
        **extra,
    }
    return ",".join(f'{k}="{v}"' for k, v in found.items())


def requests(
    reporter: str, source: str, destination: str, service: str, n: float, **extra: str
) -> str:
    return (
        f"istio_requests_total{{{labels(reporter, source, destination, service, **extra)}}} {n}\n"
    )


def durations(
    reporter: str, source: str, destination: str, service: str, per_bucket: list[float]
) -> str:
    base = labels(reporter, source, destination, service)
    lines = []
    for bound, count in zip(BOUNDS, per_bucket, strict=True):
        le = "+Inf" if bound == float("inf") else f"{bound:g}"
        lines.append(f'istio_request_duration_milliseconds_bucket{{{base},le="{le}"}} {count}')
    return "# TYPE istio_request_duration_milliseconds histogram\n" + "\n".join(lines) + "\n"


def sample(*texts: str) -> TrafficSample:
    """One traffic sample from the texts of several proxies."""
    out: TrafficSample = {}
    for text in texts:
        add_proxy(out, exposition.parse("# TYPE istio_requests_total counter\n" + text))
    return out


def test_a_request_makes_two_hops_through_the_service_node() -> None:
    s = sample(requests("source", "productpage-v1", "reviews-v2", "reviews", 10))
    hops = {hop.id for _, hop in s}
    assert hops == {
        "workload:default/productpage-v1>service:default/reviews",
        "service:default/reviews>workload:default/reviews-v2",
    }


def test_requests_that_reached_no_workload_end_at_the_service() -> None:
    s = sample(requests("source", "reviews-v2", "unknown", "ratings", 7, response_code="500"))
    ((reporter, hop),) = s
    assert (reporter, hop.id) == ("source", "workload:default/reviews-v2>service:default/ratings")
    assert s[(reporter, hop)].errors == 7


def served(found: tuple[list[HopRates], float]) -> tuple[HopRates, float]:
    """The service-to-workload hop of a single edge's rates, and the seconds covered."""
    (r,) = [r for r in found[0] if r.hop.destination.kind == "workload"]
    return r, found[1]


def history_of(*samples: tuple[float, TrafficSample]) -> TrafficHistory:
    h = TrafficHistory()
    for at, s in samples:
        h.add(at, s)
    return h


def test_each_hop_counted_once_the_source_for_caller_hops_the_destination_for_served_ones() -> None:
    def both(n: float) -> TrafficSample:
        # both sidecars report; the source also saw 4 aborted requests the destination never got
        return sample(
            requests("source", "productpage-v1", "reviews-v2", "reviews", n),
            requests("source", "productpage-v1", "unknown", "reviews", n / 10, response_code="500"),
            requests("destination", "productpage-v1", "reviews-v2", "reviews", n),
        )

    rates, seconds = history_of((0.0, both(0)), (10.0, both(40))).rates(60)
    assert seconds == 10
    by_id = {r.hop.id: r for r in rates}
    caller = by_id["workload:default/productpage-v1>service:default/reviews"]
    served = by_id["service:default/reviews>workload:default/reviews-v2"]
    assert (caller.reporter, caller.rps) == ("source", 4.4)  # 40 served + 4 aborted, in 10 s
    assert caller.error_rate == pytest.approx(4 / 44)
    assert (served.reporter, served.rps) == ("destination", 4.0)
    assert served.mtls == 1.0


def test_rates_cover_the_window_and_counter_restarts_count_as_new() -> None:
    h = history_of(
        *[
            (float(t), sample(requests("destination", "a-v1", "b-v1", "b", t * 2)))
            for t in range(0, 121)
        ]
    )
    r, seconds = served(h.rates(60))
    assert seconds == 60 and r.rps == pytest.approx(2.0)
    h.add(121.0, sample(requests("destination", "a-v1", "b-v1", "b", 3)))  # proxy restarted
    r, _ = served(h.rates(1))
    assert r.rps == pytest.approx(3.0)


def test_a_hop_without_traffic_in_the_window_is_not_drawn() -> None:
    old = sample(requests("destination", "a-v1", "b-v1", "b", 5))
    g = build_graph(history_of((0.0, old), (30.0, old)).rates(60)[0])
    assert g.edges == () and g.nodes == ()


def test_memory_stays_bounded_and_an_hour_is_answered_from_coarse_samples() -> None:
    h = TrafficHistory()
    for t in range(0, 7200):
        h.add(float(t), sample(requests("destination", "a-v1", "b-v1", "b", t)))
    assert len(h) <= FINE_SECONDS + 3600 / COARSE_STEP + 3
    r, seconds = served(h.rates(3600))
    assert abs(seconds - 3600) <= COARSE_STEP and r.rps == pytest.approx(1.0)


def test_quantiles_interpolate_within_buckets_as_prometheus() -> None:
    increase = [0.0] * len(BOUNDS)
    # 100 requests, all between 5 and 10 ms (cumulative buckets)
    for i, bound in enumerate(BOUNDS):
        increase[i] = 100.0 if bound >= 10 else 0.0
    assert quantile(0.5, increase) == pytest.approx(7.5)
    assert quantile(0.99, increase) == pytest.approx(9.95)
    assert quantile(0.5, [0.0] * len(BOUNDS)) is None


def test_latency_from_duration_histograms() -> None:
    zero = [0.0] * len(BOUNDS)
    later = [0.0 if b < 25 else 20.0 for b in BOUNDS]  # 20 requests in (10, 25] ms
    h = history_of(
        (0.0, sample(durations("destination", "a-v1", "b-v1", "b", zero))),
        (5.0, sample(durations("destination", "a-v1", "b-v1", "b", later))),
    )
    r, _ = served(h.rates(60))
    assert r.p50_ms == pytest.approx(17.5)


def test_health_by_error_rate_with_kialis_thresholds() -> None:
    def at(n: float, errors: float) -> TrafficSample:
        return sample(
            requests("source", "reviews-v2", "ratings-v1", "ratings", n - errors),
            requests("source", "reviews-v2", "ratings-v1", "ratings", errors, response_code="503"),
        )

    for errors, want in ((0, "healthy"), (1, "degraded"), (30, "failure")):
        g = build_graph(history_of((0.0, at(0, 0)), (10.0, at(100, errors))).rates(60)[0])
        assert {e.health for e in g.edges} == {want}
        ratings = next(n for n in g.nodes if n.ref.name == "ratings")
        assert ratings.health == want and ratings.rps_in == pytest.approx(10.0)


def test_series_steps_at_least_the_given_seconds() -> None:
    samples = [
        (float(t), sample(requests("destination", "a-v1", "b-v1", "b", t * 3))) for t in range(11)
    ]
    points = series(samples, lambda hop: hop.destination.name == "b-v1", step=5)
    assert [p.at for p in points] == [5.0, 10.0]
    assert all(p.rps == pytest.approx(3.0) for p in points)


def test_a_callers_hop_takes_its_mtls_from_the_destination_side() -> None:
    def at(n: float) -> TrafficSample:
        # Istio's source reporter labels security "unknown"; the destination knows
        return sample(
            requests("source", "a-v1", "b-v1", "b", n, connection_security_policy="unknown"),
            requests("destination", "a-v1", "b-v1", "b", n),
        )

    rates, _ = history_of((0.0, at(0)), (10.0, at(20))).rates(60)
    caller = next(r for r in rates if r.hop.destination.kind == "service")
    assert caller.reporter == "source" and caller.mtls == 1.0
