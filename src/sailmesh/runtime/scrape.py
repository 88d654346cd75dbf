"""Metrics inside a pod: its Envoy's stats and its app's own metrics, and what Prometheus
should scrape.

In: running pods (their namespace file, admin port, plan annotations, port map). Out: the
text of Envoy's ``/stats/prometheus`` (through its admin API on 127.0.0.1 inside the pod), the
app's metrics when the pod template says so with Istio's (and Prometheus') annotations
``prometheus.io/scrape: "true"``, ``prometheus.io/port`` (default: the first container port)
and ``prometheus.io/path`` (default ``/metrics``), and :class:`ScrapeTarget` values: each
pod's merged-metrics port (a pod with a proxy) or its app's port (a pod without one).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sailmesh.runtime.local import RunningPod
from sailmesh.runtime.proxy import admin_request
from sailmesh.runtime.workloads import PodPlan

SCRAPE_ANNOTATION = "prometheus.io/scrape"
PORT_ANNOTATION = "prometheus.io/port"
PATH_ANNOTATION = "prometheus.io/path"
MERGED_METRICS_PORT = 15020
MERGED_METRICS_PATH = "/stats/prometheus"
TIMEOUT = 3.0
#: The Envoy stats of the merged view: Istio's default inclusion list (its bootstrap's
#: ``stats_matcher``: the server, cluster and listener managers, the xDS cluster, RBAC
#: decisions) plus the raw series of Istio's standard metrics. Port 15090 has them all.
MERGED_ENVOY_STATS = (
    r"^(sailmesh\.|server\.|cluster_manager\.|listener_manager\.|cluster\.xds-grpc\.)"
    r"|rbac\.(allowed|denied)$|\.shadow_(allowed|denied)$"
)


@dataclass(frozen=True)
class AppScrape:
    port: int
    path: str


def app_scrape(plan: PodPlan) -> AppScrape | None:
    """Where the pod's app serves its metrics, when its annotations ask for a scrape."""
    annotations = dict(plan.annotations)
    if annotations.get(SCRAPE_ANNOTATION, "").lower() != "true":
        return None
    ports = [p for c in plan.containers for _, p in c.ports]
    try:
        port = int(annotations.get(PORT_ANNOTATION) or (ports[0] if ports else 0))
    except ValueError:
        return None
    if not 0 < port < 65536:
        return None
    return AppScrape(port, annotations.get(PATH_ANNOTATION) or "/metrics")


def envoy_stats(pod: RunningPod) -> str | None:
    """The stats of the pod's Envoy that the merged view shows (:data:`MERGED_ENVOY_STATS`,
    those written since it started); None without a proxy or when it does not answer."""
    if not pod.plan.inject:
        return None
    path = f"/stats/prometheus?usedonly&filter={quote(MERGED_ENVOY_STATS, safe='')}"
    return _get(pod, pod.admin_port, path)


def app_metrics(pod: RunningPod) -> str | None:
    """The app's own metrics (see :func:`app_scrape`); None when there are none to read."""
    scrape = app_scrape(pod.plan)
    if scrape is None:
        return None
    return _get(pod, pod.ports.port_map.get(scrape.port, scrape.port), scrape.path)


def _get(pod: RunningPod, port: int, path: str) -> str | None:
    try:
        status, body = admin_request(pod.netns_file, path, port, timeout=TIMEOUT)
    except OSError:
        return None
    return body if status == 200 else None


@dataclass(frozen=True)
class ScrapeTarget:
    """One address Prometheus scrapes, with the labels Istio's scrape jobs give it."""

    address: str
    path: str
    labels: tuple[tuple[str, str], ...]


def scrape_target(pod: RunningPod) -> ScrapeTarget | None:
    """The pod's merged-metrics port when it has a proxy, else its app's metrics port when
    annotated; None in explicit mode (pods share the host: no per-pod address)."""
    if pod.netns_file is None:
        return None
    labels = [("namespace", pod.plan.namespace), ("pod", pod.plan.name)]
    labels += [(k, v) for k, v in pod.plan.labels if k in ("app", "version")]
    if pod.plan.inject:
        target = f"{pod.ip}:{MERGED_METRICS_PORT}"
        return ScrapeTarget(target, MERGED_METRICS_PATH, tuple(labels))
    scrape = app_scrape(pod.plan)
    if scrape is None:
        return None
    return ScrapeTarget(f"{pod.ip}:{scrape.port}", scrape.path, tuple(labels))
