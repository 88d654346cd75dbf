"""The node agent without Envoy: who may connect (a table), the gate refusing a wrong peer,
renewal on a manual clock pushing a new secret on the open SDS stream."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import grpc
import pytest
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2
from envoy.service.discovery.v3 import discovery_pb2

from sailmesh.app.identity import SECRET_RENDERER, ca_signer
from sailmesh.ca.authority import Authority, self_signed_root
from sailmesh.ca.identity import SpiffeId
from sailmesh.clock import ManualClock
from sailmesh.runtime.agent.peer import PeerCredentials, PodPeerPolicy, netns_of_pid
from sailmesh.runtime.agent.workload import WorkloadAgent
from sailmesh.typeurls import SECRET

POD_NS = (4, 4026531840)
POLICY = PodPeerPolicy(POD_NS, frozenset({1337}))
ME = SpiffeId("cluster.local", "default", "reviews")


@pytest.mark.parametrize(
    ("peer", "netns", "allowed"),
    [
        (PeerCredentials(100, 1337, 1337), POD_NS, True),
        (PeerCredentials(100, 1337, 1337), (4, 1), False),  # another pod's Envoy
        (PeerCredentials(100, 1000, 1000), POD_NS, False),  # the app in the pod, another uid
        (PeerCredentials(100, 1337, 1337), None, False),  # gone, or not ours to read
        (PeerCredentials(0, 1337, 1337), POD_NS, False),
    ],
)
def test_peer_policy(peer: PeerCredentials, netns: tuple[int, int] | None, allowed: bool) -> None:
    assert (POLICY.refusal(peer, netns) is None) is allowed


def _request(
    names: list[str], version: str = "", nonce: str = ""
) -> discovery_pb2.DiscoveryRequest:
    return discovery_pb2.DiscoveryRequest(
        type_url=SECRET, resource_names=names, version_info=version, response_nonce=nonce
    )


async def _serials_over_sds(agent: WorkloadAgent, clock: ManualClock) -> list[bytes]:
    """Open an SDS stream, ACK the first response, move time past the renewal: the chains seen."""
    async with grpc.aio.insecure_channel(f"unix:{agent.socket_path}") as channel:
        call = channel.stream_stream(
            "/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets",
            request_serializer=discovery_pb2.DiscoveryRequest.SerializeToString,
            response_deserializer=discovery_pb2.DiscoveryResponse.FromString,
        )()
        await call.write(_request(["default"]))
        first = await asyncio.wait_for(call.read(), 5)
        await call.write(_request(["default"], first.version_info, first.nonce))
        clock.advance(0.81 * 3600)  # past 80 % of the 1 h lifetime
        second = await asyncio.wait_for(call.read(), 5)
        call.cancel()
    chains = []
    for response in (first, second):
        secret = secret_pb2.Secret()
        response.resources[0].Unpack(secret)
        assert b"PRIVATE KEY" in secret.tls_certificate.private_key.inline_bytes
        chains.append(secret.tls_certificate.certificate_chain.inline_bytes)
    return chains


def _agent(clock: ManualClock, policy: PodPeerPolicy, directory: Path) -> WorkloadAgent:
    authority = Authority(self_signed_root("cluster.local", clock.wall()), clock, default_ttl=3600)
    return WorkloadAgent(
        ME,
        signer=ca_signer(authority),
        renderer=SECRET_RENDERER,
        socket_path=directory / "sds.sock",
        peer_check=policy.check,
        clock=clock,
        random=lambda: 1.0,
    )


def test_renewal_pushes_on_the_open_stream() -> None:
    clock = ManualClock(wall_start=time.time())
    netns = netns_of_pid(os.getpid())
    assert netns is not None
    with tempfile.TemporaryDirectory(prefix="agent-") as tmp:
        agent = _agent(clock, PodPeerPolicy(netns, frozenset({os.getuid()})), Path(tmp))

        async def run() -> list[bytes]:
            await agent.start()
            try:
                return await _serials_over_sds(agent, clock)
            finally:
                await agent.stop()

        first, second = asyncio.run(run())
    assert first != second and agent.issued == 2


def test_gate_refuses_another_user() -> None:
    clock = ManualClock(wall_start=time.time())
    netns = netns_of_pid(os.getpid())
    assert netns is not None
    with tempfile.TemporaryDirectory(prefix="agent-") as tmp:
        agent = _agent(clock, PodPeerPolicy(netns, frozenset({os.getuid() + 4242})), Path(tmp))

        async def run() -> None:
            await agent.start()
            try:
                with pytest.raises((grpc.aio.AioRpcError, asyncio.TimeoutError)):
                    await _serials_over_sds(agent, clock)
            finally:
                await agent.stop()

        asyncio.run(run())
    assert agent.refused >= 1
