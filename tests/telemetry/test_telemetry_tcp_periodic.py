"""Periodic TCP reports (cumulative per connection) to monotonic raw byte counters."""

from __future__ import annotations

from sailmesh.telemetry.tcp_periodic import TcpByteLedger, TcpReport, log_name, parse_log_name

TAGS = (("peer", "10.244.0.5"), ("reporter", "source"))


def report(connection: str, sent: int, received: int, ended: bool = False) -> TcpReport:
    return TcpReport("sidecar~1", connection, TAGS, sent, received, ended)


def values(ledger: TcpByteLedger) -> dict[str, float]:
    return {f.name: sum(s.value for s in f.samples) for f in ledger.families("sidecar~1")}


def test_each_report_adds_what_the_connection_moved_since_the_last() -> None:
    ledger = TcpByteLedger()
    assert ledger.families("sidecar~1") == []
    ledger.record(report("a", 100, 10))
    ledger.record(report("a", 300, 30))  # cumulative: 200 and 20 more
    ledger.record(report("b", 50, 5))
    assert values(ledger) == {
        "envoy_sailmesh_tcp_sent_bytes_total": 350,
        "envoy_sailmesh_tcp_received_bytes_total": 35,
    }
    ledger.record(report("a", 400, 40, ended=True))
    ledger.record(report("a", 400, 40, ended=True))  # a repeated end counts from zero: 400 more
    assert values(ledger)["envoy_sailmesh_tcp_sent_bytes_total"] == 850
    (family, _) = ledger.families("sidecar~1")
    assert [s.labels for s in family.samples] == [TAGS]
    ledger.forget("sidecar~1")
    assert ledger.families("sidecar~1") == []


def test_log_names_carry_reporter_and_service() -> None:
    name = log_name("destination", "db.default.svc.cluster.local")
    assert parse_log_name(name) == ("destination", "db.default.svc.cluster.local")
    assert parse_log_name(log_name("source", None)) == ("source", "")
    assert parse_log_name("other-logger") is None
