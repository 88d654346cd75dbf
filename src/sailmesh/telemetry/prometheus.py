"""The Prometheus add-on's configuration and the mesh's alerting rules (pure).

In: where the control plane's monitoring port is (seen from the pod network), the scrape
interval and Prometheus' own address. Out: ``prometheus.yml`` and ``rules.yml`` as text,
shaped like Istio's add-on: job ``kubernetes-pods`` scrapes every pod's merged metrics (15020)
found by HTTP service discovery from the control plane, with ``namespace``/``pod``/``app``
labels; job ``istiod`` scrapes the control plane (labelled ``app="istiod"``, as Istio's
dashboards expect); job ``prometheus`` scrapes Prometheus itself. :data:`ALERTS` are the
shipped alerting rules (5xx rate per service, p99 latency, NACKed configuration, push send
errors, certificates about to expire).
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

PROMETHEUS_PORT = 9090
RULES_FILE = "rules.yml"
CONFIG_FILE = "prometheus.yml"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    summary: str
    severity: str = "warning"
    for_: str = "1m"


#: The mesh's alerting rules.
ALERTS: tuple[Alert, ...] = (
    Alert(
        "IstioHigh5xxRate",
        'sum by (destination_service) (rate(istio_requests_total{reporter="destination",'
        ' response_code=~"5.."}[1m]))'
        ' / sum by (destination_service) (rate(istio_requests_total{reporter="destination"}[1m]))'
        " > 0.05",
        "More than 5% of the requests to {{ $labels.destination_service }} fail with 5xx.",
        "critical",
    ),
    Alert(
        "IstioHighP99Latency",
        "histogram_quantile(0.99, sum by (destination_service, le) (rate("
        'istio_request_duration_milliseconds_bucket{reporter="destination"}[1m]))) > 1000',
        "The p99 latency of {{ $labels.destination_service }} is over 1 s.",
    ),
    Alert(
        "IstioConfigRejected",
        "sum by (type) (increase(pilot_total_xds_rejects[5m])) > 0",
        "Proxies rejected {{ $labels.type }} configuration (see sailctl proxy-status).",
        "critical",
        "0m",
    ),
    Alert(
        "IstioPushErrors",
        'sum by (type) (increase(pilot_xds_pushes{type=~".+_senderr"}[5m])) > 0',
        "The control plane failed to send {{ $labels.type }} configuration.",
        "warning",
        "0m",
    ),
    Alert(
        "IstioCertificateExpiring",
        "min by (namespace, pod) (envoy_server_days_until_first_cert_expiring) < 7",
        "A certificate of {{ $labels.namespace }}/{{ $labels.pod }} expires within a week.",
        "warning",
        "5m",
    ),
)


def rules_yaml(alerts: tuple[Alert, ...] = ALERTS) -> str:
    rules = [
        {
            "alert": a.name,
            "expr": a.expr,
            "for": a.for_,
            "labels": {"severity": a.severity},
            "annotations": {"summary": a.summary},
        }
        for a in alerts
    ]
    return yaml.safe_dump({"groups": [{"name": "sailmesh", "rules": rules}]}, sort_keys=False)


def config_yaml(
    monitoring: str,
    targets_path: str,
    metrics_path: str,
    scrape_interval: str = "5s",
    listen: str = f"127.0.0.1:{PROMETHEUS_PORT}",
) -> str:
    """``prometheus.yml``: ``monitoring`` is the control plane's ``host:port`` as Prometheus
    sees it; ``targets_path`` its service-discovery path, ``metrics_path`` its metrics."""
    config = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [RULES_FILE],
        "scrape_configs": [
            {"job_name": "prometheus", "static_configs": [{"targets": [listen]}]},
            {
                "job_name": "istiod",
                "metrics_path": metrics_path,
                "static_configs": [
                    {
                        "targets": [monitoring],
                        "labels": {"app": "istiod", "namespace": "istio-system"},
                    }
                ],
            },
            {
                "job_name": "kubernetes-pods",
                "http_sd_configs": [
                    {"url": f"http://{monitoring}{targets_path}", "refresh_interval": "5s"}
                ],
            },
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)
