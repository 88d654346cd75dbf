"""The demo mesh end to end: bookinfo pods with sidecars and transparent capture, the ingress
gateway on 127.0.0.1, and Istio's bookinfo task YAML applied unchanged.

One mesh (netns mode) is shared by the tests of this module; its teardown checks that nothing
of the run is left behind.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from runtime_e2e import BOOKINFO, demo_mesh, skip_unless_netns

from e2e_support.bookinfo import (
    REVIEWS_V2,
    apply_sample,
    assert_seen_by_both_sidecars,
    call_reviews_from_productpage,
    converge,
    login,
    page,
    stars,
)
from e2e_support.localmesh import LocalMeshThread
from e2e_support.proxy import wait_for

pytestmark = pytest.mark.e2e


skip_unless_netns()


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMeshThread]:
    yield from demo_mesh(tmp_path_factory.mktemp("sailmesh-home"))


def gateway(mesh: LocalMeshThread) -> int:
    return mesh.gateway_port(8080)


def test_app_dialing_a_service_name_is_captured_by_both_sidecars(mesh: LocalMeshThread) -> None:
    # No proxy settings: only PATH. The connection is captured by iptables.
    assert_seen_by_both_sidecars(mesh, call_reviews_from_productpage(mesh))


def test_all_v1_shows_no_stars(mesh: LocalMeshThread) -> None:
    port = gateway(mesh)
    apply_sample(mesh, "virtual-service-all-v1.yaml")
    wait_for(lambda: all(stars(page(port)) == "none" for _ in range(10)), 20, "all-v1 routing")
    assert [stars(page(port)) for _ in range(100)] == ["none"] * 100


def test_reviews_50_50_v1_v3(mesh: LocalMeshThread) -> None:
    port = gateway(mesh)
    apply_sample(mesh, "virtual-service-all-v1.yaml")
    apply_sample(mesh, "virtual-service-reviews-50-v3.yaml")
    converge(port, "red")
    seen = [stars(page(port)) for _ in range(200)]
    assert set(seen) <= {"red", "none"}
    assert 80 <= seen.count("red") <= 120, seen.count("red")


def test_jason_gets_black_stars_others_none(mesh: LocalMeshThread) -> None:
    port = gateway(mesh)
    apply_sample(mesh, "virtual-service-all-v1.yaml")
    apply_sample(mesh, "virtual-service-reviews-test-v2.yaml")
    jason = login(port, "jason")
    converge(port, "black", cookie=jason)
    assert [stars(page(port, jason)) for _ in range(30)] == ["black"] * 30
    assert [stars(page(port)) for _ in range(30)] == ["none"] * 30
    someone = login(port, "alice")
    assert [stars(page(port, someone)) for _ in range(10)] == ["none"] * 10


def test_shift_to_v3_is_all_red(mesh: LocalMeshThread) -> None:
    port = gateway(mesh)
    apply_sample(mesh, "virtual-service-all-v1.yaml")
    apply_sample(mesh, "virtual-service-reviews-v3.yaml")
    converge(port, "red")
    assert [stars(page(port)) for _ in range(100)] == ["red"] * 100


#: Istio's request-timeouts task: reviews to v2, ratings delayed 2 s, then reviews' timeout.
RATINGS_DELAY = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - fault: {delay: {percentage: {value: 100}, fixedDelay: 2s}}
    route: [{destination: {host: ratings, subset: v1}}]
"""
REVIEWS_TIMEOUT = REVIEWS_V2.replace("  - route:", "  - timeout: 0.5s\n    route:")
REVIEWS_UNAVAILABLE = "Sorry, product reviews are currently unavailable for this book."


def timed_page(port: int) -> tuple[float, str]:
    start = time.monotonic()
    body = page(port)
    return time.monotonic() - start, body


def test_request_timeout_task(mesh: LocalMeshThread) -> None:
    """Without a timeout the page waits for the delayed ratings (~2 s, black stars); with
    reviews' ``timeout: 0.5s`` it answers after about 1 s (productpage tries reviews twice)
    saying reviews are unavailable."""
    port = gateway(mesh)
    apply_sample(mesh, "virtual-service-all-v1.yaml")
    mesh.apply(REVIEWS_V2)
    mesh.apply(RATINGS_DELAY)
    try:
        wait_for(lambda: timed_page(port)[0] >= 2.0, 20, "the 2 s ratings delay")
        slow, body = timed_page(port)
        assert stars(body) == "black"
        mesh.apply(REVIEWS_TIMEOUT)
        wait_for(lambda: REVIEWS_UNAVAILABLE in page(port), 20, "reviews' 0.5 s timeout")
        timed = [timed_page(port) for _ in range(3)]
    finally:
        apply_sample(mesh, "virtual-service-all-v1.yaml")
    print(
        f"\nrequest timeouts: without {slow:.2f} s; with 0.5 s: {[round(t, 2) for t, _ in timed]} s"
    )
    assert slow < 3.0
    for elapsed, body in timed:
        assert REVIEWS_UNAVAILABLE in body
        assert 0.9 <= elapsed <= 1.5, elapsed


def workloads(mesh: LocalMeshThread, prefix: str) -> list[str]:
    assert mesh.mesh.cp is not None
    return sorted(
        w.name for w in mesh.mesh.cp.registry.view().workloads if w.name.startswith(prefix)
    )


def test_crashing_app_leaves_and_rejoins_the_endpoints(mesh: LocalMeshThread) -> None:
    runtime = mesh.mesh.runtime
    assert runtime is not None
    pod = runtime.find_pod("deploy/details-v1")
    assert pod is not None and workloads(mesh, "details-v1") == [pod.plan.name]
    pid = pod.supervisor.status().container("details").pid
    assert pid is not None
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: workloads(mesh, "details-v1") == [], 1.0, "the endpoint to be withdrawn")
    assert time.monotonic() - killed_at < 1.0
    wait_for(lambda: workloads(mesh, "details-v1") == [pod.plan.name], 10, "the restarted app")
    assert pod.supervisor.status().container("details").restarts == 1


def test_scaling_a_deployment_updates_endpoints(mesh: LocalMeshThread) -> None:
    text = (BOOKINFO / "platform" / "bookinfo.yaml").read_text()
    ratings = next(doc for doc in text.split("---") if "name: ratings-v1" in doc)
    mesh.apply(ratings.replace("replicas: 1", "replicas: 2"))
    wait_for(lambda: len(workloads(mesh, "ratings-v1")) == 2, 10, "a second ratings pod")
    started = time.monotonic()
    mesh.apply(ratings)
    assert len(workloads(mesh, "ratings-v1")) == 1
    assert time.monotonic() - started < 10


def _streams(mesh: LocalMeshThread) -> dict[str, str]:
    """The xDS protocol of each connected proxy, by pod name."""
    assert mesh.mesh.cp is not None
    return {s.node_id.split("~")[2].split(".")[0]: s.mode for s in mesh.mesh.cp.ads.proxy_status()}


def test_sidecars_speak_delta_xds_unless_their_proxy_config_says_otherwise(
    mesh: LocalMeshThread,
) -> None:
    """As in Istio since 1.22: delta xDS by default, state of the world for a pod whose
    ``proxy.istio.io/config`` sets ``proxyMetadata.ISTIO_DELTA_XDS: "false"``; both carry
    traffic."""
    modes = _streams(mesh)
    assert modes and set(modes.values()) == {"delta"}, modes
    text = (BOOKINFO / "platform" / "bookinfo.yaml").read_text()
    details = next(
        doc for doc in text.split("---") if "name: details-v1" in doc and "kind: Deployment" in doc
    )
    sotw = details.replace("name: details-v1", "name: details-sotw", 1).replace(
        "      labels:\n",
        "      annotations:\n"
        "        proxy.istio.io/config: '{proxyMetadata: {ISTIO_DELTA_XDS: \"false\"}}'\n"
        "      labels:\n",
        1,
    )
    assert "details-sotw" in sotw and "ISTIO_DELTA_XDS" in sotw
    mesh.apply(sotw)
    try:
        wait_for(
            lambda: any(n.startswith("details-sotw") for n in _streams(mesh)), 20, "the SotW pod"
        )
        pod_modes = {n: m for n, m in _streams(mesh).items() if n.startswith("details-sotw")}
        assert set(pod_modes.values()) == {"sotw"}, pod_modes
        runtime = mesh.mesh.runtime
        assert runtime is not None
        client = runtime.find_pod("deploy/details-sotw")
        assert client is not None
        code = (
            "import urllib.request; "
            "print(urllib.request.urlopen('http://reviews:9080/reviews/0', timeout=5).status)"
        )

        def served() -> bool:
            result = client.sandbox.run(["python3", "-c", code], env={"PATH": "/usr/bin:/bin"})
            return result.stdout.strip() == "200"

        wait_for(served, 20, "a call from the SotW pod through its sidecar")
    finally:
        mesh.delete(sotw)
