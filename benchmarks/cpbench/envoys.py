"""The simulated Envoys: ADS streams (SotW and delta) that subscribe and ACK like Envoy, and
the :class:`Sync` tracker of which of them hold what the control plane wants them to."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from cpbench.heads import Names
from cpbench.settings import CLUSTER, ENDPOINT, LISTENER, ROUTE, TYPES


class Sync:
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


class _SimBase:
    """What both simulated Envoys share: the node, the stub, the request queue the stream
    reads, and the versions ACKed per type (with when)."""

    def __init__(self, node: Any, stub: Any, names: Names, sync: Sync) -> None:
        self.node = node
        self.stub = stub
        self.names = names
        self.sync = sync
        self.out: asyncio.Queue[Any] = asyncio.Queue()
        self.acked: dict[str, tuple[str, float]] = {}
        self.error: str | None = None

    async def _requests(self) -> AsyncIterator[Any]:
        while (item := await self.out.get()) is not None:
            yield item

    def _acked(self, type_url: str, version: str) -> None:
        self.acked[type_url] = (version, time.monotonic())
        self.sync.acked(self)

    async def run(self) -> None:
        try:
            await self._stream()
        except Exception as exc:  # reported, not raised: one broken stream must not hang others
            self.error = repr(exc)

    async def _stream(self) -> None:
        raise NotImplementedError


class SimEnvoy(_SimBase):
    """One simulated Envoy: a SotW ADS stream that subscribes and ACKs like Envoy does."""

    def __init__(self, node: Any, stub: Any, names: Names, sync: Sync) -> None:
        super().__init__(node, stub, names, sync)
        self.nonce: dict[str, str] = {}
        self.subscribed: dict[str, tuple[str, ...]] = {}

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

    async def _stream(self) -> None:
        call = self.stub.StreamAggregatedResources(self._requests())
        self._send(CLUSTER, first=True)
        self._send(LISTENER)
        async for response in call:
            t = response.type_url
            self.nonce[t] = response.nonce
            if t == CLUSTER:
                self._follow(ENDPOINT, self.names.of(response))
            self._send(t, response.version_info, response.nonce)
            self._acked(t, response.version_info)
            if t == LISTENER:
                self._follow(ROUTE, self.names.of(response))


class DeltaSimEnvoy(_SimBase):
    """One simulated Envoy on a delta (incremental) ADS stream: CDS and LDS as wildcards, EDS
    and RDS by the names the clusters and listeners it holds reference, ACK by nonce."""

    def __init__(self, node: Any, stub: Any, names: Names, sync: Sync) -> None:
        super().__init__(node, stub, names, sync)
        self.refs: dict[str, dict[str, tuple[str, ...]]] = {CLUSTER: {}, LISTENER: {}}
        #: How many held resources reference each EDS/RDS name (kept up to date per resource,
        #: so a response with two changed clusters costs two updates, not a scan of them all).
        self.counts: dict[str, dict[str, int]] = {ENDPOINT: {}, ROUTE: {}}

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

    async def _stream(self) -> None:
        call = self.stub.DeltaAggregatedResources(self._requests())
        self._send(CLUSTER)
        self._send(LISTENER)
        async for response in call:
            t = response.type_url
            if t == CLUSTER:
                self._hold(response, ENDPOINT)  # before the ACK, as Envoy does
            self._send(t, nonce=response.nonce)
            self._acked(t, response.system_version_info)
            if t == LISTENER:
                self._hold(response, ROUTE)
