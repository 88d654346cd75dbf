"""Grafana dashboards over Istio's metric names (mesh, service, workload, control plane).

In: nothing; out: dashboard documents (Grafana's JSON model: panels with PromQL targets,
template variables over the Prometheus data source) shaped like Istio's own dashboards, so the
queries people know work against sailmesh's Prometheus. The shipped files
(``sailmesh/telemetry/grafana/*.json``, importable into any Grafana) are written from
:data:`DASHBOARDS` and checked against them by the tests, which also run every expression
against a real Prometheus scraping a real mesh. Series that can legitimately be absent (5xx
responses, mutual TLS traffic, rejected configs) end in ``or on() vector(0)``, as in Istio's.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from sailmesh.telemetry.grafana_model import Dashboard, Panel, Variable

ZERO = " or on() vector(0)"


def _http_side(reporter: str, selector: str) -> tuple[Panel, ...]:
    base = f'reporter="{reporter}",{selector}'
    side = "Client" if reporter == "source" else "Server"
    return (
        Panel(
            f"{side} request volume",
            (("ops", f"round(sum(irate(istio_requests_total{{{base}}}[1m])), 0.001)"),),
            "reqps",
        ),
        Panel(
            f"{side} success rate (non-5xx responses)",
            (
                (
                    "success",
                    f'sum(irate(istio_requests_total{{{base},response_code!~"5.*"}}[1m]))'
                    f" / sum(irate(istio_requests_total{{{base}}}[1m]))",
                ),
            ),
            "percentunit",
        ),
        Panel(
            f"{side} request duration",
            tuple(
                (
                    f"P{q}",
                    f"histogram_quantile(0.{q}, sum(irate("
                    f"istio_request_duration_milliseconds_bucket{{{base}}}[1m])) by (le))",
                )
                for q in ("50", "90", "99")
            ),
            "ms",
        ),
        Panel(
            f"{side} request size (P90)",
            (
                (
                    "P90",
                    "histogram_quantile(0.90, sum(irate("
                    f"istio_request_bytes_bucket{{{base}}}[1m])) by (le))",
                ),
            ),
            "decbytes",
        ),
        Panel(
            f"{side} response size (P90)",
            (
                (
                    "P90",
                    "histogram_quantile(0.90, sum(irate("
                    f"istio_response_bytes_bucket{{{base}}}[1m])) by (le))",
                ),
            ),
            "decbytes",
        ),
    )


def _by_peer(reporter: str, selector: str, peer: str) -> Panel:
    base = f'reporter="{reporter}",{selector}'
    return Panel(
        f"Requests by {peer.replace('_', ' ')} and response code",
        (
            (
                f"{{{{ {peer} }}}}.{{{{ {peer}_namespace }}}} : {{{{ response_code }}}} (mTLS)",
                f'round(sum(irate(istio_requests_total{{{base},connection_security_policy="mutual_tls"}}'
                f"[5m])) by ({peer}, {peer}_namespace, response_code), 0.001){ZERO}",
            ),
            (
                f"{{{{ {peer} }}}}.{{{{ {peer}_namespace }}}} : {{{{ response_code }}}}",
                f'round(sum(irate(istio_requests_total{{{base},connection_security_policy!="mutual_tls"}}'
                f"[5m])) by ({peer}, {peer}_namespace, response_code), 0.001)",
            ),
        ),
        "reqps",
    )


MESH = Dashboard(
    "sailmesh-istio-mesh",
    "Istio Mesh Dashboard",
    (
        Panel(
            "Global request volume",
            (("ops", 'round(sum(irate(istio_requests_total{reporter="source"}[1m])), 0.001)'),),
            "reqps",
            "stat",
        ),
        Panel(
            "Global success rate (non-5xx responses)",
            (
                (
                    "success",
                    'sum(rate(istio_requests_total{reporter="source",response_code!~"5.*"}[1m]))'
                    ' / sum(rate(istio_requests_total{reporter="source"}[1m]))',
                ),
            ),
            "percentunit",
            "stat",
        ),
        Panel(
            "4xx",
            (
                (
                    "4xx",
                    f'sum(irate(istio_requests_total{{reporter="source",response_code=~"4.*"}}[1m])){ZERO}',
                ),
            ),
            "reqps",
            "stat",
        ),
        Panel(
            "5xx",
            (
                (
                    "5xx",
                    f'sum(irate(istio_requests_total{{reporter="source",response_code=~"5.*"}}[1m])){ZERO}',
                ),
            ),
            "reqps",
            "stat",
        ),
        Panel(
            "HTTP/gRPC workloads",
            (
                (
                    "{{ destination_workload }}.{{ destination_workload_namespace }}",
                    'sum(rate(istio_requests_total{reporter="source"}[1m])) by '
                    "(destination_workload, destination_workload_namespace, destination_service)",
                ),
                (
                    "P50 {{ destination_workload }}",
                    "histogram_quantile(0.50, sum(rate(istio_request_duration_milliseconds_bucket"
                    '{reporter="source"}[1m])) by (le, destination_workload, destination_workload_namespace))',
                ),
            ),
            "reqps",
            "table",
        ),
        Panel(
            "TCP workloads",
            (
                (
                    "{{ destination_workload }}.{{ destination_workload_namespace }} sent",
                    'sum(rate(istio_tcp_sent_bytes_total{reporter="source"}[1m])) by '
                    "(destination_workload, destination_workload_namespace, destination_service)",
                ),
                (
                    "{{ destination_workload }}.{{ destination_workload_namespace }} received",
                    'sum(rate(istio_tcp_received_bytes_total{reporter="source"}[1m])) by '
                    "(destination_workload, destination_workload_namespace, destination_service)",
                ),
            ),
            "Bps",
            "table",
        ),
    ),
)

_SERVICE = 'destination_service=~"$service"'
SERVICE = Dashboard(
    "sailmesh-istio-service",
    "Istio Service Dashboard",
    (
        *_http_side("source", _SERVICE),
        *_http_side("destination", _SERVICE),
        _by_peer(
            "destination",
            f'{_SERVICE},source_workload=~"$srcwl",source_workload_namespace=~"$srcns"',
            "source_workload",
        ),
        Panel(
            "TCP bytes received from clients",
            (
                (
                    "{{ source_workload }}.{{ source_workload_namespace }}",
                    f'sum(irate(istio_tcp_received_bytes_total{{reporter="destination",{_SERVICE}}}[1m]))'
                    f" by (source_workload, source_workload_namespace){ZERO}",
                ),
            ),
            "Bps",
        ),
    ),
    (
        Variable("service", "Service", "label_values(istio_requests_total, destination_service)"),
        Variable(
            "srcns",
            "Client workload namespace",
            "label_values(istio_requests_total, source_workload_namespace)",
        ),
        Variable("srcwl", "Client workload", "label_values(istio_requests_total, source_workload)"),
    ),
)

_WORKLOAD = 'destination_workload_namespace=~"$namespace",destination_workload=~"$workload"'
_OUTBOUND = 'source_workload_namespace=~"$namespace",source_workload=~"$workload"'
WORKLOAD = Dashboard(
    "sailmesh-istio-workload",
    "Istio Workload Dashboard",
    (
        *_http_side("destination", _WORKLOAD),
        _by_peer("destination", _WORKLOAD, "source_workload"),
        Panel(
            "Outgoing requests by destination service",
            (
                (
                    "{{ destination_service }} : {{ response_code }}",
                    f'round(sum(irate(istio_requests_total{{reporter="source",{_OUTBOUND}}}[5m]))'
                    " by (destination_service, response_code), 0.001)",
                ),
            ),
            "reqps",
        ),
        Panel(
            "Outgoing request duration by destination service",
            (
                (
                    "{{ destination_service }} P99",
                    "histogram_quantile(0.99, sum(irate(istio_request_duration_milliseconds_bucket"
                    f'{{reporter="source",{_OUTBOUND}}}[1m])) by (le, destination_service))',
                ),
            ),
            "ms",
        ),
        Panel(
            "TCP connections opened",
            (
                (
                    "{{ destination_service }}",
                    f'sum(irate(istio_tcp_connections_opened_total{{reporter="source",{_OUTBOUND}}}[1m]))'
                    f" by (destination_service){ZERO}",
                ),
            ),
            "cps",
        ),
    ),
    (
        Variable(
            "namespace",
            "Namespace",
            "label_values(istio_requests_total, destination_workload_namespace)",
        ),
        Variable(
            "workload",
            "Workload",
            'label_values(istio_requests_total{destination_workload_namespace=~"$namespace"}, destination_workload)',
        ),
    ),
)

CONTROL_PLANE = Dashboard(
    "sailmesh-istio-control-plane",
    "Istio Control Plane Dashboard",
    (
        Panel(
            "Connected proxies (xDS streams)",
            (("streams", 'sum(pilot_xds{app="istiod"})'),),
            "short",
            "stat",
        ),
        Panel(
            "xDS pushes",
            tuple(
                (kind, f'sum(irate(pilot_xds_pushes{{type="{kind}"}}[1m])){ZERO}')
                for kind in ("cds", "eds", "lds", "rds")
            ),
            "ops",
        ),
        Panel(
            "Proxy convergence time",
            tuple(
                (
                    f"P{q}",
                    f"histogram_quantile(0.{q}, sum(rate(pilot_proxy_convergence_time_bucket[1m])) by (le))",
                )
                for q in ("50", "99")
            ),
            "s",
        ),
        Panel(
            "xDS push time (send to ACK), P90",
            (
                (
                    "{{ type }}",
                    "histogram_quantile(0.9, sum(rate(pilot_xds_push_time_bucket[5m])) by (le, type))",
                ),
            ),
            "s",
        ),
        Panel(
            "Rejected configuration (NACKs)",
            (("{{ type }}", f"sum(pilot_total_xds_rejects) by (type){ZERO}"),),
            "short",
        ),
        Panel(
            "Push send errors",
            (("{{ type }}", f'sum(pilot_xds_pushes{{type=~".+_senderr"}}) by (type){ZERO}'),),
            "short",
        ),
        Panel(
            "Config events",
            (
                (
                    "{{ type }} {{ event }}",
                    f"sum(increase(pilot_k8s_cfg_events[5m])) by (type, event){ZERO}",
                ),
            ),
            "short",
        ),
        Panel(
            "Services and VirtualServices",
            (("services", "sum(pilot_services)"), ("virtual services", "sum(pilot_virt_services)")),
            "short",
        ),
        Panel(
            "Proxies: active clusters",
            (("{{ pod }}", "sum(envoy_cluster_manager_active_clusters) by (pod)"),),
            "short",
        ),
    ),
)

#: The shipped dashboards, by file name.
DASHBOARDS: dict[str, Dashboard] = {
    "istio-mesh-dashboard.json": MESH,
    "istio-service-dashboard.json": SERVICE,
    "istio-workload-dashboard.json": WORKLOAD,
    "istio-control-plane-dashboard.json": CONTROL_PLANE,
}


def render(dashboard: Dashboard) -> str:
    return json.dumps(dashboard.to_json(), indent=2) + "\n"


def shipped(name: str) -> dict[str, Any]:
    """A shipped dashboard file, parsed."""
    text = resources.files("sailmesh.telemetry").joinpath("grafana", name).read_text()
    found: dict[str, Any] = json.loads(text)
    return found


def expressions(document: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard document (panel targets)."""
    return [t["expr"] for p in document["panels"] for t in p.get("targets", [])]
