"""The control plane child process: a real ControlPlane with the benchmark's mesh, driven
over stdin/stdout by the parent (``EXPECT``, ``APPLY <change>``, ``PROFILE on|off``, ``MEM``,
``QUIT``), each answered with one line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from cpbench.loop import LoopThread
from cpbench.mesh import change_yaml, mesh_yaml
from cpbench.settings import CHANGE_LIMIT_S, TYPES


def rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def trimmed_rss_mb() -> float:
    """RSS after a GC and glibc ``malloc_trim`` (what is live, not what the allocator keeps)."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_mb()[0]


def watch_gc() -> dict[str, float]:
    """Seconds spent in the cyclic garbage collector per generation (updated in place)."""
    import gc

    spent = {"0": 0.0, "1": 0.0, "2": 0.0}
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            spent[str(info["generation"])] += time.perf_counter() - started[0]

    gc.callbacks.append(callback)
    return spent


class _Server(LoopThread):
    """The control plane on its own loop thread, and the answers to the parent's commands."""

    def __init__(self, services: int) -> None:
        from sailmesh.app.backend import MeshApi
        from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings

        super().__init__()
        self.services = services
        self.cp = ControlPlane(ControlPlaneSettings())
        self.api = MeshApi(self.cp)
        self.gc_time = watch_gc()
        self.profile: Any = None
        if os.environ.get("BENCH_CP_PROFILE"):  # a cProfile of the control plane's loop thread
            import cProfile

            self.profile = cProfile.Profile()
        self.gc_before, self.cpu_before = dict(self.gc_time), (0.0, 0.0)
        # The versions of each snapshot object, looked up once: this runs on the control
        # plane's loop every 50 ms while a change is measured, and must not slow it down.
        self.versions: dict[int, tuple[Any, list[str]]] = {}

    def start(self) -> None:
        started = time.monotonic()
        self.api.apply_yaml(mesh_yaml(self.services), "mesh.yaml", "default")
        port = asyncio.run_coroutine_threadsafe(self.cp.start(), self.loop).result(60)
        print(f"READY {port} {time.monotonic() - started:.2f}", flush=True)

    def expected(self) -> dict[str, list[str]]:
        """The versions each connected proxy should hold, per type (runs on the loop)."""
        out = {}
        seen: dict[int, tuple[Any, list[str]]] = {}
        for node_id in self.cp.connected:
            snap = self.cp.cache.get(node_id)
            if snap is not None:
                found = self.versions.get(id(snap))
                if found is None or found[0] is not snap:
                    found = (snap, [snap.version(t) for t in TYPES])
                seen[id(snap)] = found
                out[node_id] = found[1]
        self.versions.clear()
        self.versions.update(seen)
        return out

    def do_profile(self, switch: str) -> str:
        if self.profile is not None:
            self.on_loop(self.profile.enable if switch == "on" else self.profile.disable)
        if switch == "on":
            self.gc_before = dict(self.gc_time)
            self.cpu_before = (time.process_time(), time.monotonic())
        else:
            spent = {g: round(self.gc_time[g] - self.gc_before[g], 3) for g in self.gc_time}
            cpu = time.process_time() - self.cpu_before[0]
            wall = time.monotonic() - self.cpu_before[1]
            print(
                f"during the change: control plane CPU {cpu:.2f} s in {wall:.2f} s, "
                f"GC seconds by generation: {spent}",
                file=sys.stderr,
            )
        return "OK"

    def do_apply(self, name: str) -> str:
        change = change_yaml(name, self.services)
        before = self.on_loop(lambda: self.cp.pushes)
        t0 = time.monotonic()
        self.on_loop(lambda: self.api.apply_yaml(change, "change.yaml", "default"))
        deadline = t0 + CHANGE_LIMIT_S
        while self.on_loop(lambda: self.cp.pushes) == before and time.monotonic() < deadline:
            time.sleep(0.005)
        push = self.on_loop(lambda: self.cp.last_push)
        pushed = push.finished - t0 if push is not None else float("nan")
        return json.dumps({"t0": t0, "pushed": pushed})

    def do_mem(self) -> str:
        rss, peak = rss_mb()
        trimmed = trimmed_rss_mb()
        return json.dumps({"rss": rss, "peak": peak, "trimmed": trimmed, "gc": self.gc_time})

    def answer(self, cmd: list[str]) -> str:
        if cmd[0] == "EXPECT":
            return json.dumps(self.on_loop(self.expected))
        if cmd[0] == "PROFILE":
            return self.do_profile(cmd[1])
        if cmd[0] == "APPLY":
            return self.do_apply(cmd[1])
        return self.do_mem()


def serve_control_plane(services: int) -> None:
    server = _Server(services)
    server.start()
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "QUIT":
            break
        if cmd[0] in ("EXPECT", "PROFILE", "APPLY", "MEM"):
            print(server.answer(cmd), flush=True)
    if server.profile is not None:
        server.profile.dump_stats(os.environ["BENCH_CP_PROFILE"])
    os._exit(0)
