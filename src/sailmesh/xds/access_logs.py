"""File access logs of a proxy's listeners, as the mesh config and the Telemetry API say.

In: the proxy's scope (the Telemetry objects that apply to it and the mesh settings), its
translation options (the default log file its bootstrap names) and the reporter (``source`` for
outbound listeners and gateways, ``destination`` for inbound chains). Out: :class:`FileLogs`,
Envoy file access loggers (text or JSON, with Istio's formats unless configured) for HTTP
connection managers and TCP proxies, each with its CEL filter
(``envoy.access_loggers.extension_filters.cel``). Which logs, where and how is decided by
:mod:`sailmesh.telemetry.accesslog`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.core.v3 import substitution_format_string_pb2 as sfs_pb2
from envoy.extensions.access_loggers.file.v3 import file_pb2
from envoy.extensions.access_loggers.filters.cel.v3 import cel_pb2

from sailmesh.telemetry import raw
from sailmesh.telemetry.accesslog import FileLog
from sailmesh.telemetry.accesslog import file_logs as resolve
from sailmesh.telemetry.policy import applicable
from sailmesh.telemetry.standard import Reporter
from sailmesh.xds import pb
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.scope import ProxyScope
from sailmesh.xds.stats import CEL_FILTER, log_type_filter

FILE_ACCESS_LOG = "envoy.access_loggers.file"


@dataclass(frozen=True)
class FileLogs:
    http: tuple[accesslog_pb2.AccessLog, ...]
    tcp: tuple[accesslog_pb2.AccessLog, ...]


def _format(log: FileLog) -> sfs_pb2.SubstitutionFormatString:
    if log.json is not None:
        out = sfs_pb2.SubstitutionFormatString(json_format=pb.struct(dict(log.json)))
        out.json_format_options.sort_properties = False
        return out
    return sfs_pb2.SubstitutionFormatString(text_format_source=pb.data_source(log.text))


def _cel(expression: str) -> accesslog_pb2.AccessLogFilter:
    packed = pb.pack(cel_pb2.ExpressionFilter(expression=expression))
    return accesslog_pb2.AccessLogFilter(
        extension_filter=accesslog_pb2.ExtensionFilter(name=CEL_FILTER, typed_config=packed)
    )


def _all_of(found: Sequence[accesslog_pb2.AccessLogFilter]) -> accesslog_pb2.AccessLogFilter:
    if len(found) == 1:
        return found[0]
    return accesslog_pb2.AccessLogFilter(and_filter=accesslog_pb2.AndFilter(filters=found))


def file_access_log(log: FileLog, tcp: bool = False) -> accesslog_pb2.AccessLog:
    """One Envoy file access logger; on a TCP proxy it skips the upstream-connected moment
    and the periodic logs (the metrics loggers want them; a connection logs one line, at its
    end)."""
    config = file_pb2.FileAccessLog(path=log.path, log_format=_format(log))
    out = accesslog_pb2.AccessLog(name=FILE_ACCESS_LOG, typed_config=pb.pack(config))
    conditions = [_cel(log.filter)] if log.filter else []
    if tcp:
        conditions.append(log_type_filter([raw.TCP_OPENED_LOG, raw.TCP_PERIODIC_LOG], exclude=True))
    if conditions:
        out.filter.CopyFrom(_all_of(conditions))
    return out


def file_logs(scope: ProxyScope, options: TranslateOptions, reporter: Reporter) -> FileLogs:
    """The file access logs of a listener reporting as ``reporter``."""
    snapshot, proxy = scope.snapshot, scope.proxy
    telemetries = applicable(
        snapshot.of_kind("Telemetry"), snapshot.mesh.root_namespace, proxy.namespace, proxy.labels
    )
    logs = resolve(telemetries, snapshot.mesh, options.access_log_path or "", reporter)
    return FileLogs(
        http=tuple(file_access_log(log) for log in logs),
        tcp=tuple(file_access_log(log, tcp=True) for log in logs),
    )
