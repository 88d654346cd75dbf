"""The runtime's bootstrap requests rendered as Envoy bootstraps (node metadata both ways)."""

from __future__ import annotations

from pathlib import Path

from envoy.config.core.v3 import base_pb2

from sailmesh.app.bootstrap import render_pod_bootstrap
from sailmesh.runtime.proxy import BootstrapRequest
from sailmesh.xds.node import options_from_node, proxy_from_node

REQUEST = BootstrapRequest(
    node_id="sidecar~10.244.0.5~reviews-v1-0.default~default.svc.cluster.local",
    cluster="reviews.default",
    namespace="default",
    labels={"app": "reviews", "version": "v1"},
    service_account="bookinfo-reviews",
    xds_socket=Path("/run/xds.sock"),
    delta=True,
)


def _node(document: dict[str, object]) -> base_pb2.Node:
    raw = document["node"]
    assert isinstance(raw, dict)
    out = base_pb2.Node(id=raw["id"], cluster=raw["cluster"])
    out.metadata.update(raw["metadata"])
    return out


def test_a_sidecar_bootstrap_reads_back_as_its_proxy() -> None:
    document = render_pod_bootstrap(REQUEST)
    node = _node(document)
    proxy = proxy_from_node(node)
    assert (proxy.pod_name, proxy.namespace, proxy.ip) == ("reviews-v1-0", "default", "10.244.0.5")
    assert dict(proxy.labels) == {"app": "reviews", "version": "v1"}
    assert proxy.service_account == "bookinfo-reviews" and proxy.interception == "REDIRECT"
    assert options_from_node(node).access_log_path == "/dev/stdout"
    assert document["dynamic_resources"]["ads_config"]["api_type"] == "DELTA_GRPC"  # type: ignore[index]
    clusters = {c["name"]: c for c in document["static_resources"]["clusters"]}  # type: ignore[index]
    cluster = clusters["xds-grpc"]
    address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert address == {"pipe": {"path": "/run/xds.sock"}}
    assert "cluster_manager" not in document
    # the pod's metrics ports: Envoy's stats on 15090 (no agent socket: no 15020)
    assert set(clusters) == {"xds-grpc", "prometheus_stats"}
    [listener] = document["static_resources"]["listeners"]  # type: ignore[index]
    assert listener["address"]["socket_address"]["port_value"] == 15090


def test_the_merged_metrics_port_routes_to_the_agent_socket_with_the_workload_name() -> None:
    from dataclasses import replace

    request = replace(REQUEST, agent_socket=Path("/run/agent.sock"), workload_name="reviews-v1")
    document = render_pod_bootstrap(request)
    assert _node(document).metadata["WORKLOAD_NAME"] == "reviews-v1"
    clusters = {c["name"]: c for c in document["static_resources"]["clusters"]}  # type: ignore[index]
    agent = clusters["sailmesh-agent"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    assert agent["endpoint"]["address"] == {"pipe": {"path": "/run/agent.sock"}}
    ports = [
        x["address"]["socket_address"]["port_value"]
        for x in document["static_resources"]["listeners"]
    ]  # type: ignore[index]
    assert sorted(ports) == [15020, 15090]


def test_explicit_gateways_and_userns_marks_reach_envoy() -> None:
    from dataclasses import replace

    explicit = replace(REQUEST, explicit_port=15123, admin_port=15999, gateway_ports={80: 8081})
    document = render_pod_bootstrap(explicit)
    node = _node(document)
    assert proxy_from_node(node).interception == "NONE"
    options = options_from_node(node)
    assert options.explicit_port == 15123 and options.gateway_ports == ((80, 8081),)
    assert options.gateway_bind == "127.0.0.1"
    assert document["admin"]["address"]["socket_address"]["port_value"] == 15999  # type: ignore[index]
    assert "listeners" not in document["static_resources"]  # type: ignore[operator]

    marked = render_pod_bootstrap(replace(REQUEST, socket_mark=1337))
    (option,) = marked["cluster_manager"]["upstream_bind_config"]["socket_options"]
    assert option["int_value"] == 1337


def test_no_metrics_ports_where_pods_share_the_host() -> None:
    from dataclasses import replace

    gateway = replace(REQUEST, gateway_ports={80: 8081}, metrics_ports=False)
    document = render_pod_bootstrap(gateway)
    assert "listeners" not in document["static_resources"]  # type: ignore[operator]
