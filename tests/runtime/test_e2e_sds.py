"""End to end: two real Envoys doing mutual TLS with certificates their node agents serve over
SDS (``default`` and ``ROOTCA``), a foreign-root client refused, rotation without a failed request."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e_support.mtls import (
    AgentThread,
    XfccBackend,
    client_bootstrap,
    server_bootstrap,
    start,
    this_host_policy,
)
from e2e_support.proxy import TrafficLoop, free_port, get, wait_for
from sailmesh.app.identity import SECRET_RENDERER, ca_signer
from sailmesh.ca.authority import Authority, self_signed_root
from sailmesh.ca.identity import SpiffeId
from sailmesh.ca.signing import IssuedChain
from sailmesh.clock import SYSTEM_CLOCK
from sailmesh.runtime.agent.workload import Signer, WorkloadAgent
from sailmesh.runtime.envoy import EnvoyProcess, admin_get

pytestmark = pytest.mark.e2e

SERVER = SpiffeId("cluster.local", "default", "server")
CLIENT = SpiffeId("cluster.local", "default", "client")
TTL = 6.0  # renewed at 3-4.8 s


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """Unix socket paths must stay under 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="sds-e2e-"))
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


@pytest.fixture
def agents() -> Iterator[AgentThread]:
    thread = AgentThread()
    yield thread
    thread.close()


def _agent(identity: SpiffeId, signer: Signer, socket: Path) -> WorkloadAgent:
    return WorkloadAgent(
        identity,
        signer=signer,
        renderer=SECRET_RENDERER,
        socket_path=socket,
        peer_check=this_host_policy().check,
    )


def _serials(envoy: EnvoyProcess) -> set[str]:
    address = envoy.admin_address()
    assert address is not None
    status, body = admin_get(address, "/certs")
    assert status == 200, body
    return {
        chain["serial_number"].lower().lstrip("0")
        for entry in json.loads(body)["certificates"]
        for chain in entry.get("cert_chain", [])
    }


def test_mutual_tls_over_sds_with_rotation(
    short_dir: Path, agents: AgentThread, tmp_path: Path
) -> None:
    mesh = Authority(
        self_signed_root("cluster.local", SYSTEM_CLOCK.wall()), SYSTEM_CLOCK, default_ttl=TTL
    )
    foreign = Authority(self_signed_root("cluster.local", SYSTEM_CLOCK.wall()), SYSTEM_CLOCK)

    def rogue_signer(csr: bytes, identity: SpiffeId) -> IssuedChain:
        issued = foreign.sign(csr, identity)  # the right name, from the wrong root;
        both = mesh.trust_bundle() + foreign.trust_bundle()  # it trusts the server's root
        return IssuedChain(issued.leaf, issued.intermediates, both)

    server_agent = agents.add(_agent(SERVER, ca_signer(mesh), short_dir / "server.sock"))
    client_agent = agents.add(_agent(CLIENT, ca_signer(mesh), short_dir / "client.sock"))
    agents.add(_agent(CLIENT, rogue_signer, short_dir / "rogue.sock"))
    assert all(oct(os.stat(a.socket_path).st_mode & 0o777) == "0o600" for a in agents.agents)

    server_port, client_port, rogue_port = free_port(), free_port(), free_port()
    with XfccBackend() as backend:
        envoys = [
            start(
                tmp_path,
                "server",
                server_bootstrap(short_dir / "server.sock", server_port, backend.port),
            ),
            start(
                tmp_path,
                "client",
                client_bootstrap(short_dir / "client.sock", client_port, server_port, SERVER.uri),
            ),
            start(
                tmp_path,
                "rogue",
                client_bootstrap(short_dir / "rogue.sock", rogue_port, server_port, SERVER.uri),
            ),
        ]
        try:
            for envoy in envoys:
                envoy.wait_ready()
            status, xfcc = get(client_port)
            assert status == 200, xfcc
            assert f"URI={CLIENT.uri}" in xfcc  # the server saw the client's SPIFFE id

            status, body = get(rogue_port)
            assert status == 503, (status, body)  # handshake refused by the server

            server_before, client_before = _serials(envoys[0]), _serials(envoys[1])
            assert server_agent.current is not None
            assert server_agent.current.serial_hex in server_before
            issued_before = client_agent.issued + server_agent.issued

            traffic = TrafficLoop(client_port, count=1000, pause=0.006).start()
            traffic.join()
            ok = sum(1 for r in traffic.results if r[0] == 200)
            print(
                f"rotation: {len(traffic.results)} requests, {len(traffic.failures())} failed, "
                f"{client_agent.issued + server_agent.issued - issued_before} renewals"
            )
            assert traffic.failures() == [] and ok == 1000
            assert client_agent.issued >= 2 and server_agent.issued >= 2
            assert client_agent.current is not None
            wait_for(
                lambda: client_agent.current.serial_hex in _serials(envoys[1]),
                5,
                "new client serial",
            )  # type: ignore[union-attr]
            assert _serials(envoys[1]).isdisjoint(client_before)
            assert _serials(envoys[0]).isdisjoint(server_before)
            assert server_agent.refused == 0
        finally:
            for envoy in envoys:
                envoy.stop()
