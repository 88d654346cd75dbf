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
