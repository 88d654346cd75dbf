"""The simulated clients' child process: M simulated Envoys over several gRPC channels,
driven over stdin/stdout by the parent (``WANT <versions>``, ``STATUS``, ``PROFILE on|off``,
``QUIT``)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from cpbench.envoys import DeltaSimEnvoy, SimEnvoy, Sync
from cpbench.heads import DeltaHead, Head, Names
from cpbench.loop import LoopThread
from cpbench.settings import CLIENTS_PER_CHANNEL, LABEL_SETS


def _node(i: int) -> Any:
    from envoy.config.core.v3 import base_pb2

    app = f"svc-{i % LABEL_SETS}"
    node = base_pb2.Node(
        id=f"sidecar~10.1.{i // 250}.{i % 250 + 1}~{app}-{i}.default~default.svc.cluster.local",
        cluster=f"{app}.default",
    )
    node.metadata.update(
        {
            "NAMESPACE": "default",
            "LABELS": {"app": app, "version": "v1"},
            "SERVICE_ACCOUNT": "default",
            "INTERCEPTION_MODE": "REDIRECT",
        }
    )
    return node


def _stub(channel: Any) -> Any:
    """The ADS stub, with SotW responses read as :class:`Head`, delta ones as
    :class:`DeltaHead`."""
    from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

    stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
    service = "/envoy.service.discovery.v3.AggregatedDiscoveryService/"
    stub.StreamAggregatedResources = channel.stream_stream(
        service + "StreamAggregatedResources",
        request_serializer=discovery_pb2.DiscoveryRequest.SerializeToString,
        response_deserializer=Head,
    )
    stub.DeltaAggregatedResources = channel.stream_stream(
        service + "DeltaAggregatedResources",
        request_serializer=discovery_pb2.DeltaDiscoveryRequest.SerializeToString,
        response_deserializer=DeltaHead,
    )
    return stub


class _Clients(LoopThread):
    """The simulated Envoys on their own loop thread, and the answers to the parent."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.names = Names()
        self.sync = Sync()
        self.envoys: list[SimEnvoy | DeltaSimEnvoy] = []
        self.factory = DeltaSimEnvoy if mode == "delta" else SimEnvoy
        self.tasks: list[asyncio.Task[None]] = []
        self.profile: Any = None
        if os.environ.get("BENCH_CP_CLIENT_PROFILE"):  # a cProfile of the clients' loop thread
            import cProfile

            self.profile = cProfile.Profile()

    def start(self, port: int, count: int) -> None:
        import grpc

        async def start() -> None:
            channels = [
                grpc.aio.insecure_channel(f"127.0.0.1:{port}")
                for _ in range((count + CLIENTS_PER_CHANNEL - 1) // CLIENTS_PER_CHANNEL)
            ]
            for i in range(count):
                stub = _stub(channels[i // CLIENTS_PER_CHANNEL])
                envoy = self.factory(_node(i), stub, self.names, self.sync)
                self.envoys.append(envoy)
                self.tasks.append(self.loop.create_task(envoy.run()))

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(60)

    def status(self) -> dict[str, Any]:
        errors = [envoy.error for envoy in self.envoys if envoy.error]
        last = max(self.sync.reached.values(), default=0.0)
        cpu = time.process_time()
        return {"synced": len(self.sync.reached), "last": last, "errors": errors[:3], "cpu": cpu}

    def do_profile(self, switch: str) -> str:
        if self.profile is not None:
            self.on_loop(self.profile.enable if switch == "on" else self.profile.disable, 60)
        return "OK"

    def do_status(self, expected: dict[str, list[str]] | None) -> str:
        def check() -> dict[str, Any]:
            if expected is not None:
                self.sync.want(expected, self.envoys)
            return self.status()

        return json.dumps(self.on_loop(check, 60))


def run_clients(port: int, count: int, mode: str = "sotw") -> None:
    from sailmesh.controlplane.tuning import tune_malloc

    tune_malloc()  # like the control plane: 600 KB responses would each be mapped afresh
    clients = _Clients(mode)
    clients.start(port, count)
    print("STARTED", flush=True)
    for line in sys.stdin:
        if line.startswith("PROFILE "):
            print(clients.do_profile(line.split()[1]), flush=True)
        elif line.startswith(("WANT ", "STATUS")):
            expected = json.loads(line[5:]) if line.startswith("WANT ") else None
            print(clients.do_status(expected), flush=True)
        elif line.startswith("QUIT"):
            break
    if clients.profile is not None:
        clients.profile.dump_stats(os.environ["BENCH_CP_CLIENT_PROFILE"])
    os._exit(0)
