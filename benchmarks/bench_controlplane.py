"""Control plane push latency and memory with many connected proxies.

For (services, proxies) = (1000, 100), (1000, 1000), (1000, 2000): a real
:class:`~sailmesh.controlplane.server.ControlPlane` is started in a child process with N
Kubernetes Services (one WorkloadEntry endpoint each; every tenth service also has a
DestinationRule with subsets and a VirtualService). A second child process opens M simulated
Envoys: grpc.aio SotW ADS streams (over several channels) that subscribe to CDS and LDS as
wildcards, to EDS and RDS by the names found in them, and ACK every response with its
version and nonce, like Envoy. Proxies are all in namespace ``default`` with eight label
sets (``app: svc-0`` .. ``svc-7``), so some are selected by services (inbound listeners).

Measured: the time until every proxy has ACKed the configuration it was given after connecting
(initial sync), and the time from ``apply`` of a one-service change to every proxy having ACKed
the versions the control plane computed for it, for two changes:

- ``VirtualService``: a new VirtualService with a retry policy for ``svc-501``. It changes the
  route config ``"9080"`` (one virtual host per service, ~620 KB for 1,000 services), which
  every proxy gets again as a whole (in SotW and in delta alike);
- ``DestinationRule``: a connection pool added to the DestinationRule of one service. Only that
  service's clusters change; with delta xDS a proxy gets just those clusters and their
  endpoints, with SotW every cluster again.

First with SotW clients (initial sync, VirtualService change, DestinationRule change), then
the SotW clients leave and as many delta (``DeltaAggregatedResources``) clients connect
(initial sync, another DestinationRule change). Times use ``CLOCK_MONOTONIC``, which is shared
by the processes. ``BENCH_CP_PROFILE=<file>`` writes a cProfile of the control plane's loop
thread during the changes (from each apply until all ACKed).
Memory is the control plane process's RSS (peak RSS in brackets); the simulated clients live
in the other process, so their memory and CPU are not counted (on this 2-core machine the
clients have one core and the control plane the other).

Every phase has a time limit, so a slow control plane is reported as a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

CASES: tuple[tuple[int, int], ...] = ((1000, 100), (1000, 1000), (1000, 2000))
TARGET_S = 1.0
TARGET_MB = 1024
LABEL_SETS = 8
CLIENTS_PER_CHANNEL = 50
SYNC_LIMIT_S = float(os.environ.get("BENCH_CP_SYNC_LIMIT", "150"))
CHANGE_LIMIT_S = float(os.environ.get("BENCH_CP_CHANGE_LIMIT", "60"))

CLUSTER = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ENDPOINT = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LISTENER = "type.googleapis.com/envoy.config.listener.v3.Listener"
ROUTE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
TYPES = (CLUSTER, ENDPOINT, LISTENER, ROUTE)
HCM = (
    "type.googleapis.com/"
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)

Row = tuple[str, str, str, str]


# --- the mesh --------------------------------------------------------------------------------
def mesh_yaml(services: int) -> str:
    docs: list[str] = []
    for i in range(services):
        name = f"svc-{i}"
        docs.append(
            f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\n"
            f"spec:\n  selector: {{app: {name}}}\n  ports: [{{name: http, port: 8080}}]\n"
        )
        docs.append(
            f"apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"
            f"metadata: {{name: {name}-1, namespace: default}}\n"
            f"spec: {{address: 10.0.{i // 250}.{i % 250 + 1}, "
            f"labels: {{app: {name}, version: v1}}}}\n"
        )
        if i % 10 == 0:
            docs.append(
                f"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
                f"metadata: {{name: {name}, namespace: default}}\n"
                f"spec:\n  host: {name}\n  subsets: [{{name: v1, labels: {{version: v1}}}}]\n"
            )
            docs.append(
                f"apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
                f"metadata: {{name: {name}, namespace: default}}\n"
                f"spec:\n  hosts: [{name}]\n  http:\n"
                f"  - route: [{{destination: {{host: {name}, subset: v1}}}}]\n"
            )
    return "---\n".join(docs)


CHANGE_YAML = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-501, namespace: default}
spec:
  hosts: [svc-501]
  http:
  - timeout: 3s
    retries: {attempts: 2, perTryTimeout: 1s}
    route: [{destination: {host: svc-501}}]
"""


def dr_change_yaml(name: str) -> str:
    """The DestinationRule of ``name`` (one the mesh has) with a connection pool added."""
    return (
        f"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
        f"metadata: {{name: {name}, namespace: default}}\n"
        f"spec:\n  host: {name}\n"
        f"  trafficPolicy: {{connectionPool: {{tcp: {{maxConnections: 100}}}}}}\n"
        f"  subsets: [{{name: v1, labels: {{version: v1}}}}]\n"
    )


#: The changes, by the name the parent sends: (label, YAML).
CHANGES: dict[str, tuple[str, str]] = {
    "vs": ("VirtualService (routes of all services resent)", CHANGE_YAML),
    "dr": ("DestinationRule (one service's clusters)", dr_change_yaml("svc-510")),
    "dr2": ("DestinationRule (one service's clusters)", dr_change_yaml("svc-520")),
}


def _rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def _trimmed_rss_mb() -> float:
    """RSS after a GC and glibc ``malloc_trim`` (what is live, not what the allocator keeps)."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return _rss_mb()[0]


# --- child: the control plane ----------------------------------------------------------------
def _watch_gc() -> dict[str, float]:
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


def serve_control_plane(services: int) -> None:
    from sailmesh.controlplane.server import ControlPlane, ControlPlaneSettings

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    def on_loop(fn: Any, timeout: float = 120.0) -> Any:
        async def call() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout)

    cp = ControlPlane(ControlPlaneSettings())
    gc_time = _watch_gc()
    profile = None
    if os.environ.get("BENCH_CP_PROFILE"):  # a cProfile of the control plane's loop thread
        import cProfile

        profile = cProfile.Profile()
    started = time.monotonic()
    cp.apply_yaml(mesh_yaml(services), "mesh.yaml", "default")
    port = asyncio.run_coroutine_threadsafe(cp.start(), loop).result(60)
    print(f"READY {port} {time.monotonic() - started:.2f}", flush=True)
    gc_before, cpu_before = dict(gc_time), (0.0, 0.0)

    # The versions of each snapshot object, looked up once: this runs on the control plane's
    # loop every 50 ms while a change is measured, and must not slow it down.
    versions: dict[int, tuple[Any, list[str]]] = {}

    def expected() -> dict[str, list[str]]:
        out = {}
        seen: dict[int, tuple[Any, list[str]]] = {}
        for node_id in cp.connected:
            snap = cp.cache.get(node_id)
            if snap is not None:
                found = versions.get(id(snap))
                if found is None or found[0] is not snap:
                    found = (snap, [snap.version(t) for t in TYPES])
                seen[id(snap)] = found
                out[node_id] = found[1]
        versions.clear()
        versions.update(seen)
        return out

    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "EXPECT":
            print(json.dumps(on_loop(expected)), flush=True)
        elif cmd[0] == "PROFILE":
            if profile is not None:
                on_loop(profile.enable if cmd[1] == "on" else profile.disable)
            if cmd[1] == "on":
                gc_before, cpu_before = dict(gc_time), (time.process_time(), time.monotonic())
            else:
                spent = {g: round(gc_time[g] - gc_before[g], 3) for g in gc_time}
                cpu = time.process_time() - cpu_before[0]
                wall = time.monotonic() - cpu_before[1]
                print(
                    f"during the change: control plane CPU {cpu:.2f} s in {wall:.2f} s, "
                    f"GC seconds by generation: {spent}",
                    file=sys.stderr,
                )
            print("OK", flush=True)
        elif cmd[0] == "APPLY":
            change = CHANGES[cmd[1]][1]
            before = on_loop(lambda: cp.pushes)
            t0 = time.monotonic()
            on_loop(lambda change=change: cp.apply_yaml(change, "change.yaml", "default"))
            deadline = t0 + CHANGE_LIMIT_S
            while on_loop(lambda: cp.pushes) == before and time.monotonic() < deadline:
                time.sleep(0.005)
            print(json.dumps({"t0": t0, "pushed": time.monotonic() - t0}), flush=True)
        elif cmd[0] == "MEM":
            rss, peak = _rss_mb()
            trimmed = _trimmed_rss_mb()
            stats = {"rss": rss, "peak": peak, "trimmed": trimmed, "gc": gc_time}
            print(json.dumps(stats), flush=True)
        elif cmd[0] == "QUIT":
            break
    if profile is not None:
        profile.dump_stats(os.environ["BENCH_CP_PROFILE"])
    os._exit(0)


# --- child: the simulated proxies ------------------------------------------------------------
class _Names:
    """Resource names referenced by a CDS/LDS response, parsed once per version (SotW) or
    once per resource version (delta)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[str, ...]] = {}
        self._one: dict[tuple[str, str, str], tuple[str, ...]] = {}

    def of_resource(self, type_url: str, resource: Any) -> tuple[str, ...]:
        """Names referenced by one delta ``Resource`` (EDS names of a cluster, RDS of a listener)."""
        key = (type_url, resource.name, resource.version)
        found = self._one.get(key)
        if found is None:
            found = self._one[key] = self._parse_one(type_url, resource.resource)
        return found

    def of(self, response: Any) -> tuple[str, ...]:
        key = (response.type_url, response.version_info)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._parse(response)
        return found

    @classmethod
    def _parse(cls, response: Any) -> tuple[str, ...]:
        names: set[str] = set()
        for res in response.resources:
            names.update(cls._parse_one(response.type_url, res))
        return tuple(sorted(names))

    @staticmethod
    def _parse_one(type_url: str, packed: Any) -> tuple[str, ...]:
        from envoy.config.cluster.v3 import cluster_pb2
        from envoy.config.listener.v3 import listener_pb2
        from envoy.extensions.filters.network.http_connection_manager.v3 import (
            http_connection_manager_pb2 as hcm_pb2,
        )

        names: set[str] = set()
        if type_url == CLUSTER:
            cluster = cluster_pb2.Cluster.FromString(packed.value)
            if cluster.type == cluster_pb2.Cluster.EDS:
                names.add(cluster.eds_cluster_config.service_name or cluster.name)
            return tuple(names)
        listener = listener_pb2.Listener.FromString(packed.value)
        chains = [*listener.filter_chains]
        if listener.HasField("default_filter_chain"):
            chains.append(listener.default_filter_chain)
        for chain in chains:
            for f in chain.filters:
                if f.typed_config.type_url == HCM:
                    hcm = hcm_pb2.HttpConnectionManager.FromString(f.typed_config.value)
                    if hcm.HasField("rds"):
                        names.add(hcm.rds.route_config_name)
        return tuple(sorted(names))


class SimEnvoy:
    """One simulated Envoy: a SotW ADS stream that subscribes and ACKs like Envoy does."""

    def __init__(self, node: Any, stub: Any, names: _Names) -> None:
        self.node = node
        self.stub = stub
        self.names = names
        self.out: asyncio.Queue[Any] = asyncio.Queue()
        self.acked: dict[str, tuple[str, float]] = {}
        self.nonce: dict[str, str] = {}
        self.subscribed: dict[str, tuple[str, ...]] = {}
        self.error: str | None = None

    async def _requests(self) -> AsyncIterator[Any]:
        while (item := await self.out.get()) is not None:
            yield item

    def _send(self, type_url: str, version: str = "", nonce: str = "", first: bool = False) -> None:
        from envoy.service.discovery.v3 import discovery_pb2

        request = discovery_pb2.DiscoveryRequest(
            type_url=type_url,
            version_info=version,
            response_nonce=nonce,
            resource_names=self.subscribed.get(type_url, ()),
        )
        if first:
            request.node.CopyFrom(self.node)
        self.out.put_nowait(request)

    def _follow(self, type_url: str, wanted: tuple[str, ...]) -> None:
        if self.subscribed.get(type_url) == wanted:
            return
        self.subscribed[type_url] = wanted
        version = self.acked.get(type_url, ("", 0.0))[0]
        self._send(type_url, version, self.nonce.get(type_url, ""))

    async def run(self) -> None:
        try:
            call = self.stub.StreamAggregatedResources(self._requests())
            self._send(CLUSTER, first=True)
            self._send(LISTENER)
            async for response in call:
                t = response.type_url
                self.nonce[t] = response.nonce
                if t == CLUSTER:
                    self._follow(ENDPOINT, self.names.of(response))
                self._send(t, response.version_info, response.nonce)
                self.acked[t] = (response.version_info, time.monotonic())
                if t == LISTENER:
                    self._follow(ROUTE, self.names.of(response))
        except Exception as exc:  # reported, not raised: one broken stream must not hang others
            self.error = repr(exc)


class DeltaSimEnvoy:
    """One simulated Envoy on a delta (incremental) ADS stream: CDS and LDS as wildcards, EDS
    and RDS by the names the clusters and listeners it holds reference, ACK by nonce."""

    def __init__(self, node: Any, stub: Any, names: _Names) -> None:
        self.node = node
        self.stub = stub
        self.names = names
        self.out: asyncio.Queue[Any] = asyncio.Queue()
        self.acked: dict[str, tuple[str, float]] = {}
        self.refs: dict[str, dict[str, tuple[str, ...]]] = {CLUSTER: {}, LISTENER: {}}
        self.subscribed: dict[str, set[str]] = {ENDPOINT: set(), ROUTE: set()}
        self.error: str | None = None

    async def _requests(self) -> AsyncIterator[Any]:
        while (item := await self.out.get()) is not None:
            yield item

    def _send(self, type_url: str, nonce: str = "", sub: Any = (), unsub: Any = ()) -> None:
        from envoy.service.discovery.v3 import discovery_pb2

        request = discovery_pb2.DeltaDiscoveryRequest(
            type_url=type_url,
            response_nonce=nonce,
            resource_names_subscribe=sorted(sub),
            resource_names_unsubscribe=sorted(unsub),
        )
        if not nonce and type_url == CLUSTER:
            request.node.CopyFrom(self.node)
        self.out.put_nowait(request)

    def _follow(self, source: str, target: str) -> None:
        wanted = {n for names in self.refs[source].values() for n in names}
        have = self.subscribed[target]
        sub, unsub = wanted - have, have - wanted
        if not (sub or unsub):
            return
        self.subscribed[target] = wanted
        self._send(target, sub=sub, unsub=unsub)

    async def run(self) -> None:
        try:
            call = self.stub.DeltaAggregatedResources(self._requests())
            self._send(CLUSTER)
            self._send(LISTENER)
            async for response in call:
                t = response.type_url
                if t in self.refs:
                    refs = self.refs[t]
                    for res in response.resources:
                        refs[res.name] = self.names.of_resource(t, res)
                    for name in response.removed_resources:
                        refs.pop(name, None)
                if t == CLUSTER:
                    self._follow(CLUSTER, ENDPOINT)  # before the ACK, as Envoy does
                self._send(t, nonce=response.nonce)
                self.acked[t] = (response.system_version_info, time.monotonic())
                if t == LISTENER:
                    self._follow(LISTENER, ROUTE)
        except Exception as exc:  # reported, not raised: one broken stream must not hang others
            self.error = repr(exc)


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


def run_clients(port: int, count: int, mode: str = "sotw") -> None:
    import grpc
    from envoy.service.discovery.v3 import ads_pb2_grpc

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    names = _Names()
    envoys: list[SimEnvoy | DeltaSimEnvoy] = []
    factory = DeltaSimEnvoy if mode == "delta" else SimEnvoy
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        channels = [
            grpc.aio.insecure_channel(f"127.0.0.1:{port}")
            for _ in range((count + CLIENTS_PER_CHANNEL - 1) // CLIENTS_PER_CHANNEL)
        ]
        for i in range(count):
            stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channels[i // CLIENTS_PER_CHANNEL])
            envoy = factory(_node(i), stub, names)
            envoys.append(envoy)
            tasks.append(loop.create_task(envoy.run()))

    def check(expected: dict[str, list[str]]) -> dict[str, Any]:
        synced, last, errors = 0, 0.0, []
        for envoy in envoys:
            want = expected.get(envoy.node.id)
            if envoy.error:
                errors.append(envoy.error)
            if want is None:
                continue
            got = [envoy.acked.get(t) for t in TYPES]
            if all(g is not None and g[0] == w for g, w in zip(got, want, strict=True)):
                synced += 1
                last = max(last, *(g[1] for g in got if g is not None))
        return {"synced": synced, "last": last, "errors": errors[:3]}

    asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    print("STARTED", flush=True)
    for line in sys.stdin:
        if line.startswith("CHECK "):
            expected = json.loads(line[6:])

            async def do(expected: dict[str, list[str]] = expected) -> dict[str, Any]:
                return check(expected)

            print(json.dumps(asyncio.run_coroutine_threadsafe(do(), loop).result(60)), flush=True)
        elif line.startswith("QUIT"):
            break
    os._exit(0)


# --- the parent: orchestration -----------------------------------------------------------------
class _Child:
    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")

    def ask(self, command: str | None, timeout: float) -> str:
        if command is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.lines.get(timeout=timeout)
        if not line:
            raise RuntimeError("child process exited")
        return line

    def close(self) -> None:
        with contextlib.suppress(queue.Empty, RuntimeError, BrokenPipeError, OSError):
            self.ask("QUIT", 0.01)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _wait_synced(
    cp: _Child, clients: _Child, count: int, limit: float
) -> tuple[bool, dict[str, Any]]:
    deadline = time.monotonic() + limit
    while True:
        expected = cp.ask("EXPECT", limit)
        state = json.loads(clients.ask("CHECK " + expected.strip(), limit))
        if state["synced"] >= count or time.monotonic() > deadline:
            return state["synced"] >= count, state
        time.sleep(0.05)


def _sync_row(
    cp: _Child, clients: _Child, proxies: int, case: str, t_connect: float, label: str
) -> tuple[bool, Row]:
    ok, state = _wait_synced(cp, clients, proxies, SYNC_LIMIT_S)
    if ok:
        result = f"{state['last'] - t_connect:.2f} s"
    else:
        result = f"timeout ({state['synced']}/{proxies} after {SYNC_LIMIT_S:.0f} s)"
    if state.get("errors"):
        print(f"client errors: {state['errors']}", file=sys.stderr)
    return ok, (f"initial sync, {label} (connect to all ACKed)", case, result, "-")


def _change_row(
    cp: _Child, clients: _Child, proxies: int, case: str, change: str, mode: str
) -> tuple[bool, Row]:
    cp.ask("PROFILE on", 30)
    applied = json.loads(cp.ask(f"APPLY {change}", CHANGE_LIMIT_S + 10))
    ok, state = _wait_synced(cp, clients, proxies, CHANGE_LIMIT_S)
    cp.ask("PROFILE off", 30)
    if ok:
        result = f"{state['last'] - applied['t0']:.2f} s (push {applied['pushed']:.2f} s)"
    else:
        result = f"timeout ({state['synced']}/{proxies} after {CHANGE_LIMIT_S:.0f} s)"
    if state.get("errors"):
        print(f"client errors: {state['errors']}", file=sys.stderr)
    label = f"apply one-service change -> all ACKed: {CHANGES[change][0]}, {mode}"
    return ok, (label, case, result, f"< {TARGET_S} s")


def _memory_row(cp: _Child, case: str, label: str) -> Row:
    mem = json.loads(cp.ask("MEM", 30))
    print(f"{case}, {label}: control plane GC seconds by generation: {mem['gc']}", file=sys.stderr)
    return (
        f"control plane memory, {label}: RSS [peak] (live after trim)",
        case,
        f"{mem['rss']:.0f} MB [{mem['peak']:.0f} MB] ({mem['trimmed']:.0f} MB)",
        f"< {TARGET_MB} MB",
    )


def _wait_disconnected(cp: _Child, limit: float) -> None:
    deadline = time.monotonic() + limit
    while json.loads(cp.ask("EXPECT", limit)) and time.monotonic() < deadline:
        time.sleep(0.1)


def run_case(services: int, proxies: int) -> list[Row]:
    case = f"{services} services, {proxies} proxies"
    rows: list[Row] = []
    cp = _Child("--control-plane", str(services))
    clients: _Child | None = None
    try:
        port = int(cp.ask(None, 120).split()[1])
        for mode, changes in (("sotw", ("vs", "dr")), ("delta", ("dr2",))):
            t_connect = time.monotonic()
            clients = _Child("--clients", str(port), str(proxies), mode)
            clients.ask(None, 60)
            ok, row = _sync_row(cp, clients, proxies, case, t_connect, mode)
            rows.append(row)
            for change in changes if ok else ():
                ok, row = _change_row(cp, clients, proxies, case, change, mode)
                rows.append(row)
            rows.append(_memory_row(cp, case, mode))
            clients.close()
            clients = None
            _wait_disconnected(cp, 60)
    except (queue.Empty, RuntimeError) as exc:
        rows.append(("control plane benchmark", case, f"failed: {exc!r}", "-"))
    finally:
        if clients is not None:
            clients.close()
        cp.close()
    return rows


def run() -> list[Row]:
    wanted = os.environ.get("BENCH_CP_CASES")
    cases = CASES
    if wanted:
        cases = tuple((int(s), int(p)) for s, p in (c.split("x") for c in wanted.split(",") if c))
    rows: list[Row] = []
    for services, proxies in cases:
        rows.extend(run_case(services, proxies))
    return rows


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--control-plane":
        serve_control_plane(int(sys.argv[2]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "--clients":
        run_clients(
            int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "sotw"
        )
    else:
        for row in run():
            print("  ".join(row))
