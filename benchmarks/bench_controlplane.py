"""Control plane push latency and memory with many connected proxies.

For (services, proxies) = (1000, 100), (1000, 1000), (1000, 2000): a real
:class:`~sailmesh.controlplane.server.ControlPlane` is started in a child process with N
Kubernetes Services (one WorkloadEntry endpoint each; every tenth service also has a
DestinationRule with subsets and a VirtualService). A second child process opens M simulated
Envoys: grpc.aio ADS streams (over several channels) that subscribe to CDS and LDS as
wildcards, to EDS and RDS by the names found in them, and ACK every response with its
version and nonce, like Envoy. Proxies are all in namespace ``default`` with eight label
sets (``app: svc-0`` .. ``svc-7``), so some are selected by services (inbound listeners).

Measured: the time until every proxy has ACKed the configuration it was given after connecting
(initial sync), and the time from ``apply`` of a one-service change to every proxy having ACKed
the versions the control plane computed for it (in brackets: when the push had computed every
proxy's snapshot, the 100 ms debounce included), for two changes:

- ``VirtualService``: a new VirtualService with a retry policy for one service. It changes the
  route config ``"8080"`` (one virtual host per service, ~500 KB for 1,000 services), which
  every proxy gets again as a whole, in SotW and in delta alike (Istio names route configs by
  port): 1.0 GB for 2,000 proxies;
- ``DestinationRule``: a connection pool added to the DestinationRule of one service. Only that
  service's clusters change; with delta xDS a proxy gets just those clusters and their
  endpoints (a few hundred bytes), with SotW every cluster again (320 KB) and those clusters'
  endpoints.

First with state-of-the-world clients, then (after they leave) as many delta
(``DeltaAggregatedResources``) clients: delta is the protocol Istio's sidecars use since 1.22
and sailmesh's too (``runtime.proxyconfig``), so the target applies to it. Times use
``CLOCK_MONOTONIC``, which is shared by the processes. ``BENCH_CP_MODES=delta`` (or ``sotw``)
runs one protocol only, ``BENCH_CP_CHANGES=dr2`` (names of :data:`CHANGE_LABELS`) some changes only.
``BENCH_CP_PROFILE=<file>`` writes a cProfile of the control plane's
loop thread during the changes (from each apply until all ACKed),
``BENCH_CP_CLIENT_PROFILE=<file>`` one of the simulated clients' loop thread.

Memory is the control plane process's RSS (peak RSS in brackets); the simulated clients live
in the other process, so their memory and CPU are not counted. This machine has two cores for
both processes: the clients' CPU time during each change is printed (stderr) because past some
size they, not the control plane, set the pace. A simulated client therefore does no more work
than it must: a SotW client parses the resources of a version once (:class:`_Head`), a delta
client parses only the clusters and listeners it follows references in (:class:`_DeltaHead`)
and updates its subscriptions per changed resource, and their malloc keeps large buffers.

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


def vs_change_yaml(name: str) -> str:
    """A new VirtualService for ``name`` (one without) with a timeout and a retry policy."""
    return (
        f"apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
        f"metadata: {{name: {name}, namespace: default}}\n"
        f"spec:\n  hosts: [{name}]\n  http:\n  - timeout: 3s\n"
        f"    retries: {{attempts: 2, perTryTimeout: 1s}}\n"
        f"    route: [{{destination: {{host: {name}}}}}]\n"
    )


def dr_change_yaml(name: str) -> str:
    """The DestinationRule of ``name`` (one the mesh has) with a connection pool added."""
    return (
        f"apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
        f"metadata: {{name: {name}, namespace: default}}\n"
        f"spec:\n  host: {name}\n"
        f"  trafficPolicy: {{connectionPool: {{tcp: {{maxConnections: 100}}}}}}\n"
        f"  subsets: [{{name: v1, labels: {{version: v1}}}}]\n"
    )


VS_LABEL = "VirtualService (routes of all services resent)"
DR_LABEL = "DestinationRule (one service's clusters)"
#: The changes, by the name the parent sends, and what the table calls them.
CHANGE_LABELS = {"vs": VS_LABEL, "vs2": VS_LABEL, "dr": DR_LABEL, "dr2": DR_LABEL}


def change_yaml(name: str, services: int) -> str:
    """The YAML of change ``name`` in a mesh of ``services`` (at least 20): VirtualServices for
    two services in the middle of the mesh that have none, connection pools for the
    DestinationRules of two that have one (every tenth service)."""
    ruled = services // 2 // 10 * 10
    target = {"vs": ruled + 1, "vs2": ruled + 2, "dr": ruled, "dr2": ruled - 10}[name]
    make = vs_change_yaml if name.startswith("vs") else dr_change_yaml
    return make(f"svc-{target}")


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
            change = change_yaml(cmd[1], services)
            before = on_loop(lambda: cp.pushes)
            t0 = time.monotonic()
            on_loop(lambda change=change: cp.apply_yaml(change, "change.yaml", "default"))
            deadline = t0 + CHANGE_LIMIT_S
            while on_loop(lambda: cp.pushes) == before and time.monotonic() < deadline:
                time.sleep(0.005)
            push = on_loop(lambda: cp.last_push)
            pushed = push.finished - t0 if push is not None else float("nan")
            print(json.dumps({"t0": t0, "pushed": pushed}), flush=True)
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
        from envoy.service.discovery.v3 import discovery_pb2

        names: set[str] = set()
        whole = discovery_pb2.DiscoveryResponse.FromString(response.data)
        for res in whole.resources:
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


class _Sync:
    """Which simulated Envoys hold the versions the control plane wants them to: checked for
    one Envoy as it ACKs, so that watching 2,000 of them costs the clients' loop nothing."""

    def __init__(self) -> None:
        self.expected: dict[str, list[str]] = {}
        self.reached: dict[str, float] = {}

    def want(self, expected: dict[str, list[str]], envoys: list[Any]) -> None:
        self.expected, self.reached = expected, {}
        for envoy in envoys:
            self.acked(envoy)

    def acked(self, envoy: Any) -> None:
        want = self.expected.get(envoy.node.id)
        if want is None or envoy.node.id in self.reached:
            return
        got = [envoy.acked.get(t) for t in TYPES]
        if all(g is not None and g[0] == w for g, w in zip(got, want, strict=True)):
            self.reached[envoy.node.id] = max(g[1] for g in got if g is not None)


#: Past this many top-level fields, :func:`head_fields` leaves the walk to upb.
_WALK_FIELDS = 8


def _walk_head(data: bytes) -> dict[int, str] | None:
    """The top-level string fields 1, 4 and 5 of an encoded (Delta)DiscoveryResponse, read by
    a walk over its fields that skips the others without copying them (one 500 KB route
    table: 2 us, where upb copies it as an unknown field: 50 us); None past
    :data:`_WALK_FIELDS` fields (a response with many resources, where upb's loop is faster)."""
    out: dict[int, str] = {}
    view, pos, end, seen = memoryview(data), 0, len(data), 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    while pos < end:
        seen += 1
        if seen > _WALK_FIELDS:
            return None
        key = varint()
        number, kind = key >> 3, key & 7
        if kind == 2:
            size = varint()
            if number in (1, 4, 5):
                out[number] = str(view[pos : pos + size], "utf-8")
            pos += size
        elif kind == 0:
            varint()
        else:
            pos += 8 if kind == 1 else 4  # fixed64 / fixed32 (none in these messages)
    return out


_head_message: Any = None


def head_fields(data: bytes) -> tuple[str, str, str]:
    """``(version, type_url, nonce)`` of an encoded DiscoveryResponse or DeltaDiscoveryResponse
    (fields 1, 4 and 5 of both), without parsing the resources."""
    fields = _walk_head(data)
    if fields is not None:
        return fields.get(1, ""), fields.get(4, ""), fields.get(5, "")
    head = _head_message_class().FromString(data)
    return head.version_info, head.type_url, head.nonce


def _head_message_class() -> Any:
    """A message with fields 1, 4 and 5 only (the resources, field 2, are skipped by the
    parser as unknown)."""
    global _head_message
    if _head_message is None:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        proto = descriptor_pb2.FileDescriptorProto(
            name="bench_head.proto", package="bench", syntax="proto3"
        )
        message = proto.message_type.add(name="Head")
        for name, number in (("version_info", 1), ("type_url", 4), ("nonce", 5)):
            message.field.add(
                name=name,
                number=number,
                type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
            )
        pool = descriptor_pool.DescriptorPool()
        pool.Add(proto)
        _head_message = message_factory.GetMessageClass(pool.FindMessageTypeByName("bench.Head"))
    return _head_message


class _Head:
    """A SotW ``DiscoveryResponse`` as the simulated Envoy reads it: ``version_info``,
    ``type_url`` and ``nonce`` read (:func:`head_fields`), the resources kept as received
    (``data``) and parsed only the first time a version is seen (:class:`_Names`). A real
    Envoy parses everything, in its own process; 2,000 simulated ones parsing 500 KB responses
    on one core would measure the simulation, not the control plane."""

    __slots__ = ("data", "nonce", "type_url", "version_info")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.version_info, self.type_url, self.nonce = head_fields(data)


class _DeltaHead:
    """A ``DeltaDiscoveryResponse`` as the simulated Envoy reads it: ``system_version_info``,
    ``type_url`` and ``nonce`` read at once (:func:`head_fields`), the resources parsed only
    when asked for (:attr:`resources`: the clusters and listeners whose references the client
    follows). A route table of 1,000 services (500 KB) is only ACKed, so 2,000 clients do not
    parse it 2,000 times on the one core they share."""

    __slots__ = ("_full", "data", "nonce", "system_version_info", "type_url")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.system_version_info, self.type_url, self.nonce = head_fields(data)
        self._full: Any = None

    def _parsed(self) -> Any:
        if self._full is None:
            from envoy.service.discovery.v3 import discovery_pb2

            self._full = discovery_pb2.DeltaDiscoveryResponse.FromString(self.data)
        return self._full

    @property
    def resources(self) -> Any:
        return self._parsed().resources

    @property
    def removed_resources(self) -> Any:
        return self._parsed().removed_resources


class SimEnvoy:
    """One simulated Envoy: a SotW ADS stream that subscribes and ACKs like Envoy does."""

    def __init__(self, node: Any, stub: Any, names: _Names, sync: _Sync) -> None:
        self.node = node
        self.stub = stub
        self.names = names
        self.sync = sync
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
        have = self.subscribed.get(type_url)
        if have is wanted or have == wanted:
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
                self.sync.acked(self)
                if t == LISTENER:
                    self._follow(ROUTE, self.names.of(response))
        except Exception as exc:  # reported, not raised: one broken stream must not hang others
            self.error = repr(exc)


class DeltaSimEnvoy:
    """One simulated Envoy on a delta (incremental) ADS stream: CDS and LDS as wildcards, EDS
    and RDS by the names the clusters and listeners it holds reference, ACK by nonce."""

    def __init__(self, node: Any, stub: Any, names: _Names, sync: _Sync) -> None:
        self.node = node
        self.stub = stub
        self.names = names
        self.sync = sync
        self.out: asyncio.Queue[Any] = asyncio.Queue()
        self.acked: dict[str, tuple[str, float]] = {}
        self.refs: dict[str, dict[str, tuple[str, ...]]] = {CLUSTER: {}, LISTENER: {}}
        #: How many held resources reference each EDS/RDS name (kept up to date per resource,
        #: so a response with two changed clusters costs two updates, not a scan of them all).
        self.counts: dict[str, dict[str, int]] = {ENDPOINT: {}, ROUTE: {}}
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

    def _hold(self, response: Any, target: str) -> None:
        """Take the response's resources and removals; (un)subscribe ``target`` names that
        gained their first or lost their last reference."""
        t = response.type_url
        refs, counts = self.refs[t], self.counts[target]
        held_before: dict[str, bool] = {}  # names whose count changed: were they held?

        def count(names: tuple[str, ...], step: int) -> None:
            for n in names:
                held_before.setdefault(n, n in counts)
                counts[n] = counts.get(n, 0) + step
                if not counts[n]:
                    del counts[n]

        for res in response.resources:
            new = self.names.of_resource(t, res)
            old = refs.get(res.name, ())
            if new != old:
                refs[res.name] = new
                count(new, 1)
                count(old, -1)
        for name in response.removed_resources:
            count(refs.pop(name, ()), -1)
        sub = [n for n, held in held_before.items() if not held and n in counts]
        unsub = [n for n, held in held_before.items() if held and n not in counts]
        if sub or unsub:
            self._send(target, sub=sub, unsub=unsub)

    async def run(self) -> None:
        try:
            call = self.stub.DeltaAggregatedResources(self._requests())
            self._send(CLUSTER)
            self._send(LISTENER)
            async for response in call:
                t = response.type_url
                if t == CLUSTER:
                    self._hold(response, ENDPOINT)  # before the ACK, as Envoy does
                self._send(t, nonce=response.nonce)
                self.acked[t] = (response.system_version_info, time.monotonic())
                self.sync.acked(self)
                if t == LISTENER:
                    self._hold(response, ROUTE)
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


def _stub(channel: Any) -> Any:
    """The ADS stub, with SotW responses read as :class:`_Head`, delta ones as
    :class:`_DeltaHead`."""
    from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

    stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
    service = "/envoy.service.discovery.v3.AggregatedDiscoveryService/"
    stub.StreamAggregatedResources = channel.stream_stream(
        service + "StreamAggregatedResources",
        request_serializer=discovery_pb2.DiscoveryRequest.SerializeToString,
        response_deserializer=_Head,
    )
    stub.DeltaAggregatedResources = channel.stream_stream(
        service + "DeltaAggregatedResources",
        request_serializer=discovery_pb2.DeltaDiscoveryRequest.SerializeToString,
        response_deserializer=_DeltaHead,
    )
    return stub


def run_clients(port: int, count: int, mode: str = "sotw") -> None:
    import grpc

    from sailmesh.controlplane.tuning import tune_malloc

    tune_malloc()  # like the control plane: 600 KB responses would each be mapped afresh

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    names = _Names()
    sync = _Sync()
    envoys: list[SimEnvoy | DeltaSimEnvoy] = []
    factory = DeltaSimEnvoy if mode == "delta" else SimEnvoy
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        channels = [
            grpc.aio.insecure_channel(f"127.0.0.1:{port}")
            for _ in range((count + CLIENTS_PER_CHANNEL - 1) // CLIENTS_PER_CHANNEL)
        ]
        for i in range(count):
            stub = _stub(channels[i // CLIENTS_PER_CHANNEL])
            envoy = factory(_node(i), stub, names, sync)
            envoys.append(envoy)
            tasks.append(loop.create_task(envoy.run()))

    def status() -> dict[str, Any]:
        errors = [envoy.error for envoy in envoys if envoy.error]
        last = max(sync.reached.values(), default=0.0)
        cpu = time.process_time()
        return {"synced": len(sync.reached), "last": last, "errors": errors[:3], "cpu": cpu}

    asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    profile = None
    if os.environ.get("BENCH_CP_CLIENT_PROFILE"):  # a cProfile of the clients' loop thread
        import cProfile

        profile = cProfile.Profile()
    print("STARTED", flush=True)
    for line in sys.stdin:
        if line.startswith("PROFILE "):
            if profile is not None:
                switch = profile.enable if line.split()[1] == "on" else profile.disable

                async def flip(switch: Any = switch) -> None:
                    switch()

                asyncio.run_coroutine_threadsafe(flip(), loop).result(60)
            print("OK", flush=True)
        elif line.startswith(("WANT ", "STATUS")):
            expected = json.loads(line[5:]) if line.startswith("WANT ") else None

            async def do(expected: dict[str, list[str]] | None = expected) -> dict[str, Any]:
                if expected is not None:
                    sync.want(expected, envoys)
                return status()

            print(json.dumps(asyncio.run_coroutine_threadsafe(do(), loop).result(60)), flush=True)
        elif line.startswith("QUIT"):
            break
    if profile is not None:
        profile.dump_stats(os.environ["BENCH_CP_CLIENT_PROFILE"])
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
    """Wait until ``count`` clients hold what the control plane computed for them. The
    expected versions are asked for once a second (proxies still connecting get theirs
    meanwhile); in between only the clients' count is read."""
    deadline = time.monotonic() + limit
    asked = 0.0
    while True:
        if time.monotonic() - asked >= 1.0:
            asked = time.monotonic()
            expected = cp.ask("EXPECT", limit)
            state = json.loads(clients.ask("WANT " + expected.strip(), limit))
        else:
            state = json.loads(clients.ask("STATUS", limit))
        if state["synced"] >= count or time.monotonic() > deadline:
            return state["synced"] >= count, state
        time.sleep(0.02)


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
    clients.ask("PROFILE on", 30)
    cpu_before = json.loads(clients.ask("STATUS", 30))["cpu"]
    applied = json.loads(cp.ask(f"APPLY {change}", CHANGE_LIMIT_S + 10))
    ok, state = _wait_synced(cp, clients, proxies, CHANGE_LIMIT_S)
    cp.ask("PROFILE off", 30)
    clients.ask("PROFILE off", 30)
    print(
        f"{case}, {change} ({mode}): simulated clients' CPU {state['cpu'] - cpu_before:.2f} s",
        file=sys.stderr,
    )
    if ok and state["last"] < applied["t0"]:
        result = "not measured: no proxy was sent a new version"
    elif ok:
        result = f"{state['last'] - applied['t0']:.2f} s (push {applied['pushed']:.2f} s)"
    else:
        result = f"timeout ({state['synced']}/{proxies} after {CHANGE_LIMIT_S:.0f} s)"
    if state.get("errors"):
        print(f"client errors: {state['errors']}", file=sys.stderr)
    label = f"apply one-service change -> all ACKed: {CHANGE_LABELS[change]}, {mode}"
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
        modes = os.environ.get("BENCH_CP_MODES", "sotw,delta").split(",")
        plan = (("sotw", ("vs", "dr")), ("delta", ("vs2", "dr2")))
        only = os.environ.get("BENCH_CP_CHANGES")
        for mode, all_changes in [(m, c) for m, c in plan if m in modes]:
            changes = [c for c in all_changes if not only or c in only.split(",")]
            t_connect = time.monotonic()
            clients = _Child("--clients", str(port), str(proxies), mode)
            clients.ask(None, 60)
            ok, row = _sync_row(cp, clients, proxies, case, t_connect, mode)
            rows.append(row)
            mem = json.loads(cp.ask("MEM", 30))
            print(
                f"{case}, {mode}: peak RSS by the end of the initial sync {mem['peak']:.0f} MB",
                file=sys.stderr,
            )
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
