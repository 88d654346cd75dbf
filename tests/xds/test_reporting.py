"""What listeners report: stats access loggers for Istio's metrics and file access logs (text,
JSON, CEL filters) as the mesh config and the Telemetry API say; real Envoy accepts them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import xds_fixtures as fx
from envoy.data.accesslog.v3 import accesslog_pb2 as data_pb2
from envoy.extensions.access_loggers.file.v3 import file_pb2
from envoy.extensions.access_loggers.filters.cel.v3 import cel_pb2
from envoy.extensions.access_loggers.grpc.v3 import als_pb2
from envoy.extensions.access_loggers.stats.v3 import stats_pb2
from envoy.extensions.filters.http.grpc_stats.v3 import config_pb2 as grpc_stats_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2
from google.protobuf import json_format
from test_envoy_validate import _validate

from config_support.manifests import manifests
from sailmesh.snapshot.mesh import MeshConfig
from sailmesh.typeurls import LISTENER
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.translate import translate

TELEMETRY = manifests("""
Telemetry default/errors
  accessLogging:
  - providers: [{name: envoy}]
    filter: {expression: "response.code >= 400"}
  metrics:
  - overrides:
    - match: {metric: REQUEST_COUNT, mode: SERVER}
      tagOverrides:
        user: {value: "request.headers['x-user'] | 'anonymous'"}
    - match: {metric: REQUEST_SIZE}
      disabled: true
""")


def _listeners(mesh: MeshConfig | None = None, text: str = "") -> dict[str, Any]:
    resources = fx.config(text) if text else []
    snap = fx.snapshot(
        resources, extra_services=[fx.tcp_service("mysql", 3306, "10.96.0.30")], mesh=mesh
    )
    out = translate(
        fx.productpage_proxy(), snap, options=TranslateOptions(access_log_path="/dev/stdout")
    )
    return out[LISTENER]


def _unpack(any_: Any, message: Any) -> Any:
    out = message()
    assert any_.Unpack(out)
    return out


def _inbound_hcm(listeners: dict[str, Any]) -> Any:
    for chain in listeners["virtualInbound"].filter_chains:
        for f in chain.filters:
            if f.name == "envoy.filters.network.http_connection_manager":
                return _unpack(f.typed_config, hcm_pb2.HttpConnectionManager)
    raise AssertionError("no inbound HCM")


def _tcp(listeners: dict[str, Any]) -> Any:
    (f,) = listeners["10.96.0.30_3306"].filter_chains[0].filters
    return _unpack(f.typed_config, tcp_proxy_pb2.TcpProxy)


def test_http_listeners_count_istio_metrics_with_raw_tags() -> None:
    hcm = _inbound_hcm(_listeners())
    names = [log.name for log in hcm.access_log]
    assert names == ["envoy.access_loggers.file", *["envoy.access_loggers.stats"] * 2]
    stats = _unpack(hcm.access_log[1].typed_config, stats_pb2.Config)
    assert stats.stat_prefix == "sailmesh"
    assert [c.stat.name for c in stats.counters] == ["requests_total"]
    assert [h.stat.name for h in stats.histograms] == [
        "request_duration_milliseconds", "request_bytes", "response_bytes"]  # fmt: skip
    tags = {t.name: t.value_format for t in stats.counters[0].stat.tags}
    assert tags["reporter"] == "destination"
    assert tags["peer"] == "%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%"
    assert tags["service"].endswith(".svc.cluster.local")
    assert tags["response_flags"] == "%RESPONSE_FLAGS%"


def test_grpc_streams_are_counted_with_their_message_counts() -> None:
    hcm = _inbound_hcm(_listeners())
    messages = hcm.access_log[2]
    stats = _unpack(messages.typed_config, stats_pb2.Config)
    assert [c.stat.name for c in stats.counters] == [
        "request_messages_total", "response_messages_total"]  # fmt: skip
    assert all(c.value_fixed.value == 1 for c in stats.counters)  # streams, multiplied later
    tags = {t.name: t.value_format for t in stats.counters[0].stat.tags}
    assert tags["grpc_messages"] == "%FILTER_STATE(envoy.filters.http.grpc_stats:PLAIN)%"
    assert tags["grpc_status"] == "%GRPC_STATUS_NUMBER%"
    only = _unpack(messages.filter.extension_filter.typed_config, cel_pb2.ExpressionFilter)
    assert only.expression == "'envoy.filters.http.grpc_stats' in filter_state"
    names = [f.name for f in hcm.http_filters]
    assert names[-2:] == ["envoy.filters.http.grpc_stats", "envoy.filters.http.router"]
    grpc = _unpack(hcm.http_filters[-2].typed_config, grpc_stats_pb2.FilterConfig)
    assert grpc.emit_filter_state


def test_no_message_counters_no_grpc_stats_filter() -> None:
    disabled = manifests("""
Telemetry default/no-messages
  metrics:
  - overrides:
    - match: {metric: GRPC_REQUEST_MESSAGES}
      disabled: true
    - match: {metric: GRPC_RESPONSE_MESSAGES}
      disabled: true
""")
    hcm = _inbound_hcm(_listeners(text=disabled))
    assert "envoy.filters.http.grpc_stats" not in [f.name for f in hcm.http_filters]
    assert len(hcm.access_log) == 2


def test_tcp_proxies_count_connections_when_opened_and_closed() -> None:
    proxy = _tcp(_listeners())
    assert proxy.access_log_options.flush_access_log_on_connected
    file_log, opened, ended = proxy.access_log
    assert file_log.filter.log_type_filter.exclude  # one line per connection, at its end
    assert [_unpack(x.typed_config, stats_pb2.Config).counters[0].stat.name for x in (opened, ended)] == [
        "tcp_connections_opened_total", "tcp_connections_closed_total"]  # fmt: skip
    assert not opened.filter.log_type_filter.exclude


def test_telemetry_filters_json_and_overrides_reach_the_listeners() -> None:
    mesh = MeshConfig.from_dict({"accessLogEncoding": "JSON"})
    hcm = _inbound_hcm(_listeners(mesh, TELEMETRY))
    file_log, stats_log, _messages = hcm.access_log
    config = _unpack(file_log.typed_config, file_pb2.FileAccessLog)
    assert config.log_format.json_format.fields["response_code"].string_value == "%RESPONSE_CODE%"
    expression = _unpack(file_log.filter.extension_filter.typed_config, cel_pb2.ExpressionFilter)
    assert expression.expression == "response.code >= 400"
    stats = _unpack(stats_log.typed_config, stats_pb2.Config)
    tags = {t.name: t.value_format for t in stats.counters[0].stat.tags}
    assert tags["tag_user"] == "%REQ(x-user)%"
    assert "request_bytes" not in [h.stat.name for h in stats.histograms]


def test_envoy_accepts_the_telemetry_config(tmp_path: Path) -> None:
    mesh = MeshConfig.from_dict({"accessLogEncoding": "JSON"})
    resources = fx.config(TELEMETRY)
    snap = fx.snapshot(
        resources, extra_services=[fx.tcp_service("mysql", 3306, "10.96.0.30")], mesh=mesh
    )
    _validate(
        translate(
            fx.productpage_proxy(), snap, options=TranslateOptions(access_log_path="/dev/stdout")
        ),
        tmp_path,
    )


REPORT_EVERY_5S = manifests("""
Telemetry default/tcp-reporting
  metrics:
  - providers: [{name: prometheus}]
    reportingInterval: 5s
""")
GOLDEN = Path(__file__).parent / "golden" / "reporting"


def test_a_reporting_interval_sends_tcp_bytes_periodically_to_the_control_plane() -> None:
    proxy = _tcp(_listeners(text=REPORT_EVERY_5S))
    assert proxy.access_log_options.access_log_flush_interval.seconds == 5
    names = [log.name for log in proxy.access_log]
    assert names[-1] == "envoy.access_loggers.tcp_grpc"
    ended = _unpack(proxy.access_log[2].typed_config, stats_pb2.Config)
    assert [c.stat.name for c in ended.counters] == ["tcp_connections_closed_total"]  # no bytes
    periodic = _unpack(proxy.access_log[-1].typed_config, als_pb2.TcpGrpcAccessLogConfig)
    common = periodic.common_config
    assert common.grpc_service.envoy_grpc.cluster_name == "xds-grpc"
    assert common.log_name.startswith("sailmesh-tcp|source|")
    tags = {t.tag: t.value for t in common.custom_tags}
    assert tags["peer"] == "%UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"
    assert tags["reporter"] == "source"
    types = proxy.access_log[-1].filter.log_type_filter.types
    assert sorted(types) == sorted([data_pb2.TcpPeriodic, data_pb2.TcpConnectionEnd])
    file_log = proxy.access_log[0]  # one line per connection, never a periodic one
    assert data_pb2.TcpPeriodic in file_log.filter.log_type_filter.types


def test_golden_tcp_proxy_with_a_reporting_interval() -> None:
    proxy = _tcp(_listeners(text=REPORT_EVERY_5S))
    output = json_format.MessageToDict(proxy, preserving_proto_field_name=True)
    text = json.dumps(output, indent=1, sort_keys=True) + "\n"
    path = GOLDEN / "tcp_reporting_interval.json"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if os.environ.get("SAILMESH_UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden file {path.name} was missing and has been written")
    assert json.loads(path.read_text()) == output, (
        f"{path.name} differs; rerun with SAILMESH_UPDATE_GOLDEN=1 if the change is intended"
    )


def test_envoy_accepts_the_periodic_tcp_reports(tmp_path: Path) -> None:
    snap = fx.snapshot(
        fx.config(REPORT_EVERY_5S), extra_services=[fx.tcp_service("mysql", 3306, "10.96.0.30")]
    )
    _validate(translate(fx.productpage_proxy(), snap, options=TranslateOptions()), tmp_path)
