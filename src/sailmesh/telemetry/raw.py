"""What each proxy counts: the stats its access loggers emit, before the control plane names
them (the contract between :mod:`sailmesh.xds`, which builds the loggers, and
:mod:`~sailmesh.telemetry.aggregate`, which reads the series).

Every standard metric has a raw twin named ``<STAT_PREFIX>.<metric>`` (Envoy exposes
``envoy_sailmesh_requests_total`` and so on) carrying raw tags whose values are Envoy command
operators evaluated when the request or connection ends: the reporter, the peer's address and
certificate (see :data:`PEER_FORMATS`), the upstream cluster, the service a listener serves
(when the listener knows it), HTTP status, gRPC status and response flags, and one
``tag_<name>`` per Telemetry ``tagOverrides`` UPSERT (its value a format string, see
:mod:`~sailmesh.telemetry.policy`).

gRPC message counts (``request_messages_total``, ``response_messages_total``) come from
Envoy's gRPC statistics filter (``envoy.filters.http.grpc_stats``), which counts the messages of
each stream in both directions and leaves them in the stream's filter state as the text
``<request messages>,<response messages>``. No Envoy command operator or CEL function of the
access loggers turns that text into a number (its ``FIELD`` accessor is not supported and the
formatter's CEL has no string functions), so the raw twins count *streams*, one per gRPC stream
that ended, with the text as their :data:`GRPC_MESSAGES` tag; the control plane multiplies
when it names them (:func:`message_count`). A stream with the same counts as an earlier one of
the same peer adds to that series: one series per peer and distinct count pair (unary calls are
always ``1,1``). Their logger fires only for gRPC streams (:attr:`RawLogger.grpc_only`).

TCP proxies log twice per connection: when the upstream connection is made (Envoy's
``TcpUpstreamConnected`` log type: ``tcp_connections_opened_total``) and when the connection
ends (``TcpConnectionEnd``: closed connections and the bytes sent and received, from the
downstream wire byte meters as Istio counts them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sailmesh.telemetry import standard
from sailmesh.telemetry.standard import Reporter, StandardMetric

#: Envoy stat prefix of the raw stats; Envoy's Prometheus output adds ``envoy_``.
STAT_PREFIX = "sailmesh"
ENVOY_PROMETHEUS_PREFIX = f"envoy_{STAT_PREFIX}_"

# --- raw tag names -------------------------------------------------------------------------
REPORTER = "reporter"
PEER = "peer"
PEER_PRINCIPAL = "peer_principal"
LOCAL_PRINCIPAL = "local_principal"
CLUSTER = "cluster"
SERVICE = "service"
RESPONSE_CODE = "response_code"
GRPC_STATUS = "grpc_status"
RESPONSE_FLAGS = "response_flags"
GRPC_MESSAGES = "grpc_messages"
#: ``tag_<label>``: a Telemetry tagOverrides UPSERT of ``<label>``.
OVERRIDE_PREFIX = "tag_"

#: Envoy access log types (``envoy.data.accesslog.v3.AccessLogType``) the TCP loggers fire on.
TCP_OPENED_LOG = "TcpUpstreamConnected"
TCP_END_LOG = "TcpConnectionEnd"
#: While a connection is open, every reporting interval (see :mod:`.tcp_periodic`).
TCP_PERIODIC_LOG = "TcpPeriodic"

#: The filter-state key under which Envoy's gRPC statistics filter leaves a stream's counts.
GRPC_STATS_STATE = "envoy.filters.http.grpc_stats"
#: The gRPC message metrics and the position of their count in :data:`GRPC_MESSAGES`' text.
MESSAGE_METRICS: Mapping[str, int] = {
    standard.GRPC_REQUEST_MESSAGES.name: 0,
    standard.GRPC_RESPONSE_MESSAGES.name: 1,
}

#: Per reporter: the peer's address and certificate, and our own certificate. The downstream
#: peer is the connection's own (``DIRECT``): the address ``x-forwarded-for`` would give is
#: whatever a client wrote there.
PEER_FORMATS: Mapping[Reporter, Mapping[str, str]] = {
    "source": {
        PEER: "%UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
        PEER_PRINCIPAL: "%UPSTREAM_PEER_URI_SAN%",
        LOCAL_PRINCIPAL: "%UPSTREAM_LOCAL_URI_SAN%",
    },
    "destination": {
        PEER: "%DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT%",
        PEER_PRINCIPAL: "%DOWNSTREAM_PEER_URI_SAN%",
        LOCAL_PRINCIPAL: "%DOWNSTREAM_LOCAL_URI_SAN%",
    },
}
_HTTP_FORMATS = {
    RESPONSE_CODE: "%RESPONSE_CODE%",
    GRPC_STATUS: "%GRPC_STATUS_NUMBER%",
    RESPONSE_FLAGS: "%RESPONSE_FLAGS%",
}
#: Histogram values (Envoy units), counter increments (None: count one).
_VALUES: Mapping[str, tuple[str | None, str]] = {
    standard.REQUEST_COUNT.name: (None, ""),
    standard.REQUEST_DURATION.name: ("%DURATION%", "Milliseconds"),
    standard.REQUEST_SIZE.name: ("%DOWNSTREAM_WIRE_BYTES_RECEIVED%", "Bytes"),
    standard.RESPONSE_SIZE.name: ("%DOWNSTREAM_WIRE_BYTES_SENT%", "Bytes"),
    standard.GRPC_REQUEST_MESSAGES.name: (None, ""),
    standard.GRPC_RESPONSE_MESSAGES.name: (None, ""),
    standard.TCP_OPENED.name: (None, ""),
    standard.TCP_CLOSED.name: (None, ""),
    standard.TCP_SENT.name: ("%DOWNSTREAM_WIRE_BYTES_SENT%", ""),
    standard.TCP_RECEIVED.name: ("%DOWNSTREAM_WIRE_BYTES_RECEIVED%", ""),
}
_HTTP_METRICS = (
    standard.REQUEST_COUNT,
    standard.REQUEST_DURATION,
    standard.REQUEST_SIZE,
    standard.RESPONSE_SIZE,
)
_GRPC_METRICS = (standard.GRPC_REQUEST_MESSAGES, standard.GRPC_RESPONSE_MESSAGES)
_TCP_AT_END = (standard.TCP_CLOSED, standard.TCP_SENT, standard.TCP_RECEIVED)


@dataclass(frozen=True)
class RawStat:
    """One stat of a stats access logger."""

    metric: StandardMetric
    tags: tuple[tuple[str, str], ...]  # (tag name, Envoy format string)
    value_format: str | None  # None: a counter incremented by one
    unit: str  # histograms: "Milliseconds" or "Bytes"

    @property
    def stat_name(self) -> str:
        return self.metric.name


@dataclass(frozen=True)
class RawLogger:
    """One stats access logger: its stats, fired on ``log_types`` (empty: every log) and, when
    ``grpc_only``, only for streams Envoy's gRPC statistics filter counted."""

    stats: tuple[RawStat, ...]
    log_types: tuple[str, ...] = ()
    grpc_only: bool = False


@dataclass(frozen=True)
class Emission:
    """What one listener of a proxy reports: ``reporter``, the ``service`` it serves when it
    knows it, the metrics turned off for this reporter, and UPSERTed tags per metric."""

    reporter: Reporter
    service: str | None = None
    disabled: frozenset[str] = frozenset()  # metric names (``requests_total``, ...)
    upserts: Mapping[str, Mapping[str, str]] | None = None  # metric -> {label: format}
    #: TCP bytes are reported periodically, by the control plane's ledger
    #: (:mod:`~sailmesh.telemetry.tcp_periodic`): the end-of-connection logger skips them.
    periodic_bytes: bool = False

    def tags_for(self, metric: StandardMetric, http: bool) -> tuple[tuple[str, str], ...]:
        tags: list[tuple[str, str]] = [(REPORTER, self.reporter)]
        tags += PEER_FORMATS[self.reporter].items()
        tags.append((CLUSTER, "%UPSTREAM_CLUSTER_RAW%"))
        if self.service:
            tags.append((SERVICE, self.service))
        if http:
            tags += _HTTP_FORMATS.items()
            if metric.name in MESSAGE_METRICS:
                tags.append((GRPC_MESSAGES, f"%FILTER_STATE({GRPC_STATS_STATE}:PLAIN)%"))
        else:
            tags.append((RESPONSE_FLAGS, "%RESPONSE_FLAGS%"))
        extra = (self.upserts or {}).get(metric.name, {})
        tags += [(OVERRIDE_PREFIX + label, value) for label, value in sorted(extra.items())]
        return tuple(tags)

    def _stats(self, metrics: Iterable[StandardMetric], http: bool) -> tuple[RawStat, ...]:
        out = []
        for metric in metrics:
            if metric.name in self.disabled:
                continue
            value, unit = _VALUES[metric.name]
            out.append(RawStat(metric, self.tags_for(metric, http), value, unit))
        return tuple(out)

    def http_loggers(self) -> list[RawLogger]:
        """The loggers of an HTTP connection manager (requests; gRPC streams)."""
        out = []
        stats = self._stats(_HTTP_METRICS, http=True)
        if stats:
            out.append(RawLogger(stats))
        messages = self._stats(_GRPC_METRICS, http=True)
        if messages:
            out.append(RawLogger(messages, grpc_only=True))
        return out

    def tcp_loggers(self) -> list[RawLogger]:
        """The loggers of a TCP proxy (opened on upstream connect, the rest at the end)."""
        out = []
        opened = self._stats([standard.TCP_OPENED], http=False)
        if opened:
            out.append(RawLogger(opened, (TCP_OPENED_LOG,)))
        at_end = (standard.TCP_CLOSED,) if self.periodic_bytes else _TCP_AT_END
        ended = self._stats(at_end, http=False)
        if ended:
            out.append(RawLogger(ended, (TCP_END_LOG,)))
        return out


def raw_metric_name(family: str) -> str | None:
    """``envoy_sailmesh_requests_total`` -> ``requests_total`` (None: not a raw stat)."""
    if not family.startswith(ENVOY_PROMETHEUS_PREFIX):
        return None
    name = family[len(ENVOY_PROMETHEUS_PREFIX) :]
    return name if name in standard.BY_NAME else None


def message_count(metric: str, tags: Mapping[str, str]) -> int | None:
    """How many messages one stream of a raw gRPC message series carried (the stream counter is
    multiplied by it); None: ``metric`` is not a message metric, 0 when the text is not
    ``<request>,<response>``."""
    position = MESSAGE_METRICS.get(metric)
    if position is None:
        return None
    parts = tags.get(GRPC_MESSAGES, "").split(",")
    if len(parts) != 2 or not parts[position].isdigit():
        return 0
    return int(parts[position])
