"""What a listener of a proxy reports: its access logs, Istio's metrics and its traces.

In: the proxy's scope and translation options, the reporter (``source`` for outbound listeners
and gateways, ``destination`` for inbound chains) and, when the listener knows it, the service
it serves. Out: :class:`ListenerLogs`, the ``access_log`` entries of its HTTP connection
managers and of its TCP proxies: the file access logs (:mod:`sailmesh.xds.access_logs`) and
the stats loggers of Istio's standard metrics (:mod:`sailmesh.xds.stats`), on the listeners
authorization applies to, the audit log of AUDIT policies (:mod:`sailmesh.xds.authz.audit`),
and the tracer of its HTTP connection managers (:mod:`sailmesh.xds.tracing`).

A TCP proxy's metric loggers also fire when the upstream connection is made (connections
opened); its file logs skip that moment, so a connection still logs one line, at its end.
With a Telemetry ``reportingInterval``, its TCP bytes go to the control plane periodically
instead (:mod:`sailmesh.xds.tcp_reports`).
"""

from __future__ import annotations

from dataclasses import dataclass

from envoy.config.accesslog.v3 import accesslog_pb2

from sailmesh.telemetry.raw import Emission
from sailmesh.telemetry.standard import TCP_RECEIVED, TCP_SENT, Reporter
from sailmesh.xds import access_logs, request_security, stats, tcp_reports
from sailmesh.xds.options import TranslateOptions
from sailmesh.xds.scope import ProxyScope
from sailmesh.xds.tracing import HcmTracing, hcm_tracing


@dataclass(frozen=True)
class ListenerLogs:
    http: tuple[accesslog_pb2.AccessLog, ...]
    tcp: tuple[accesslog_pb2.AccessLog, ...]
    tracing: HcmTracing | None = None


def listener_logs(
    scope: ProxyScope, options: TranslateOptions, reporter: Reporter, service: str | None = None
) -> ListenerLogs:
    """The access logs of a listener (memoized per reporter and service on the scope)."""
    memo: dict[tuple[str, str | None], ListenerLogs] = scope.memo.setdefault("listener_logs", {})
    found = memo.get((reporter, service))
    if found is None:
        policy = stats.metrics_policy_for(scope)
        emission = policy.emission(reporter, service)
        files = access_logs.file_logs(scope, options, reporter)
        audit = _audit(scope, options, reporter)
        periodic: tuple[accesslog_pb2.AccessLog, ...] = ()
        if policy.reporting_interval_s is not None and _reports_tcp_bytes(emission):
            periodic = (tcp_reports.periodic_logger(emission, policy.reporting_interval_s),)
        found = memo[(reporter, service)] = ListenerLogs(
            http=(*files.http, *stats.stats_loggers(emission.http_loggers()), *audit),
            tcp=(*files.tcp, *stats.stats_loggers(emission.tcp_loggers()), *periodic, *audit),
            tracing=hcm_tracing(scope, options, reporter),
        )
    return found


def _reports_tcp_bytes(emission: Emission) -> bool:
    return not {TCP_SENT.name, TCP_RECEIVED.name} <= emission.disabled


def _audit(
    scope: ProxyScope, options: TranslateOptions, reporter: Reporter
) -> tuple[accesslog_pb2.AccessLog, ...]:
    """The audit log of AUDIT AuthorizationPolicies, on the listeners authorization applies to
    (a sidecar's inbound chains, a gateway's listeners)."""
    if reporter != "destination" and scope.proxy.type != "router":
        return ()
    return tuple(request_security.audit_logs(scope, options.log_path(scope.snapshot.mesh)))
