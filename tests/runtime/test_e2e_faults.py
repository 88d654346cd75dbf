"""Faults in the demo mesh, on real traffic: a reviews pod's Envoy sidecar is SIGKILLed while
requests flow through the ingress gateway.

The pod must leave the endpoints within 1 s (in the registry and in the caller's Envoy), the
other reviews pods serve meanwhile (no request through the gateway fails), the supervisor
restarts the sidecar and the pod serves again. (The app-crash case is
``test_e2e_bookinfo.test_crashing_app_leaves_and_rejoins_the_endpoints``.)
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_e2e import demo_mesh, skip_unless_netns

from e2e_support.bookinfo import pod
from e2e_support.load import Load
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for
from sailmesh.runtime import proxy as envoy_proxy
from sailmesh.runtime.local import RunningPod

pytestmark = pytest.mark.e2e

skip_unless_netns()

REVIEWS_CLUSTER = "outbound|9080||reviews.default.svc.cluster.local"
REVIEWS_API = "/api/v1/products/0/reviews"  # gateway -> productpage -> reviews
WITHDRAW_WITHIN = 1.0  # seconds


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    yield from demo_mesh(tmp_path_factory.mktemp("sailmesh-home"))


def registry_workloads(mesh: LocalMeshThread) -> set[str]:
    assert mesh.mesh.cp is not None
    return {w.name for w in mesh.mesh.cp.registry.view().workloads}


def envoy_endpoints(client: RunningPod, cluster: str) -> set[str]:
    """The hosts ``client``'s Envoy has for ``cluster`` (its admin ``/clusters``)."""
    status, body = envoy_proxy.admin_request(
        client.netns_file, "/clusters?format=json", client.admin_port
    )
    assert status == 200, body[:200]
    return {
        host["address"]["socket_address"]["address"]
        for c in json.loads(body).get("cluster_statuses", [])
        if c["name"] == cluster
        for host in c.get("host_statuses", [])
    }


def served_by(body: str) -> str:
    """The reviews pod that answered (``podname`` of the reviews document)."""
    try:
        return str(json.loads(body).get("podname", ""))
    except ValueError:
        return ""


def reviews_judge(status: int, body: str) -> str:
    return "" if status == 200 and served_by(body) else f"status {status}: {body[:200]}"


def sidecar_pid(victim: RunningPod) -> int | None:
    return victim.supervisor.status().container("istio-proxy").pid


def test_killed_sidecar_leaves_the_endpoints_and_rejoins_after_restart(
    mesh: LocalMeshThread,
) -> None:
    victim, client = pod(mesh, "deploy/reviews-v2"), pod(mesh, "deploy/productpage-v1")
    name, ip = victim.plan.name, victim.ip
    port = mesh.gateway_port(8080)
    wait_for(lambda: ip in envoy_endpoints(client, REVIEWS_CLUSTER), 10, "reviews-v2 endpoint")
    pid = sidecar_pid(victim)
    assert pid is not None
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "envoy", "the pid is not Envoy's"
    load = Load(port, REVIEWS_API, workers=3, judge=reviews_judge, keep_body=served_by)
    with load:
        wait_for(lambda: len(load.snapshot()) >= 30, 20, "traffic before the fault")
        assert {o.body for o in load.snapshot()} >= {name}, "reviews-v2 served before the fault"
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)

        wait_for(lambda: name not in registry_workloads(mesh), 2, "the registry to drop the pod")
        withdrawn_registry = time.monotonic() - killed_at
        wait_for(lambda: ip not in envoy_endpoints(client, REVIEWS_CLUSTER), 2, "EDS to drop it")
        withdrawn_envoy = time.monotonic() - killed_at

        def restarted() -> bool:
            proxy = victim.supervisor.status().container("istio-proxy")
            return proxy.ready and proxy.pid not in (None, pid)

        wait_for(restarted, 15, "the supervisor to restart Envoy")
        restart = time.monotonic() - killed_at
        wait_for(lambda: name in registry_workloads(mesh), 5, "the pod to rejoin the registry")
        wait_for(lambda: ip in envoy_endpoints(client, REVIEWS_CLUSTER), 5, "EDS to add it back")
        rejoined_at = time.monotonic()
        rejoin = rejoined_at - killed_at

        def serves_again() -> bool:
            return any(o.body == name for o in load.since(rejoined_at))

        wait_for(serves_again, 10, "the pod to serve again")
    outcomes, failures = load.snapshot(), load.failures()
    down = [o for o in outcomes if killed_at <= o.at < rejoined_at]
    print(
        f"\nsidecar SIGKILL in {name}: withdrawn from the registry in {withdrawn_registry:.3f}s,"
        f" from productpage's Envoy in {withdrawn_envoy:.3f}s (bound {WITHDRAW_WITHIN}s);"
        f" Envoy restarted and ready in {restart:.2f}s; endpoint back in {rejoin:.2f}s;"
        f" requests: {len(outcomes)} ({len(down)} while it was down), failed: {len(failures)}"
    )
    assert failures == [], failures[:5]
    assert withdrawn_registry < WITHDRAW_WITHIN
    assert withdrawn_envoy < WITHDRAW_WITHIN
    assert victim.supervisor.status().container("istio-proxy").restarts == 1
    # while its Envoy was dead the pod answered nothing: the other replicas served
    assert not [o for o in down if o.body == name and o.at + o.seconds < killed_at + restart]
