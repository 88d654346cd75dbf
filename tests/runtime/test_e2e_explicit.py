"""Explicit mode end to end: bookinfo as plain processes in the host namespace, each with a
real Envoy sidecar reached through ``http_proxy`` (routing on the Host header), the ingress
gateway listening on 127.0.0.1 itself, and Istio's bookinfo task YAML applied unchanged.

Explicit mode has no capture at all: the app's HTTP client sends absolute-form requests to its
own sidecar, which routes to the server app's host port directly. So only the *client* sidecar
sees a call; the server's sidecar (there is no inbound listener in explicit mode) sees nothing.

One mesh is shared by the tests of this module (own ``SAILMESH_HOME``, free ports); its
teardown checks that no process, file or port of the run is left behind.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from runtime_e2e import DEMO_PATHS, NETWORKING, skip_without_envoy

from e2e_support.bookinfo import (
    REVIEWS_PODS,
    access_log,
    call_reviews_from_productpage,
    page,
    stars,
)
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.app.local import LocalMesh
from sailmesh.runtime.sandbox import netns

pytestmark = pytest.mark.e2e


skip_without_envoy()


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    home = tmp_path_factory.mktemp("sailmesh-home")
    m = LocalMeshThread(home)
    m.mesh = LocalMesh(home, "explicit")  # the helper builds an auto-mode mesh
    run_id = m.mesh.names.run_id
    ports: list[int] = []
    try:
        m.start(DEMO_PATHS)
        assert m.mesh.runtime is not None
        ports = [p for pod in m.mesh.runtime.pods.values() for p in pod.ports.all()]
        yield m
    finally:
        m.close()
        assert_nothing_left(run_id, ports)


def assert_nothing_left(run_id: str, ports: list[int]) -> None:
    names = netns.RunNames(run_id)
    ps = subprocess.run(
        ["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True
    ).stdout
    assert f"{names.prefix}work" not in ps, "processes of the run still running"
    assert not names.workdir.exists(), "work directory left behind"
    assert netns.list_netns(names.prefix) == [], "explicit mode created a namespace"
    for port in ports:  # every host port of the run is free again
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))


def gateway(mesh: LocalMeshThread) -> int:
    return mesh.gateway_port(8080)


def test_mode_and_limits_are_reported(mesh: LocalMeshThread) -> None:
    status = mesh.mesh.status()
    assert status["mode"] == "explicit"
    assert any("http_proxy" in limit for limit in status["limits"])
    assert any("$PORT" in limit for limit in status["limits"])
    assert all(p["ip"] == "127.0.0.1" and p["ready"] for p in status["pods"]), status["pods"]
    # No forwarder: the gateway Envoy itself listens on 127.0.0.1.
    assert [f for f, _ in mesh.mesh.forwarders.values()] == [None]


def test_replicas_of_one_container_port_get_their_own_host_ports(mesh: LocalMeshThread) -> None:
    assert mesh.mesh.cp is not None
    endpoints = mesh.mesh.cp.registry.view().endpoints_for(
        "reviews.default.svc.cluster.local", 9080
    )
    assert len(endpoints) == 3
    assert {e.address for e in endpoints} == {"127.0.0.1"}
    assert len({e.port for e in endpoints}) == 3 and 9080 not in {e.port for e in endpoints}


def test_all_v1_shows_no_stars(mesh: LocalMeshThread) -> None:
    port = gateway(mesh)
    mesh.apply((NETWORKING / "virtual-service-all-v1.yaml").read_text())
    wait_for(lambda: all(stars(page(port)) == "none" for _ in range(10)), 20, "all-v1 routing")
    assert [stars(page(port)) for _ in range(50)] == ["none"] * 50


def test_shift_to_v3_is_all_red(mesh: LocalMeshThread) -> None:
    port = gateway(mesh)
    mesh.apply((NETWORKING / "virtual-service-all-v1.yaml").read_text())
    mesh.apply((NETWORKING / "virtual-service-reviews-v3.yaml").read_text())
    wait_for(lambda: all(stars(page(port)) == "red" for _ in range(10)), 20, "v3 routing")
    assert [stars(page(port)) for _ in range(50)] == ["red"] * 50


def test_app_call_through_http_proxy_is_seen_by_the_client_sidecar_only(
    mesh: LocalMeshThread,
) -> None:
    # The pod's environment carries http_proxy (its sidecar); urllib honours it.
    request_id = call_reviews_from_productpage(mesh)

    def outbound() -> list[str]:
        return access_log(mesh, "deploy/productpage-v1", request_id)

    wait_for(lambda: bool(outbound()), 10, "the client sidecar's access log")
    (line,) = outbound()
    # (a subset when an earlier test left a reviews VirtualService applied)
    assert re.search(r"outbound\|9080\|\w*\|reviews\.default\.svc\.cluster\.local", line)
    assert '"reviews:9080"' in line  # routed on the Host header
    time.sleep(1.0)  # access logs flush every 500 ms: give the server side a chance to show up
    seen = [line for ref in REVIEWS_PODS for line in access_log(mesh, ref, request_id)]
    # The serving reviews pod's sidecar logs only its app's own outbound call to ratings (the
    # request id propagates); the call it served never went through it.
    assert not [line for line in seen if "inbound|" in line or "reviews.default" in line], seen
    assert all("outbound|9080|" in line and "ratings.default" in line for line in seen), seen


def test_admin_api_of_each_pod_is_reachable(mesh: LocalMeshThread) -> None:
    result = mesh.mesh.runtime_call("admin", {"pod": "deploy/productpage-v1", "path": "/listeners"})
    assert result["status"] == 200
    pod = mesh.mesh.runtime.find_pod("deploy/productpage-v1") if mesh.mesh.runtime else None
    assert pod is not None and pod.ports.proxy is not None
    assert f"127.0.0.1:{pod.ports.proxy}" in result["body"]
    gw = mesh.mesh.runtime_call(
        "admin", {"pod": "deploy/istio-ingressgateway", "path": "/listeners?format=json"}
    )
    listeners = json.loads(gw["body"])["listener_statuses"]
    bound = {x["local_address"]["socket_address"]["address"] for x in listeners}
    assert bound == {"127.0.0.1"}, "the gateway must not listen on every host address"
