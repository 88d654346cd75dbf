"""The metrics ports of a proxy's bootstrap (Istio's 15090 and 15020) and its stats settings.

- ``0.0.0.0:15090`` ``/stats/prometheus``: Envoy's own stats, routed to its admin API through
  the static ``prometheus_stats`` cluster (as Istio's bootstrap does);
- ``0.0.0.0:15020`` ``/stats/prometheus``: the merged view (Envoy's stats, Istio's standard
  metrics of this proxy, the app's own metrics) served by the control plane: routed over a
  Unix socket (static cluster ``sailmesh-agent``) with the header :data:`PROXY_HEADER` set to
  the proxy's node id. In Istio the pod's pilot-agent serves 15020; here the control plane
  plays that role for every pod, so the pod needs no process of its own, and the Envoy that
  already listens in the pod is the one reachable port. The header is always overwritten:
  a client of 15020 cannot ask for another proxy's metrics. Who can reach the socket itself:
  root and the proxies' group (the runtime makes it ``root:1337`` mode ``0660``), not apps.
- ``stats_config.histogram_bucket_settings`` pin Istio's buckets for the standard metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sailmesh.telemetry import raw
from sailmesh.telemetry.standard import BUCKETS

PROMETHEUS_PORT = 15090
MERGED_METRICS_PORT = 15020
STATS_PATH = "/stats/prometheus"
PROMETHEUS_STATS_CLUSTER = "prometheus_stats"
AGENT_CLUSTER = "sailmesh-agent"
#: The header naming the proxy whose merged metrics the control plane is asked for.
PROXY_HEADER = "x-sailmesh-proxy"
_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"


@dataclass(frozen=True)
class MetricsPorts:
    """Where the metrics listeners bind (None: that listener is left out) and the control
    plane's socket behind 15020."""

    agent_socket: str | None
    prometheus_port: int | None = PROMETHEUS_PORT
    merged_port: int | None = MERGED_METRICS_PORT
    address: str = "0.0.0.0"


def _listener(
    name: str, address: str, port: int, cluster: str, headers: dict[str, str]
) -> dict[str, Any]:
    route: dict[str, Any] = {"match": {"prefix": STATS_PATH}, "route": {"cluster": cluster}}
    vhost: dict[str, Any] = {"name": "backend", "domains": ["*"], "routes": [route]}
    if headers:
        vhost["request_headers_to_add"] = [
            {"header": {"key": k, "value": v}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
            for k, v in headers.items()
        ]
    hcm = {
        "@type": _HCM,
        "stat_prefix": name,
        "route_config": {"name": name, "virtual_hosts": [vhost]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER}}],
    }
    return {
        "name": name,
        "address": {"socket_address": {"address": address, "port_value": port}},
        "filter_chains": [
            {
                "filters": [
                    {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
                ]
            }
        ],
    }


def _cluster(name: str, address: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": address}}]}],
        },
    }


def metrics_resources(
    ports: MetricsPorts, node_id: str, admin_host: str, admin_port: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(static listeners, static clusters) of the metrics ports."""
    listeners: list[dict[str, Any]] = []
    clusters: list[dict[str, Any]] = []
    if ports.prometheus_port is not None:
        admin = {"socket_address": {"address": admin_host, "port_value": admin_port}}
        clusters.append(_cluster(PROMETHEUS_STATS_CLUSTER, admin))
        listeners.append(
            _listener("prometheus_stats", ports.address, ports.prometheus_port,
                      PROMETHEUS_STATS_CLUSTER, {})
        )  # fmt: skip
    if ports.merged_port is not None and ports.agent_socket is not None:
        clusters.append(_cluster(AGENT_CLUSTER, {"pipe": {"path": ports.agent_socket}}))
        listeners.append(
            _listener("merged_stats", ports.address, ports.merged_port, AGENT_CLUSTER,
                      {PROXY_HEADER: node_id})
        )  # fmt: skip
    return listeners, clusters


def histogram_buckets() -> list[dict[str, Any]]:
    """``stats_config.histogram_bucket_settings``: Istio's buckets for the raw standard
    metrics (Envoy's defaults today; pinned so that they stay Istio's)."""
    return [
        {"match": {"prefix": raw.STAT_PREFIX + "."}, "buckets": list(BUCKETS)},
    ]
