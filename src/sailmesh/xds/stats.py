"""Istio's standard metrics as Envoy stats access loggers (``envoy.access_loggers.stats``).

In: :class:`~sailmesh.telemetry.raw.RawLogger` specs (what to count, with which tags, on which
access-log types) and the proxy's Telemetry metrics policy. Out: ``AccessLog`` messages for
an HTTP connection manager or a TCP proxy, the gRPC statistics filter the message counters
read (:func:`grpc_stats_filter`, in the HCMs whose loggers need it), and :func:`metrics_policy_for`, the proxy's
:class:`~sailmesh.telemetry.policy.MetricsPolicy` (memoized on its scope). The series they make
are named by the control plane when the pod's 15020 is scraped (see :mod:`sailmesh.telemetry`).
"""

from __future__ import annotations

from collections.abc import Iterable

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.data.accesslog.v3 import accesslog_pb2 as data_pb2
from envoy.extensions.access_loggers.filters.cel.v3 import cel_pb2
from envoy.extensions.access_loggers.stats.v3 import stats_pb2
from envoy.extensions.filters.http.grpc_stats.v3 import config_pb2 as grpc_stats_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from sailmesh.telemetry import raw
from sailmesh.telemetry.policy import MetricsPolicy, applicable, metrics_policy
from sailmesh.xds import pb
from sailmesh.xds.scope import ProxyScope

STATS_ACCESS_LOG = "envoy.access_loggers.stats"
CEL_FILTER = "envoy.access_loggers.extension_filters.cel"
GRPC_STATS_FILTER = raw.GRPC_STATS_STATE  # the filter's name is its filter-state key
#: Log only streams the gRPC statistics filter counted (gRPC requests).
_GRPC_ONLY = f"'{raw.GRPC_STATS_STATE}' in filter_state"
_UPSTREAM_CONNECTED = data_pb2.AccessLogType.Value(raw.TCP_OPENED_LOG)
_UNITS = {
    "": stats_pb2.Config.Histogram.Unspecified,
    "Milliseconds": stats_pb2.Config.Histogram.Milliseconds,
    "Bytes": stats_pb2.Config.Histogram.Bytes,
}


def _stat(spec: raw.RawStat) -> stats_pb2.Config.Stat:
    return stats_pb2.Config.Stat(
        name=spec.stat_name,
        tags=[stats_pb2.Config.Tag(name=n, value_format=f) for n, f in spec.tags],
    )


def log_type_filter(types: Iterable[str], exclude: bool = False) -> accesslog_pb2.AccessLogFilter:
    """Log only on (or, ``exclude``, never on) the given access-log types."""
    values = [data_pb2.AccessLogType.Value(t) for t in types]
    return accesslog_pb2.AccessLogFilter(
        log_type_filter=accesslog_pb2.LogTypeFilter(types=values, exclude=exclude)
    )


def stats_logger(spec: raw.RawLogger) -> accesslog_pb2.AccessLog:
    config = stats_pb2.Config(stat_prefix=raw.STAT_PREFIX)
    for stat in spec.stats:
        if stat.metric.kind == "histogram":
            config.histograms.add(
                stat=_stat(stat), unit=_UNITS[stat.unit], value_format=stat.value_format or ""
            )
        elif stat.value_format is None:
            config.counters.add(stat=_stat(stat), value_fixed=pb.u64(1))
        else:
            config.counters.add(stat=_stat(stat), value_format=stat.value_format)
    log = accesslog_pb2.AccessLog(name=STATS_ACCESS_LOG, typed_config=pb.pack(config))
    if spec.log_types:
        log.filter.CopyFrom(log_type_filter(spec.log_types))
    elif spec.grpc_only:
        packed = pb.pack(cel_pb2.ExpressionFilter(expression=_GRPC_ONLY))
        log.filter.extension_filter.CopyFrom(
            accesslog_pb2.ExtensionFilter(name=CEL_FILTER, typed_config=packed)
        )
    return log


def counts_grpc_messages(logs: Iterable[accesslog_pb2.AccessLog]) -> bool:
    """Whether some of ``logs`` count gRPC messages (their HCM needs :func:`grpc_stats_filter`)."""
    return any(
        log.name == STATS_ACCESS_LOG
        and log.filter.extension_filter.name == CEL_FILTER
        and cel_pb2.ExpressionFilter.FromString(
            log.filter.extension_filter.typed_config.value
        ).expression
        == _GRPC_ONLY
        for log in logs
    )


def grpc_stats_filter() -> hcm_pb2.HttpFilter:
    """Envoy's gRPC statistics filter, leaving each stream's message counts in its filter state
    for the stats loggers (its own per-cluster stats are not used)."""
    config = grpc_stats_pb2.FilterConfig(emit_filter_state=True)
    config.stats_for_all_methods.value = False
    return hcm_pb2.HttpFilter(name=GRPC_STATS_FILTER, typed_config=pb.pack(config))


def logs_on_connect(logs: Iterable[accesslog_pb2.AccessLog]) -> bool:
    """Whether some of ``logs`` want a TCP proxy's log when its upstream connects."""
    return any(
        log.filter.HasField("log_type_filter")
        and not log.filter.log_type_filter.exclude
        and _UPSTREAM_CONNECTED in log.filter.log_type_filter.types
        for log in logs
    )


def stats_loggers(specs: Iterable[raw.RawLogger]) -> list[accesslog_pb2.AccessLog]:
    return [stats_logger(spec) for spec in specs]


def metrics_policy_for(scope: ProxyScope) -> MetricsPolicy:
    """The proxy's metrics policy from the Telemetry objects that apply to it (memoized)."""
    found = scope.memo.get("metrics_policy")
    if found is None:
        snapshot, proxy = scope.snapshot, scope.proxy
        telemetries = applicable(
            snapshot.of_kind("Telemetry"),
            snapshot.mesh.root_namespace,
            proxy.namespace,
            proxy.labels,
        )
        found = scope.memo["metrics_policy"] = metrics_policy(telemetries)
    assert isinstance(found, MetricsPolicy)
    return found
