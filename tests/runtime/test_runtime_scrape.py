"""What Prometheus scrapes in a pod: Istio's annotations for an app's own metrics, the
merged-metrics port of pods with a proxy, the bootstrap's workload name."""

from __future__ import annotations

from pathlib import Path

from runtime_plans import deployment, namespace, plan

from sailmesh.runtime.proxy import bootstrap_request
from sailmesh.runtime.scrape import AppScrape, app_scrape

ANNOTATED = 'prometheus.io/scrape: "true", prometheus.io/port: "8000", prometheus.io/path: /stats'


def test_prometheus_annotations_say_where_the_app_s_metrics_are() -> None:
    assert app_scrape(plan(deployment("shop", annotations=ANNOTATED))) == AppScrape(8000, "/stats")
    defaults = plan(deployment("shop", annotations='prometheus.io/scrape: "true"'))
    assert app_scrape(defaults) == AppScrape(9080, "/metrics")  # the first container port
    assert app_scrape(plan(deployment("shop"))) is None
    off = plan(deployment("shop", annotations='prometheus.io/scrape: "false"'))
    assert app_scrape(off) is None
    bad = plan(
        deployment("shop", annotations='prometheus.io/scrape: "true", prometheus.io/port: x')
    )
    assert app_scrape(bad) is None


def test_the_bootstrap_names_the_owning_workload_and_the_agent_socket() -> None:
    pod = plan(namespace("default"), deployment("reviews-v1"))
    request = bootstrap_request(
        pod, "10.244.0.5", Path("/run/xds.sock"), agent_socket=Path("/run/agent.sock")
    )
    assert request.workload_name == "reviews-v1" and pod.name.startswith("reviews-v1-")
    assert request.agent_socket == Path("/run/agent.sock")
