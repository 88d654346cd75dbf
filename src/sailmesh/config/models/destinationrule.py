"""DestinationRule: policies applied to traffic for a service after routing.

Load balancing (``simple`` and ``consistentHash`` are a oneof; ``LEAST_CONN`` is the deprecated
name of ``LEAST_REQUEST``), connection pools, outlier detection (``consecutiveErrors`` is
deprecated), client TLS, per-port settings, subsets, tunnelling and PROXY protocol.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sailmesh.config.models.base import DurationStr, Model, StrMap
from sailmesh.config.models.networking_common import (
    ConnectionPoolSettings,
    MatchLabelsSelector,
    PortSelector,
)

SimpleLB = Literal[
    "UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"
]


class CookieAttribute(Model):
    """An extra attribute of the generated session cookie."""

    name: str | None = None
    value: str | None = None


class HTTPCookie(Model):
    """Hash on a cookie; Envoy generates it with ``ttl`` when missing."""

    name: str | None = None
    path: str | None = None
    ttl: DurationStr | None = None
    attributes: list[CookieAttribute] = []


class RingHash(Model):
    """Ring hash (``minimumRingSize`` default 1024)."""

    minimum_ring_size: int | None = None


class MagLev(Model):
    """Maglev (``tableSize`` must be prime; default 65537)."""

    table_size: int | None = None


class ConsistentHashLB(Model):
    """Session affinity: exactly one hash key; ``ringHash``/``maglev`` choose the algorithm."""

    http_header_name: str | None = None
    http_cookie: HTTPCookie | None = None
    use_source_ip: bool | None = None
    http_query_parameter_name: str | None = None
    ring_hash: RingHash | None = None
    maglev: MagLev | None = None
    minimum_ring_size: int | None = None


class LocalityDistribute(Model):
    """Traffic from locality ``from`` is split over the ``to`` localities (weights sum to 100)."""

    from_: str | None = Field(default=None, alias="from")
    to: dict[str, int] = {}


class LocalityFailover(Model):
    """Traffic from region ``from`` fails over to region ``to``."""

    from_: str | None = Field(default=None, alias="from")
    to: str | None = None


class LocalityLoadBalancerSetting(Model):
    """Locality-weighted load balancing (``distribute`` and ``failover`` are exclusive)."""

    distribute: list[LocalityDistribute] = []
    failover: list[LocalityFailover] = []
    failover_priority: list[str] = []
    enabled: bool | None = None


class ZoneAwareLbSetting(Model):
    """Zone-aware routing settings."""

    enabled: bool | None = None
    failover: list[LocalityFailover] = []
    failover_priority: list[str] = []
    min_cluster_size: int | None = None


class WarmupConfiguration(Model):
    """Slow start: ramp traffic to new endpoints over ``duration``."""

    duration: DurationStr | None = None
    minimum_percent: float | None = None
    aggression: float | None = None


class LoadBalancerSettings(Model):
    """Load balancing; Istio's default is LEAST_REQUEST."""

    simple: SimpleLB | None = None
    consistent_hash: ConsistentHashLB | None = None
    locality_lb_setting: LocalityLoadBalancerSetting | None = None
    zone_aware_lb_setting: ZoneAwareLbSetting | None = None
    warmup_duration_secs: DurationStr | None = None
    warmup: WarmupConfiguration | None = None


class OutlierDetection(Model):
    """Passive health checking (defaults: 5 consecutive 5xx/gateway errors, 10s, 30s, 10%)."""

    split_external_local_origin_errors: bool | None = None
    consecutive_local_origin_failures: int | None = None
    consecutive_gateway_errors: int | None = None
    consecutive_5xx_errors: int | None = None
    consecutive_errors: int | None = None
    interval: DurationStr | None = None
    base_ejection_time: DurationStr | None = None
    max_ejection_percent: int | None = None
    min_health_percent: int | None = None
    outlier_detection_http_error_codes: list[int] = []


class ClientTLSSettings(Model):
    """TLS to the upstream (``mode`` defaults to DISABLE)."""

    mode: Literal["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"] = "DISABLE"
    client_certificate: str | None = None
    private_key: str | None = None
    ca_certificates: str | None = None
    credential_name: str | None = None
    subject_alt_names: list[str] = []
    sni: str | None = None
    insecure_skip_verify: bool | None = None
    ca_crl: str | None = None


class PortTrafficPolicy(Model):
    """Traffic policy for one port of the destination (overrides the destination-level one)."""

    port: PortSelector | None = None
    load_balancer: LoadBalancerSettings | None = None
    connection_pool: ConnectionPoolSettings | None = None
    outlier_detection: OutlierDetection | None = None
    tls: ClientTLSSettings | None = None


class TunnelSettings(Model):
    """Tunnel TCP over HTTP CONNECT or POST to ``targetHost:targetPort``."""

    protocol: str | None = None
    target_host: str | None = None
    target_port: int | None = None


class ProxyProtocol(Model):
    """Send the PROXY protocol header upstream (``version`` V1 or V2)."""

    version: Literal["V1", "V2"] | None = None


class RetryBudget(Model):
    """Limit concurrent retries to a percentage of active requests."""

    percent: float | None = None
    min_retry_concurrency: int | None = None
    budget_interval: DurationStr | None = None


class TrafficPolicy(Model):
    """Policies for a destination, a subset or (via ``portLevelSettings``) a port."""

    load_balancer: LoadBalancerSettings | None = None
    connection_pool: ConnectionPoolSettings | None = None
    outlier_detection: OutlierDetection | None = None
    tls: ClientTLSSettings | None = None
    port_level_settings: list[PortTrafficPolicy] = []
    tunnel: TunnelSettings | None = None
    proxy_protocol: ProxyProtocol | None = None
    retry_budget: RetryBudget | None = None


class Subset(Model):
    """A named group of endpoints selected by ``labels``, with an optional own policy."""

    name: str | None = None
    labels: StrMap = {}
    traffic_policy: TrafficPolicy | None = None


class DestinationRuleSpec(Model):
    """``spec`` of a DestinationRule."""

    host: str | None = None
    traffic_policy: TrafficPolicy | None = None
    subsets: list[Subset] = []
    export_to: list[str] = []
    workload_selector: MatchLabelsSelector | None = None


__all__ = [
    "ClientTLSSettings",
    "ConsistentHashLB",
    "CookieAttribute",
    "DestinationRuleSpec",
    "HTTPCookie",
    "LoadBalancerSettings",
    "LocalityDistribute",
    "LocalityFailover",
    "LocalityLoadBalancerSetting",
    "MagLev",
    "OutlierDetection",
    "PortTrafficPolicy",
    "ProxyProtocol",
    "RetryBudget",
    "RingHash",
    "SimpleLB",
    "Subset",
    "TrafficPolicy",
    "TunnelSettings",
    "WarmupConfiguration",
    "ZoneAwareLbSetting",
]
