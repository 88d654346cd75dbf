"""The control plane's metrics: istiod's names and types, fed by ADS events, pushes and config
changes; and the peers and merged view the telemetry endpoint serves."""

from __future__ import annotations

import asyncio

from push_mesh import MESH, connected_control_plane, node, push_after

from sailmesh.app.backend import MeshApi
from sailmesh.controlplane.metrics import ControlPlaneMetrics
from sailmesh.controlplane.telemetry import TelemetryView
from sailmesh.registry.model import Workload, frozen_map
from sailmesh.telemetry.exposition import parse
from sailmesh.telemetry.peers import Peer
from sailmesh.typeurls import CLUSTER, LISTENER


def families(
    metrics: ControlPlaneMetrics,
) -> dict[str, tuple[str, dict[tuple[tuple[str, str], ...], float]]]:
    return {
        f.name: (f.type, {(s.name, *sorted(s.labels)): s.value for s in f.samples})  # type: ignore[misc]
        for f in parse(metrics.text().decode())
    }


def test_istiod_names_without_prometheus_client_suffixes() -> None:
    metrics = ControlPlaneMetrics()
    metrics.sent(LISTENER)
    metrics.sent(LISTENER)
    metrics.acked(LISTENER, 0.02)
    metrics.nacked(CLUSTER)
    metrics.send_failed(CLUSTER)
    metrics.pushed(["config", "registry"], 0.3)
    metrics.watch(lambda: 4, lambda: 3, lambda: 2)
    found = families(metrics)
    text = metrics.text().decode()
    assert "_total" not in text.replace("pilot_total_xds_rejects", "") and "_created" not in text
    assert found["pilot_xds"][0] == "gauge" and found["pilot_xds"][1][("pilot_xds",)] == 4
    pushes = found["pilot_xds_pushes"][1]
    assert pushes[("pilot_xds_pushes", ("type", "lds"))] == 2
    assert pushes[("pilot_xds_pushes", ("type", "cds_senderr"))] == 1
    assert found["pilot_total_xds_rejects"][1][("pilot_total_xds_rejects", ("type", "cds"))] == 1
    assert found["pilot_xds_push_time"][0] == "histogram"
    assert found["pilot_proxy_convergence_time"][1][("pilot_proxy_convergence_time_count",)] == 1
    triggers = found["pilot_push_triggers"][1]
    assert triggers[("pilot_push_triggers", ("type", "registry"))] == 1
    assert (
        found["pilot_services"][1][("pilot_services",)],
        found["pilot_virt_services"][1][("pilot_virt_services",)],
    ) == (3, 2)


def test_a_running_control_plane_counts_what_it_does() -> None:
    async def scenario() -> None:
        async with connected_control_plane([node("reviews", 1)]) as cp:
            pushes = cp.pushes
            MeshApi(cp).apply_yaml(MESH.replace("9080", "9081", 1), "mesh.yaml", "default")
            await push_after(cp, pushes)
            found = families(cp.metrics)
            events = found["pilot_k8s_cfg_events"][1]
            assert events[("pilot_k8s_cfg_events", ("event", "update"), ("type", "Service"))] == 1
            assert (
                found["pilot_proxy_convergence_time"][1][("pilot_proxy_convergence_time_count",)]
                >= 1
            )
            assert found["pilot_push_triggers"][1][("pilot_push_triggers", ("type", "config"))] >= 1

    asyncio.run(scenario())


def test_the_telemetry_view_names_proxies_pods_and_registry_workloads() -> None:
    async def scenario() -> None:
        reviews = node("reviews", 1)
        reviews.metadata.update({"WORKLOAD_NAME": "reviews-v1"})
        async with connected_control_plane([reviews]) as cp:
            cp.registry.set_workload(
                Workload("vm-1", "default", "10.9.0.1", labels=frozen_map({"app": "legacy"}))
            )
            runtime = [("10.250.0.7", Peer("ratings-v1", "default", {"app": "ratings"}))]
            view = TelemetryView(cp, extra_peers=lambda: runtime)
            directory = view.directory()
            assert directory.peer("10.250.0.1") == Peer(
                "reviews-v1", "default", {"app": "reviews"}, "", "Kubernetes"
            )
            assert directory.peer("10.250.0.7").workload == "ratings-v1"  # type: ignore[union-attr]
            assert directory.peer("10.9.0.1").app == "legacy"  # type: ignore[union-attr]
            assert directory.service("reviews.default.svc.cluster.local").name == "reviews"  # type: ignore[union-attr]
            raw = (
                "# TYPE envoy_sailmesh_requests_total counter\n"
                'envoy_sailmesh_requests_total{reporter="destination",peer="10.250.0.7",'
                'cluster="inbound|9080||",service="reviews.default.svc.cluster.local",'
                'response_code="200",response_flags="-"} 5\n'
            )
            text = view.merged(reviews.id, raw, None)
            (family,) = parse(text)
            (sample,) = family.samples
            assert sample.label("source_workload") == "ratings-v1"
            assert sample.label("destination_workload") == "reviews-v1"
            assert sample.value == 5

    asyncio.run(scenario())


def test_certificate_expiry_gauges_have_istiods_names() -> None:
    metrics = ControlPlaneMetrics()
    assert b"citadel_server" not in metrics.text()  # no CA, no gauge
    metrics.watch_certificates(lambda: 2_000_000_000.0, lambda: 1_900_000_000.0)
    text = metrics.text().decode()
    assert "citadel_server_root_cert_expiry_timestamp 2000000000\n" in text
    assert "citadel_server_cert_chain_expiry_timestamp 1900000000\n" in text
