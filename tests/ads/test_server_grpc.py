"""The grpc.aio shell around the state machines, driven by a gRPC client (no Envoy)."""

from __future__ import annotations

import asyncio

import grpc
from ads_playbook import NODE, delta_req, req, snapshot
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

from sailmesh.ads.cache import SnapshotCache
from sailmesh.ads.resources import CLUSTER
from sailmesh.ads.server import AdsServer
from sailmesh.ads.status import SyncState


async def _sotw_session() -> None:
    cache = SnapshotCache()
    server = AdsServer(cache)
    port = await server.start("127.0.0.1:0")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
            requests: asyncio.Queue[discovery_pb2.DiscoveryRequest | None] = asyncio.Queue()

            async def outgoing():  # type: ignore[no-untyped-def]
                while (item := await requests.get()) is not None:
                    yield item

            call = stub.StreamAggregatedResources(outgoing())
            await requests.put(req(CLUSTER))
            await asyncio.sleep(0.05)
            [status] = server.proxy_status()
            assert status.node_id == NODE and status.state(CLUSTER) == SyncState.NOT_SENT
            cache.set_snapshot(NODE, snapshot())  # wakes the stream
            first = await asyncio.wait_for(call.read(), 5)
            assert first.type_url == CLUSTER and len(first.resources) == 1
            await requests.put(req(CLUSTER, version=first.version_info, nonce=first.nonce))
            cache.set_snapshot(NODE, snapshot(clusters={"c1": 1, "c2": 1}))
            second = await asyncio.wait_for(call.read(), 5)
            assert len(second.resources) == 2 and second.version_info != first.version_info
            assert server.proxy_status()[0].state(CLUSTER) == SyncState.STALE
            await requests.put(None)
            call.cancel()
        for _ in range(100):
            if not server.proxy_status():
                break
            await asyncio.sleep(0.01)
        assert server.proxy_status() == []  # the stream's status left with it
    finally:
        await server.stop(0)


async def _delta_session() -> None:
    cache = SnapshotCache()
    cache.set_snapshot(NODE, snapshot())
    server = AdsServer(cache)
    port = await server.start("127.0.0.1:0")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
            first = delta_req(CLUSTER)
            first.node.id = NODE
            release = asyncio.Event()

            async def outgoing():  # type: ignore[no-untyped-def]
                yield first
                await release.wait()  # a half-close from the client ends the stream

            call = stub.DeltaAggregatedResources(outgoing())
            response = await asyncio.wait_for(call.read(), 5)
            assert [r.name for r in response.resources] == ["c1"]
            assert server.proxy_status()[0].mode == "delta"
            release.set()
            call.cancel()
    finally:
        await server.stop(0)


def test_sotw_stream_over_grpc_wakes_on_new_snapshots() -> None:
    asyncio.run(_sotw_session())


def test_delta_stream_over_grpc() -> None:
    asyncio.run(_delta_session())


def test_second_server_on_a_taken_port_fails_cleanly() -> None:
    async def run() -> None:
        first = AdsServer(SnapshotCache())
        port = await first.start("127.0.0.1:0")
        try:
            second = AdsServer(SnapshotCache())
            try:
                await second.start(f"127.0.0.1:{port}")
            except Exception as exc:
                assert "cannot listen" in str(exc)
            else:
                await second.stop(0)
                raise AssertionError("bound a taken port")
        finally:
            await first.stop(0)

    asyncio.run(run())
