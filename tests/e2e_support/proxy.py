"""Start a real Envoy bootstrapped by :mod:`sailmesh.xds.bootstrap`; send it HTTP traffic."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sailmesh.runtime.envoy import EnvoyProcess
from sailmesh.xds.bootstrap import TcpAddress, XdsAddress, render_bootstrap, sidecar_node_id

NODE_ID = sidecar_node_id("127.0.0.1", "app-1", "default")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_envoy(workdir: Path, ads: int | XdsAddress, *, delta: bool = False) -> EnvoyProcess:
    """An Envoy with admin on a kernel-chosen port, connected to ADS (a 127.0.0.1 port)."""
    bootstrap = render_bootstrap(
        node_id=NODE_ID,
        cluster="app.default",
        xds_address=TcpAddress("127.0.0.1", ads) if isinstance(ads, int) else ads,
        metadata={"NAMESPACE": "default", "LABELS": {"app": "app"}},
        delta=delta,
        admin_port=0,
    )
    config = workdir / "envoy.json"
    config.write_text(json.dumps(bootstrap))
    envoy = EnvoyProcess(
        config, log_path=workdir / "envoy.log", log_level="info", extra_args=["--concurrency", "1"]
    )
    envoy.start()
    return envoy


def get(port: int, path: str = "/", timeout: float = 2.0) -> tuple[int, str]:
    """One GET through 127.0.0.1:``port`` on a fresh connection; ``(0, error)`` on failure."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    except OSError as exc:
        return 0, repr(exc)
    finally:
        conn.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.02)


@dataclass
class TrafficLoop:
    """``count`` sequential GETs in a thread, ``pause`` apart; results kept in order."""

    port: int
    count: int = 300
    pause: float = 0.003
    results: list[tuple[int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, name="traffic")

    def _run(self) -> None:
        for _ in range(self.count):
            self.results.append(get(self.port))
            time.sleep(self.pause)

    def start(self) -> TrafficLoop:
        self._thread.start()
        return self

    def join(self, timeout: float = 60.0) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "traffic loop did not finish"

    def failures(self) -> list[tuple[int, str]]:
        return [r for r in self.results if r[0] != 200]
