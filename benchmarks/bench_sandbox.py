"""Pod sandbox costs: create/destroy latency (netns mode) and forwarder round trips."""

from __future__ import annotations

import socket
import statistics
import threading
import time

from sailmesh.runtime.sandbox import netns
from sailmesh.runtime.sandbox.forward import Forwarder, ForwarderThread
from sailmesh.runtime.sandbox.modes import probe_netns
from sailmesh.runtime.sandbox.pod import PodSandbox, PodSpec

Row = tuple[str, str, str, str]
PODS = 10
ROUND_TRIPS = 300


def _echo_server() -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return server, int(server.getsockname()[1])


def _pods() -> list[Row]:
    names = netns.RunNames(netns.new_run_id())
    try:
        start = time.perf_counter()
        pods = [PodSandbox(names, PodSpec(f"p{i}", index=i)) for i in range(PODS)]
        for pod in pods:
            pod.create()
        created = (time.perf_counter() - start) / PODS
        start = time.perf_counter()
        for pod in pods:
            pod.destroy()
        destroyed = (time.perf_counter() - start) / PODS
    finally:
        netns.cleanup(names.run_id)
    return [
        ("sandbox", f"create pod (netns+veth+hosts+rules), mean of {PODS}",
         f"{created * 1000:.0f} ms", "< 200 ms"),
        ("sandbox", "destroy pod", f"{destroyed * 1000:.0f} ms", "< 200 ms"),
    ]  # fmt: skip


def _forwarder() -> list[Row]:
    server, port = _echo_server()
    fwd = ForwarderThread(Forwarder(None, "127.0.0.1", port))
    try:
        with socket.create_connection(("127.0.0.1", fwd.start())) as conn:
            samples = []
            for _ in range(ROUND_TRIPS):
                start = time.perf_counter()
                conn.sendall(b"x" * 64)
                conn.recv(64)
                samples.append(time.perf_counter() - start)
    finally:
        fwd.stop()
        server.close()
    p50 = statistics.median(samples) * 1e6
    return [("sandbox", "forwarder 64 B round trip p50 (loopback)", f"{p50:.0f} us", "< 500 us")]


def run() -> list[Row]:
    """Benchmark rows; the pod rows need netns mode (root)."""
    rows = _forwarder()
    why = probe_netns()
    if why is None:
        rows = _pods() + rows
    else:
        rows.append(("sandbox", "create pod", f"skipped: {why}", "-"))
    return rows
