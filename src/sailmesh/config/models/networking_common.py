"""Messages shared by several networking.istio.io kinds.

String matches, destinations and port selectors (VirtualService, Sidecar), the two workload
selector shapes, ports (Gateway, Sidecar, ServiceEntry), connection pool settings
(DestinationRule, Sidecar) and server-side TLS settings (Gateway, Sidecar ingress).
Unset fields are ``None`` (scalars, messages) or empty (lists, maps), as in proto3.
"""

from __future__ import annotations

from typing import Literal

from sailmesh.config.models.base import DurationStr, Model, StrMap


class StringMatch(Model):
    """Oneof ``exact`` / ``prefix`` / ``regex`` (RE2 syntax); at most one may be set."""

    exact: str | None = None
    prefix: str | None = None
    regex: str | None = None


class PortSelector(Model):
    """A port on the destination service."""

    number: int | None = None


class Destination(Model):
    """Where traffic goes: a service host (short name, FQDN or ServiceEntry host), subset, port."""

    host: str | None = None
    subset: str | None = None
    port: PortSelector | None = None


class WorkloadSelector(Model):
    """``networking.v1alpha3.WorkloadSelector``: ``labels`` (Sidecar, ServiceEntry, EnvoyFilter)."""

    labels: StrMap = {}


class MatchLabelsSelector(Model):
    """``type.v1beta1.WorkloadSelector``: ``matchLabels`` (DestinationRule, ProxyConfig)."""

    match_labels: StrMap = {}


class TargetReference(Model):
    """``type.v1beta1.PolicyTargetReference`` (EnvoyFilter ``targetRefs``)."""

    group: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None


class Port(Model):
    """A port: ``number``, ``protocol`` (HTTP, HTTPS, GRPC, HTTP2, TCP, TLS, ...), ``name``.

    ``targetPort`` is deprecated on Gateway servers; on ServiceEntry ports it is the endpoint port.
    """

    number: int | None = None
    protocol: str | None = None
    name: str | None = None
    target_port: int | None = None


H2UpgradePolicy = Literal["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"]


class TcpKeepalive(Model):
    """TCP keepalive probes; unset fields take the OS defaults (Linux: 9 probes, 7200s, 75s)."""

    probes: int | None = None
    time: DurationStr | None = None
    interval: DurationStr | None = None


class TCPSettings(Model):
    """Limits common to HTTP and TCP upstreams (defaults: 2^32-1 connections, 10s connect)."""

    max_connections: int | None = None
    connect_timeout: DurationStr | None = None
    tcp_keepalive: TcpKeepalive | None = None
    max_connection_duration: DurationStr | None = None
    idle_timeout: DurationStr | None = None


class HTTP2KeepAlive(Model):
    """HTTP/2 PING keepalive of upstream connections."""

    interval: DurationStr | None = None
    timeout: DurationStr | None = None


class HTTPSettings(Model):
    """HTTP connection pool settings (defaults: 2^32-1 pending/requests, 1h idle timeout)."""

    http1_max_pending_requests: int | None = None
    http2_max_requests: int | None = None
    max_requests_per_connection: int | None = None
    max_retries: int | None = None
    idle_timeout: DurationStr | None = None
    h2_upgrade_policy: H2UpgradePolicy = "DEFAULT"
    use_client_protocol: bool | None = None
    max_concurrent_streams: int | None = None
    http2_keep_alive: HTTP2KeepAlive | None = None


class ConnectionPoolSettings(Model):
    """Upstream (DestinationRule) or inbound (Sidecar) connection pool limits."""

    tcp: TCPSettings | None = None
    http: HTTPSettings | None = None


ServerTLSMode = Literal[
    "PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"
]
TLSProtocol = Literal["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"]


class TLSCertificate(Model):
    """One certificate/key pair of a server that serves several (e.g. RSA and ECDSA)."""

    server_certificate: str | None = None
    private_key: str | None = None
    ca_certificates: str | None = None


class ServerTLSSettings(Model):
    """TLS of a Gateway server or Sidecar ingress listener (``mode`` defaults to PASSTHROUGH)."""

    https_redirect: bool | None = None
    mode: ServerTLSMode = "PASSTHROUGH"
    server_certificate: str | None = None
    private_key: str | None = None
    ca_certificates: str | None = None
    ca_crl: str | None = None
    credential_name: str | None = None
    credential_names: list[str] = []
    ca_cert_credential_name: str | None = None
    tls_certificates: list[TLSCertificate] = []
    subject_alt_names: list[str] = []
    verify_certificate_spki: list[str] = []
    verify_certificate_hash: list[str] = []
    min_protocol_version: TLSProtocol | None = None
    max_protocol_version: TLSProtocol | None = None
    cipher_suites: list[str] = []
    insecure_skip_verify: bool | None = None


__all__ = [
    "ConnectionPoolSettings",
    "Destination",
    "H2UpgradePolicy",
    "HTTP2KeepAlive",
    "HTTPSettings",
    "MatchLabelsSelector",
    "Port",
    "PortSelector",
    "ServerTLSMode",
    "ServerTLSSettings",
    "StringMatch",
    "TCPSettings",
    "TLSCertificate",
    "TLSProtocol",
    "TargetReference",
    "TcpKeepalive",
    "WorkloadSelector",
]
