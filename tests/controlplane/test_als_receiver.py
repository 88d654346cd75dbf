"""Envoy's TCP access-log entries to the ledger's reports."""

from __future__ import annotations

from envoy.data.accesslog.v3 import accesslog_pb2

from sailmesh.controlplane.als_receiver import report


def entry(log_type: int, sent: int) -> accesslog_pb2.TCPAccessLogEntry:
    out = accesslog_pb2.TCPAccessLogEntry()
    common = out.common_properties
    common.downstream_remote_address.socket_address.address = "10.244.0.2"
    common.downstream_remote_address.socket_address.port_value = 40000
    common.start_time.FromNanoseconds(1_000)
    common.downstream_wire_bytes_sent = sent
    common.downstream_wire_bytes_received = 7
    common.access_log_type = log_type
    common.custom_tags["reporter"] = "source"
    common.custom_tags["peer"] = "10.244.0.5"
    return out


def test_periodic_and_end_entries_of_one_connection() -> None:
    periodic = report("node", entry(accesslog_pb2.TcpPeriodic, 100))
    ended = report("node", entry(accesslog_pb2.TcpConnectionEnd, 250))
    assert periodic.connection == ended.connection  # same connection: one key
    assert (periodic.sent, periodic.received, periodic.ended) == (100, 7, False)
    assert ended.ended and ended.sent == 250
    assert periodic.tags == (("peer", "10.244.0.5"), ("reporter", "source"))
