"""Fault: the control plane is SIGKILLed and restarted while real Envoy sidecars carry load.

The control plane runs in a child process (:mod:`e2e_support.cp_process`) with a state dir, a
fixed ADS port and an API socket; three Envoy sidecars in explicit mode route
``reviews:9080`` to loopback backends. A bounded request loop runs through all three while the
child is killed with SIGKILL (by its pid) and restarted on the same port and state dir.
Figures: failed requests (must be 0), time from the restart until every proxy is SYNCED again
(must be under 2 s), and the config after the restart (must equal the config before).
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from e2e_support.backend import Backend
from e2e_support.controlplane import start_sidecar
from e2e_support.cp_process import ControlPlaneProcess
from e2e_support.proxy import free_port, wait_for
from sailmesh.runtime.envoy import EnvoyProcess

pytestmark = pytest.mark.e2e

SIDECARS = ("client-a", "client-b", "client-c")
RESYNC_BOUND_S = 2.0
KILLS = int(os.environ.get("SAILMESH_FAULT_KILLS", "2"))


def platform(ports: dict[str, int], subset: str) -> str:
    entries = "".join(
        f"---\napiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
        f"metadata: {{name: reviews-{v}}}\nspec:\n  address: 127.0.0.1\n"
        f"  labels: {{app: reviews, version: {v}}}\n  ports: {{http: {port}}}\n"
        for v, port in ports.items()
    )
    return f"""\
apiVersion: v1
kind: Service
metadata: {{name: reviews}}
spec:
  selector: {{app: reviews}}
  ports: [{{name: http, port: 9080}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: reviews}}
spec:
  host: reviews
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: reviews}}
spec:
  hosts: [reviews]
  http: [{{route: [{{destination: {{host: reviews, subset: {subset}}}}}]}}]
{entries}"""


def call(port: int) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": "reviews:9080"})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    except OSError as exc:
        return 0, repr(exc)
    finally:
        conn.close()


@dataclass
class Load:
    """Round-robin GETs through every sidecar on fresh connections; bounded in count and time."""

    ports: list[int]
    limit: int = 6000
    seconds: float = 40.0
    results: list[tuple[int, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, name="load")

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        while len(self.results) < self.limit and not self.stop.is_set():
            if time.monotonic() > deadline:
                break
            self.results.append(call(self.ports[len(self.results) % len(self.ports)]))
            time.sleep(0.002)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(timeout=30)

    @property
    def failures(self) -> list[tuple[int, str]]:
        return [r for r in self.results if r[0] != 200]


@dataclass
class Mesh:
    cp: ControlPlaneProcess
    ports: list[int]
    envoys: list[EnvoyProcess]

    def proxies(self) -> dict[str, Any]:
        status, body = self.cp.api.request("GET", "/v1/proxies")
        assert status == 200, body
        return {r["node"]: r for r in body["proxies"]}

    def all_synced(self) -> bool:
        try:
            records = self.proxies()
        except OSError:  # the API is not up yet
            return False
        return len(records) == len(SIDECARS) and all(
            t["state"] == "SYNCED"
            for r in records.values()
            for k, t in r["types"].items()
            if k != "SDS"
        )

    def config(self) -> list[dict[str, Any]]:
        status, body = self.cp.api.request("GET", "/v1/config")
        assert status == 200, body
        return list(body["items"])


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[Mesh]:
    with Backend("v1") as v1, Backend("v2") as v2:
        cp = ControlPlaneProcess(
            tmp_path / "state", tmp_path / "api.sock", free_port(), tmp_path / "cp.log"
        )
        cp.start()
        envoys: list[EnvoyProcess] = []
        try:
            status, body = cp.api.request(
                "POST", "/v1/apply", {"yaml": platform({"v1": v1.port, "v2": v2.port}, "v1")}
            )
            assert status == 200, body
            ports = [free_port() for _ in SIDECARS]
            for name, port in zip(SIDECARS, ports, strict=True):
                envoys.append(start_sidecar(tmp_path, cp.port, name=name, explicit_port=port))
            for envoy in envoys:
                envoy.wait_ready()
            m = Mesh(cp, ports, envoys)
            wait_for(m.all_synced, 15, "every sidecar to be SYNCED")
            for port in ports:
                wait_for(lambda p=port: call(p)[1] == "v1", 10, "traffic to flow")
            yield m
        finally:
            for envoy in envoys:
                envoy.stop()
            cp.close()


def test_sigkill_and_restart_under_load_loses_nothing(mesh: Mesh) -> None:
    before = mesh.config()
    resyncs: list[float] = []
    with Load(mesh.ports) as load:
        for _ in range(KILLS):
            time.sleep(0.5)
            killed_at = time.monotonic()
            mesh.cp.kill()
            mesh.cp.start()
            ready = mesh.cp.ready_at
            wait_for(mesh.all_synced, 15, "every sidecar to resync")
            synced = time.monotonic()
            resyncs.append(synced - ready)
            print(
                f"\nSIGKILL -> restart: down {ready - killed_at:.2f} s, "
                f"all {len(SIDECARS)} proxies SYNCED {synced - ready:.2f} s after the restart"
            )
        time.sleep(0.5)
    after = mesh.config()
    print(
        f"{len(load.results)} requests through {len(SIDECARS)} sidecars over {KILLS} kills: "
        f"{len(load.failures)} failed; worst resync {max(resyncs):.2f} s "
        f"(bound {RESYNC_BOUND_S} s); config objects before/after: {len(before)}/{len(after)}"
    )
    assert load.failures == [], load.failures[:5]
    assert len(load.results) > 200
    assert max(resyncs) < RESYNC_BOUND_S, resyncs
    assert after == before, "config lost or changed by the kill"

    status, body = mesh.cp.api.request("POST", "/v1/apply", {"yaml": ROUTE_V2})
    assert status == 200, body
    for port in mesh.ports:
        wait_for(lambda p=port: call(p)[1] == "v2", 10, "the restarted control plane to push")


ROUTE_V2 = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v2}}]}]
"""
