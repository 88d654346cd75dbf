"""DestinationRule validation: host, subsets, traffic policies (load balancing, connection pool,
outlier detection, client TLS, per-port settings, tunnel); connection pools are shared with Sidecar.
"""

from __future__ import annotations

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.destinationrule import (
    ClientTLSSettings,
    ConsistentHashLB,
    DestinationRuleSpec,
    LoadBalancerSettings,
    LocalityLoadBalancerSetting,
    OutlierDetection,
    PortTrafficPolicy,
    TrafficPolicy,
    TunnelSettings,
)
from sailmesh.config.models.networking_common import ConnectionPoolSettings
from sailmesh.config.resource import Resource
from sailmesh.config.validation.common import (
    check_duration,
    check_export_to,
    check_not_given,
    check_percent,
    check_port,
    check_workload_labels,
    fields_given,
    fields_set,
    is_ip,
    wildcard_host_problem,
)
from sailmesh.config.validation.kubernetes.names import DNS1123_LABEL, check_labels

SPEC = "spec"


def validate_destination_rule(resource: Resource, report: Report) -> None:
    spec: DestinationRuleSpec = resource.spec
    host_path = join_path(SPEC, "host")
    if not spec.host:
        report.error(
            host_path,
            "required field is missing: the service host this rule applies "
            "to (e.g. 'reviews' or 'reviews.default.svc.cluster.local')",
        )
    else:
        problem = wildcard_host_problem(spec.host)
        if problem:
            report.error(host_path, problem)
    if spec.workload_selector is not None:
        check_workload_labels(
            report,
            join_path(SPEC, "workloadSelector.matchLabels"),
            spec.workload_selector.match_labels,
            kind="DestinationRule",
        )
    if spec.traffic_policy is not None:
        check_traffic_policy(report, join_path(SPEC, "trafficPolicy"), spec.traffic_policy)
    seen: set[str] = set()
    for i, subset in enumerate(spec.subsets):
        at = join_path(join_path(SPEC, "subsets"), i)
        if not subset.name:
            report.error(join_path(at, "name"), "required field is missing (e.g. 'v1')")
        elif not DNS1123_LABEL.match(subset.name):
            report.error(
                join_path(at, "name"),
                f"invalid subset name {subset.name!r}: must be a "
                "lowercase RFC 1123 label such as 'v1' or 'canary'",
            )
        elif subset.name in seen:
            report.error(
                join_path(at, "name"),
                f"duplicate subset name {subset.name!r}; subset names must be unique",
            )
        seen.add(subset.name or "")
        check_labels(report, join_path(at, "labels"), subset.labels)
        if subset.traffic_policy is not None:
            check_traffic_policy(report, join_path(at, "trafficPolicy"), subset.traffic_policy)
    check_export_to(report, join_path(SPEC, "exportTo"), spec.export_to)


def check_traffic_policy(report: Report, path: str, policy: TrafficPolicy) -> None:
    if policy == TrafficPolicy():
        report.error(
            path,
            "trafficPolicy must set at least one field (loadBalancer, "
            "connectionPool, outlierDetection, tls, portLevelSettings, ...) or be removed",
        )
    _check_port_policy(report, path, policy)
    seen: set[int] = set()
    for i, port_policy in enumerate(policy.port_level_settings):
        at = join_path(join_path(path, "portLevelSettings"), i)
        number = port_policy.port.number if port_policy.port else None
        if number is None:
            report.error(
                join_path(at, "port.number"),
                "required field is missing: the port these settings apply to",
            )
        else:
            check_port(report, join_path(at, "port.number"), number)
            if number in seen:
                report.error(
                    join_path(at, "port.number"),
                    f"duplicate port {number} in portLevelSettings; merge the entries",
                )
            seen.add(number)
        if port_policy == PortTrafficPolicy(port=port_policy.port):
            report.error(
                at,
                "port level settings must set at least one of loadBalancer, "
                "connectionPool, outlierDetection or tls",
            )
        _check_port_policy(report, at, port_policy)
    if policy.tunnel is not None:
        _check_tunnel(report, join_path(path, "tunnel"), policy.tunnel)
    if (budget := policy.retry_budget) is not None:
        check_percent(report, join_path(path, "retryBudget.percent"), budget.percent)
        check_duration(
            report, join_path(path, "retryBudget.budgetInterval"), budget.budget_interval
        )


def _check_port_policy(
    report: Report, path: str, policy: TrafficPolicy | PortTrafficPolicy
) -> None:
    if policy.load_balancer is not None:
        check_load_balancer(report, join_path(path, "loadBalancer"), policy.load_balancer)
    if policy.connection_pool is not None:
        check_connection_pool(report, join_path(path, "connectionPool"), policy.connection_pool)
    if policy.outlier_detection is not None:
        check_outlier_detection(
            report, join_path(path, "outlierDetection"), policy.outlier_detection
        )
    if policy.tls is not None:
        check_client_tls(report, join_path(path, "tls"), policy.tls)


def check_load_balancer(report: Report, path: str, lb: LoadBalancerSettings) -> None:
    if lb.simple is not None and lb.consistent_hash is not None:
        report.error(path, "only one of simple or consistentHash may be set")
    if lb.simple == "LEAST_CONN":
        report.warn(
            join_path(path, "simple"),
            "LEAST_CONN is deprecated; use LEAST_REQUEST (same behaviour)",
        )
    if lb.consistent_hash is not None:
        _check_consistent_hash(report, join_path(path, "consistentHash"), lb.consistent_hash)
    if lb.locality_lb_setting is not None:
        _check_locality(report, join_path(path, "localityLbSetting"), lb.locality_lb_setting)
    check_duration(report, join_path(path, "warmupDurationSecs"), lb.warmup_duration_secs)
    if (warmup := lb.warmup) is not None:
        at = join_path(path, "warmup")
        if warmup.duration is None:
            report.error(join_path(at, "duration"), "required field is missing (e.g. 60s)")
        check_duration(report, join_path(at, "duration"), warmup.duration)
        check_percent(report, join_path(at, "minimumPercent"), warmup.minimum_percent)
        if warmup.aggression is not None and warmup.aggression < 1:
            report.error(
                join_path(at, "aggression"), "aggression must be at least 1 (1 means a linear ramp)"
            )
        if lb.warmup_duration_secs is not None:
            report.error(
                join_path(path, "warmupDurationSecs"),
                "only one of warmup or warmupDurationSecs may be set; keep warmup",
            )
    warming = lb.warmup is not None or lb.warmup_duration_secs is not None
    if warming and lb.simple not in (
        None,
        "UNSPECIFIED",
        "ROUND_ROBIN",
        "LEAST_REQUEST",
        "LEAST_CONN",
    ):
        report.warn(path, f"warmup only works with ROUND_ROBIN or LEAST_REQUEST, not {lb.simple}")


def _check_consistent_hash(report: Report, path: str, ch: ConsistentHashLB) -> None:
    keys = fields_set(
        ("httpHeaderName", ch.http_header_name),
        ("httpCookie", ch.http_cookie),
        ("useSourceIp", ch.use_source_ip),
        ("httpQueryParameterName", ch.http_query_parameter_name),
    )
    if not keys:
        report.error(
            path,
            "consistentHash needs a hash key: one of httpHeaderName, httpCookie, "
            "useSourceIp or httpQueryParameterName",
        )
    elif len(keys) > 1:
        report.error(path, f"only one hash key may be set (got {', '.join(keys)})")
    if ch.http_cookie is not None:
        if not ch.http_cookie.name:
            report.error(
                join_path(path, "httpCookie.name"), "required field is missing (the cookie name)"
            )
        check_duration(
            report, join_path(path, "httpCookie.ttl"), ch.http_cookie.ttl, allow_zero=True
        )
    if ch.ring_hash is not None and ch.maglev is not None:
        report.error(path, "only one of ringHash or maglev may be set")
    if ch.minimum_ring_size is not None:
        report.warn(
            join_path(path, "minimumRingSize"),
            "minimumRingSize is deprecated; use "
            f"ringHash: {{minimumRingSize: {ch.minimum_ring_size}}}",
        )
        if ch.maglev is not None:
            report.error(
                join_path(path, "minimumRingSize"),
                "minimumRingSize applies to ring hash and cannot be combined with maglev",
            )
    if ch.maglev is not None and ch.maglev.table_size is not None:
        size = ch.maglev.table_size
        if size < 2 or any(size % d == 0 for d in range(2, int(size**0.5) + 1)):
            report.error(
                join_path(path, "maglev.tableSize"),
                f"tableSize {size} must be a prime number (e.g. 65537)",
            )


def _check_locality(report: Report, path: str, loc: LocalityLoadBalancerSetting) -> None:
    if loc.distribute and loc.failover:
        report.error(path, "distribute and failover cannot both be set")
    for i, dist in enumerate(loc.distribute):
        at = join_path(join_path(path, "distribute"), i)
        if not dist.from_:
            report.error(
                join_path(at, "from"),
                "required field is missing (a locality such as 'us-west/zone1/*')",
            )
        if sum(dist.to.values()) != 100:
            report.error(
                join_path(at, "to"),
                f"locality weights must add up to 100 (they add up to {sum(dist.to.values())})",
            )
    for i, fo in enumerate(loc.failover):
        at = join_path(join_path(path, "failover"), i)
        if not fo.from_ or not fo.to:
            report.error(at, "failover needs both from and to (region names)")
        elif fo.from_ == fo.to:
            report.error(at, "failover from and to must be different regions")
        elif "/" in fo.from_ or "/" in fo.to:
            report.error(at, "failover supports regions only (no '/zone' part)")


def check_connection_pool(report: Report, path: str, pool: ConnectionPoolSettings) -> None:
    if pool.tcp is None and pool.http is None:
        report.error(path, "connectionPool must set tcp and/or http settings, or be removed")
    if (tcp := pool.tcp) is not None:
        at = join_path(path, "tcp")
        _non_negative(report, join_path(at, "maxConnections"), tcp.max_connections)
        check_duration(report, join_path(at, "connectTimeout"), tcp.connect_timeout)
        check_duration(report, join_path(at, "maxConnectionDuration"), tcp.max_connection_duration)
        check_duration(report, join_path(at, "idleTimeout"), tcp.idle_timeout, allow_zero=True)
        if (ka := tcp.tcp_keepalive) is not None:
            check_duration(report, join_path(at, "tcpKeepalive.time"), ka.time)
            check_duration(report, join_path(at, "tcpKeepalive.interval"), ka.interval)
            _non_negative(report, join_path(at, "tcpKeepalive.probes"), ka.probes)
    if (http := pool.http) is not None:
        at = join_path(path, "http")
        for field, value in (
            ("http1MaxPendingRequests", http.http1_max_pending_requests),
            ("http2MaxRequests", http.http2_max_requests),
            ("maxRequestsPerConnection", http.max_requests_per_connection),
            ("maxRetries", http.max_retries),
            ("maxConcurrentStreams", http.max_concurrent_streams),
        ):
            _non_negative(report, join_path(at, field), value)
        check_duration(report, join_path(at, "idleTimeout"), http.idle_timeout, allow_zero=True)
        if (ka2 := http.http2_keep_alive) is not None:
            check_duration(report, join_path(at, "http2KeepAlive.interval"), ka2.interval)
            check_duration(report, join_path(at, "http2KeepAlive.timeout"), ka2.timeout)


def _non_negative(report: Report, path: str, value: int | None) -> None:
    if value is not None and value < 0:
        report.error(path, f"{value} must not be negative")


def check_outlier_detection(report: Report, path: str, od: OutlierDetection) -> None:
    if od.consecutive_errors is not None:
        report.warn(
            join_path(path, "consecutiveErrors"),
            "consecutiveErrors is deprecated; use "
            "consecutive5xxErrors (or consecutiveGatewayErrors for 502/503/504 only)",
        )
    for field, value in (
        ("consecutiveErrors", od.consecutive_errors),
        ("consecutiveGatewayErrors", od.consecutive_gateway_errors),
        ("consecutive5xxErrors", od.consecutive_5xx_errors),
        ("consecutiveLocalOriginFailures", od.consecutive_local_origin_failures),
    ):
        _non_negative(report, join_path(path, field), value)
    check_duration(report, join_path(path, "interval"), od.interval)
    check_duration(report, join_path(path, "baseEjectionTime"), od.base_ejection_time)
    for field, pct in (
        ("maxEjectionPercent", od.max_ejection_percent),
        ("minHealthPercent", od.min_health_percent),
    ):
        if pct is not None and not 0 <= pct <= 100:
            report.error(join_path(path, field), f"{field} {pct} must be in the range 0..100")
    if (
        od.consecutive_local_origin_failures is not None
        and not od.split_external_local_origin_errors
    ):
        report.warn(
            join_path(path, "consecutiveLocalOriginFailures"),
            "has no effect unless splitExternalLocalOriginErrors is true",
        )
    for i, code in enumerate(od.outlier_detection_http_error_codes):
        if not 100 <= code <= 599:
            report.error(
                join_path(join_path(path, "outlierDetectionHttpErrorCodes"), i),
                f"HTTP status {code} must be in the range 100..599",
            )


def check_client_tls(report: Report, path: str, tls: ClientTLSSettings) -> None:
    certificates = (
        ("clientCertificate", tls.client_certificate),
        ("privateKey", tls.private_key),
        ("caCertificates", tls.ca_certificates),
        ("credentialName", tls.credential_name),
    )
    if tls.mode == "ISTIO_MUTUAL":
        check_not_given(
            report,
            path,
            certificates,
            "set with mode ISTIO_MUTUAL (Istio provides the certificates); "
            "remove it or use mode MUTUAL",
        )
    elif tls.mode == "MUTUAL" and not tls.credential_name:
        if not tls.client_certificate:
            report.error(
                join_path(path, "clientCertificate"),
                "mode MUTUAL needs clientCertificate and privateKey (or credentialName)",
            )
        if not tls.private_key:
            report.error(
                join_path(path, "privateKey"),
                "mode MUTUAL needs clientCertificate and privateKey (or credentialName)",
            )
    elif tls.mode == "DISABLE":
        given = fields_given(*certificates)
        if given:
            report.warn(
                join_path(path, "mode"),
                f"TLS mode is DISABLE, so {', '.join(given)} is ignored; set mode SIMPLE or MUTUAL",
            )
    if tls.insecure_skip_verify and (tls.ca_certificates or tls.subject_alt_names):
        report.warn(
            join_path(path, "insecureSkipVerify"),
            "insecureSkipVerify turns off "
            "verification, so caCertificates/subjectAltNames are ignored",
        )


def _check_tunnel(report: Report, path: str, tunnel: TunnelSettings) -> None:
    if tunnel.protocol is not None and tunnel.protocol not in ("CONNECT", "POST"):
        report.error(
            join_path(path, "protocol"),
            f"tunnel protocol {tunnel.protocol!r} must be CONNECT or POST",
        )
    if not tunnel.target_host:
        report.error(
            join_path(path, "targetHost"), "required field is missing (an IP or host name)"
        )
    elif not is_ip(tunnel.target_host) and wildcard_host_problem(tunnel.target_host):
        report.error(
            join_path(path, "targetHost"),
            f"invalid targetHost {tunnel.target_host!r}: use an IP address or a DNS name",
        )
    check_port(report, join_path(path, "targetPort"), tunnel.target_port, required=True)


__all__ = [
    "check_client_tls",
    "check_connection_pool",
    "check_load_balancer",
    "check_outlier_detection",
    "check_traffic_policy",
    "validate_destination_rule",
]
