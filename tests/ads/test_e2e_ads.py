"""End to end: real Envoy, bootstrapped by sailmesh.xds.bootstrap, served by the ADS server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from e2e_support.ads_thread import AdsThread
from e2e_support.backend import Backend
from e2e_support.proxy import NODE_ID, TrafficLoop, free_port, get, wait_for
from e2e_support.xds_resources import mesh
from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE
from sailmesh.ads.status import ProxyStatus, SyncState
from sailmesh.runtime.envoy import EnvoyProcess
from sailmesh.xds.bootstrap import UnixAddress

pytestmark = pytest.mark.e2e
ALL_TYPES = (CLUSTER, ENDPOINT, LISTENER, ROUTE)
StartEnvoy = Callable[..., EnvoyProcess]


def proxy_status(ads: AdsThread) -> ProxyStatus | None:
    found = [s for s in ads.status() if s.node_id == NODE_ID]
    return found[-1] if found else None


def synced(ads: AdsThread) -> bool:
    status = proxy_status(ads)
    return status is not None and all(status.state(t) == SyncState.SYNCED for t in ALL_TYPES)


def serve_and_wait(ads: AdsThread, envoy: EnvoyProcess, port: int, body: str) -> None:
    envoy.wait_ready(timeout=15)
    wait_for(lambda: get(port) == (200, body), what=f"{body} through Envoy")
    wait_for(lambda: synced(ads), what="SYNCED")


def serve(
    ads: AdsThread,
    start_envoy: StartEnvoy,
    backends: dict[str, int],
    route_to: str = "v1",
    *,
    delta: bool = False,
    xds: int | UnixAddress | None = None,
) -> int:
    """A new Envoy (over ``xds``, by default the ADS port) given a listener on a free port that
    routes to ``route_to`` of ``backends``; returns that port once it answers and is SYNCED."""
    port = free_port()
    ads.cache.set_snapshot(NODE_ID, mesh(port, backends, route_to=route_to))
    envoy = start_envoy(xds if xds is not None else ads.port, delta=delta)
    serve_and_wait(ads, envoy, port, route_to)
    return port


MODES = pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])


@MODES
def test_request_through_envoy_reaches_backend(
    ads: AdsThread, backends: dict[str, int], start_envoy: StartEnvoy, delta: bool
) -> None:
    serve(ads, start_envoy, {"v1": backends["v1"]}, delta=delta)
    status = proxy_status(ads)
    assert status is not None and status.mode == ("delta" if delta else "sotw")
    snapshot = ads.cache.get(NODE_ID)
    assert snapshot is not None
    for type_url in ALL_TYPES:
        assert status.types[type_url].acked_version == snapshot.version(type_url)


def test_ads_over_a_unix_socket(
    ads: AdsThread, backends: dict[str, int], start_envoy: StartEnvoy, tmp_path: Path
) -> None:
    socket_path = str(tmp_path / "xds.sock")
    ads.stop()
    ads.start(unix_path=socket_path)
    serve(ads, start_envoy, {"v2": backends["v2"]}, "v2", xds=UnixAddress(socket_path))


@MODES
def test_config_change_under_traffic_drops_no_request(
    ads: AdsThread, backends: dict[str, int], start_envoy: StartEnvoy, delta: bool
) -> None:
    port = serve(ads, start_envoy, {"v1": backends["v1"]}, delta=delta)
    traffic = TrafficLoop(port, count=300).start()
    wait_for(lambda: len(traffic.results) >= 50, what="traffic")
    # A new cluster, its endpoints and a route to it, in one snapshot: make before break.
    ads.cache.set_snapshot(NODE_ID, mesh(port, backends, route_to="v2"))
    traffic.join()
    assert traffic.failures() == []
    bodies = [body for _, body in traffic.results]
    switch = bodies.index("v2")
    assert set(bodies[:switch]) == {"v1"} and set(bodies[switch:]) == {"v2"}
    wait_for(lambda: synced(ads), what="SYNCED after the change")


@MODES
def test_rejected_config_is_nacked_and_old_config_keeps_serving(
    ads: AdsThread, backends: dict[str, int], start_envoy: StartEnvoy, delta: bool
) -> None:
    port = serve(ads, start_envoy, backends, delta=delta)
    good = ads.cache.get(NODE_ID)
    assert good is not None
    # protobuf accepts any string as a regex; Envoy's RE2 rejects this one.
    ads.cache.set_snapshot(NODE_ID, mesh(port, backends, route_to="v2", regex="/((unclosed"))

    def nacked() -> bool:
        status = proxy_status(ads)
        return status is not None and status.state(ROUTE) == SyncState.NACKED

    wait_for(nacked, what="RDS NACKED")
    status = proxy_status(ads)
    assert status is not None
    route = status.types[ROUTE]
    assert route.nack is not None and "missing )" in route.nack.message, route.nack
    assert route.acked_version == good.version(ROUTE)
    assert all(get(port) == (200, "v1") for _ in range(20))
    assert status.state(CLUSTER) == SyncState.SYNCED


@MODES
def test_ads_restart_under_traffic_is_invisible(
    ads: AdsThread, backends: dict[str, int], start_envoy: StartEnvoy, delta: bool
) -> None:
    port = serve(ads, start_envoy, {"v1": backends["v1"]}, delta=delta)
    before = proxy_status(ads)
    assert before is not None
    traffic = TrafficLoop(port, count=300).start()
    wait_for(lambda: len(traffic.results) >= 30, what="traffic")
    ads_port = ads.port
    ads.stop()
    wait_for(lambda: len(traffic.results) >= 80, what="traffic while ADS is down")
    ads.start(ads_port)
    wait_for(lambda: synced(ads), timeout=15, what="SYNCED after reconnect")
    traffic.join()
    assert traffic.failures() == []
    after = proxy_status(ads)
    assert after is not None and after.stream_id != before.stream_id
    for type_url in ALL_TYPES:
        assert after.types[type_url].acked_version == before.types[type_url].acked_version
        assert after.types[type_url].sent_nonce is None  # nothing had to be resent


@MODES
def test_changed_cluster_rewarms_at_once_and_the_others_keep_their_endpoints(
    ads: AdsThread, backends: dict[str, int], start_envoy: StartEnvoy, delta: bool
) -> None:
    """A change to one of two clusters (what a DestinationRule change does): Envoy re-warms it
    with the endpoints pushed after it, not after its 15 s initial fetch timeout, and the other
    cluster, whose endpoints were not sent again, still routes."""
    port = serve(ads, start_envoy, backends, delta=delta)
    traffic = TrafficLoop(port, count=200).start()
    wait_for(lambda: len(traffic.results) >= 30, what="traffic")
    ads.cache.set_snapshot(NODE_ID, mesh(port, backends, route_to="v1", timeouts={"v1": 2}))
    wait_for(lambda: synced(ads), timeout=5, what="SYNCED after the cluster change")
    traffic.join()
    assert traffic.failures() == []
    ads.cache.set_snapshot(NODE_ID, mesh(port, backends, route_to="v2", timeouts={"v1": 2}))
    wait_for(lambda: get(port) == (200, "v2"), what="v2 through its old endpoints")


@MODES
def test_endpoints_of_one_cluster_change_and_the_others_keep_theirs(
    ads: AdsThread, backends: dict[str, int], start_envoy: StartEnvoy, delta: bool
) -> None:
    port = serve(ads, start_envoy, backends, delta=delta)
    with Backend("v3") as v3:
        moved = {"v1": v3.port, "v2": backends["v2"]}
        ads.cache.set_snapshot(NODE_ID, mesh(port, moved, route_to="v1"))
        wait_for(lambda: get(port) == (200, "v3"), what="v1's new endpoint")
        wait_for(lambda: synced(ads), what="SYNCED after the endpoint change")
        ads.cache.set_snapshot(NODE_ID, mesh(port, moved, route_to="v2"))
        wait_for(lambda: get(port) == (200, "v2"), what="v2 through its old endpoints")
