"""Istio's standard metrics: names, types, label sets (in Istio's order) and buckets.

What people's PromQL, Istio's Grafana dashboards and Kiali read, so it is copied from Istio's
own stats filter exactly: ``istio_requests_total`` (counter), ``istio_request_duration_milliseconds``,
``istio_request_bytes`` and ``istio_response_bytes`` (histograms, wire bytes including headers),
the gRPC message counters, and the four TCP counters. HTTP series carry
:data:`HTTP_LABELS`, TCP series :data:`TCP_LABELS` (no response code or gRPC status).
Histograms use Envoy's default buckets, which are Istio's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["counter", "histogram"]
Protocol = Literal["http", "tcp"]
Reporter = Literal["source", "destination"]

#: The prefix of every standard metric's name.
PREFIX = "istio_"
UNKNOWN = "unknown"
#: Istio's cluster id when none is configured (the ``source_cluster``/``destination_cluster``).
DEFAULT_CLUSTER_ID = "Kubernetes"
#: ``source_canonical_revision`` and its destination twin when no label names one.
LATEST = "latest"

#: Envoy's default histogram buckets, which Istio's histograms use (milliseconds or bytes).
BUCKETS: tuple[float, ...] = (
    0.5,
    1,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
    600000,
    1800000,
    3600000,
)

_PEER_LABELS = (
    "source_workload",
    "source_canonical_service",
    "source_canonical_revision",
    "source_workload_namespace",
    "source_principal",
    "source_app",
    "source_version",
    "source_cluster",
    "destination_workload",
    "destination_workload_namespace",
    "destination_principal",
    "destination_app",
    "destination_version",
    "destination_service",
    "destination_canonical_service",
    "destination_canonical_revision",
    "destination_service_name",
    "destination_service_namespace",
    "destination_cluster",
)
#: The labels of HTTP (and gRPC) metrics, in the order Istio's stats filter emits them.
HTTP_LABELS: tuple[str, ...] = (
    "reporter",
    *_PEER_LABELS,
    "request_protocol",
    "response_code",
    "grpc_response_status",
    "response_flags",
    "connection_security_policy",
)
#: The labels of TCP metrics.
TCP_LABELS: tuple[str, ...] = (
    "reporter",
    *_PEER_LABELS,
    "request_protocol",
    "response_flags",
    "connection_security_policy",
)


@dataclass(frozen=True)
class StandardMetric:
    """One of Istio's standard metrics."""

    name: str  # without the istio_ prefix, e.g. "requests_total"
    api_name: str  # the Telemetry API's enum, e.g. "REQUEST_COUNT"
    kind: MetricKind
    protocol: Protocol
    help: str

    @property
    def full_name(self) -> str:
        return PREFIX + self.name

    @property
    def labels(self) -> tuple[str, ...]:
        return HTTP_LABELS if self.protocol == "http" else TCP_LABELS


REQUEST_COUNT = StandardMetric(
    "requests_total", "REQUEST_COUNT", "counter", "http", "Requests handled by an Istio proxy."
)
REQUEST_DURATION = StandardMetric(
    "request_duration_milliseconds",
    "REQUEST_DURATION",
    "histogram",
    "http",
    "Duration of requests, in milliseconds.",
)
REQUEST_SIZE = StandardMetric(
    "request_bytes", "REQUEST_SIZE", "histogram", "http", "Request sizes on the wire, in bytes."
)
RESPONSE_SIZE = StandardMetric(
    "response_bytes", "RESPONSE_SIZE", "histogram", "http", "Response sizes on the wire, in bytes."
)
GRPC_REQUEST_MESSAGES = StandardMetric(
    "request_messages_total",
    "GRPC_REQUEST_MESSAGES",
    "counter",
    "http",
    "gRPC messages sent by clients.",
)
GRPC_RESPONSE_MESSAGES = StandardMetric(
    "response_messages_total",
    "GRPC_RESPONSE_MESSAGES",
    "counter",
    "http",
    "gRPC messages sent by servers.",
)
TCP_OPENED = StandardMetric(
    "tcp_connections_opened_total",
    "TCP_OPENED_CONNECTIONS",
    "counter",
    "tcp",
    "TCP connections opened.",
)
TCP_CLOSED = StandardMetric(
    "tcp_connections_closed_total",
    "TCP_CLOSED_CONNECTIONS",
    "counter",
    "tcp",
    "TCP connections closed.",
)
TCP_SENT = StandardMetric(
    "tcp_sent_bytes_total", "TCP_SENT_BYTES", "counter", "tcp", "Bytes sent on TCP connections."
)
TCP_RECEIVED = StandardMetric(
    "tcp_received_bytes_total",
    "TCP_RECEIVED_BYTES",
    "counter",
    "tcp",
    "Bytes received on TCP connections.",
)

#: Every standard metric, HTTP first (the order of the merged view).
ALL: tuple[StandardMetric, ...] = (
    REQUEST_COUNT,
    REQUEST_DURATION,
    REQUEST_SIZE,
    RESPONSE_SIZE,
    GRPC_REQUEST_MESSAGES,
    GRPC_RESPONSE_MESSAGES,
    TCP_OPENED,
    TCP_CLOSED,
    TCP_SENT,
    TCP_RECEIVED,
)
BY_NAME: dict[str, StandardMetric] = {m.name: m for m in ALL}
BY_API_NAME: dict[str, StandardMetric] = {m.api_name: m for m in ALL}
