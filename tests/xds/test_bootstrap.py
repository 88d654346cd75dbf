"""The rendered bootstrap: accepted by the real Envoy (``--mode validate``), Istio-shaped."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sailmesh.runtime.envoy import find_envoy
from sailmesh.xds.bootstrap import (
    TcpAddress,
    UnixAddress,
    XdsAddress,
    render_bootstrap,
    sidecar_node_id,
    stats_tags,
)
from sailmesh.xds.bootstrap_metrics import MetricsPorts

NODE = sidecar_node_id("10.1.0.5", "reviews-v1-abc", "default")
METADATA = {"NAMESPACE": "default", "LABELS": {"app": "reviews", "version": "v1"}}


def validate(tmp_path: Path, bootstrap: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "bootstrap.json"
    config.write_text(json.dumps(bootstrap))
    command = [str(find_envoy()), "--mode", "validate", "-c", str(config)]
    command += ["--disable-hot-restart", "-l", "warning"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_node_id_has_istio_form() -> None:
    assert NODE == "sidecar~10.1.0.5~reviews-v1-abc.default~default.svc.cluster.local"


@pytest.mark.parametrize(
    ("address", "delta"),
    [
        (TcpAddress("127.0.0.1", 15010), False),
        (TcpAddress("127.0.0.1", 15010), True),
        (UnixAddress("/tmp/sailmesh-test/xds.sock"), False),
    ],
    ids=["tcp-sotw", "tcp-delta", "unix-sotw"],
)
def test_envoy_accepts_the_bootstrap(tmp_path: Path, address: XdsAddress, delta: bool) -> None:
    bootstrap = render_bootstrap(
        node_id=NODE,
        cluster="reviews.default",
        xds_address=address,
        metadata=METADATA,
        delta=delta,
        extra_stat_tags=["destination_port"],
    )
    result = validate(tmp_path, bootstrap)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
    assert bootstrap["node"] == {"id": NODE, "cluster": "reviews.default", "metadata": METADATA}
    ads = bootstrap["dynamic_resources"]["ads_config"]
    assert ads["api_type"] == ("DELTA_GRPC" if delta else "GRPC")
    assert ads["transport_api_version"] == "V3"


def test_defaults_admin_and_xds_cluster() -> None:
    bootstrap = render_bootstrap(
        node_id=NODE, cluster="c", xds_address=TcpAddress("127.0.0.1", 15012)
    )
    admin = bootstrap["admin"]["address"]["socket_address"]
    assert admin == {"address": "127.0.0.1", "port_value": 15000}
    [xds] = bootstrap["static_resources"]["clusters"]
    assert xds["name"] == "xds-grpc"
    options = xds["typed_extension_protocol_options"]
    [(name, typed)] = options.items()
    assert typed["@type"] == f"type.googleapis.com/{name}"
    assert "http2_protocol_options" in typed["explicit_http_config"]
    json.dumps(bootstrap)  # plain JSON


def test_cluster_name_tag_keeps_istio_cluster_names_whole() -> None:
    [rule] = [t for t in stats_tags() if t["tag_name"] == "cluster_name"]
    stat = "cluster.outbound|9080|v1|reviews.default.svc.cluster.local.upstream_rq_total"
    match = re.match(rule["regex"], stat)
    assert match is not None
    assert match.group(2) == "outbound|9080|v1|reviews.default.svc.cluster.local"


def test_extra_stat_tags_follow_istio_format() -> None:
    tags = stats_tags(["destination_port"])
    names = [t["tag_name"] for t in tags]
    assert names.index("destination_port") == names.index("mongo_prefix") + 1
    [rule] = [t for t in tags if t["tag_name"] == "destination_port"]
    assert rule["regex"] == r"(destination_port=\.=(.*?);\.;)"


def test_metrics_ports_are_accepted_and_route_to_admin_and_the_agent(tmp_path: Path) -> None:
    bootstrap = render_bootstrap(
        node_id=NODE,
        cluster="reviews.default",
        xds_address=UnixAddress("/tmp/sailmesh-test/xds.sock"),
        metadata=METADATA,
        metrics=MetricsPorts(agent_socket="/tmp/sailmesh-test/agent.sock"),
    )
    result = validate(tmp_path, bootstrap)
    assert result.returncode == 0, result.stdout + result.stderr
    static = bootstrap["static_resources"]
    ports = {x["address"]["socket_address"]["port_value"]: x for x in static["listeners"]}
    assert sorted(ports) == [15020, 15090]
    clusters = {c["name"]: c for c in static["clusters"]}
    admin = clusters["prometheus_stats"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    assert admin["endpoint"]["address"]["socket_address"]["port_value"] == 15000
    agent = clusters["sailmesh-agent"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    assert agent["endpoint"]["address"] == {"pipe": {"path": "/tmp/sailmesh-test/agent.sock"}}
    merged = ports[15020]["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]
    [header] = merged["virtual_hosts"][0]["request_headers_to_add"]
    assert header["header"] == {"key": "x-sailmesh-proxy", "value": NODE}
    assert header["append_action"] == "OVERWRITE_IF_EXISTS_OR_ADD"
    [buckets] = bootstrap["stats_config"]["histogram_bucket_settings"]
    assert buckets["match"] == {"prefix": "sailmesh."} and buckets["buckets"][0] == 0.5


def test_metrics_ports_can_be_left_out() -> None:
    bootstrap = render_bootstrap(
        node_id=NODE,
        cluster="c",
        xds_address=TcpAddress("127.0.0.1", 15012),
        metrics=MetricsPorts(agent_socket=None, prometheus_port=None),
    )
    assert "listeners" not in bootstrap["static_resources"]
