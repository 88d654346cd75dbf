"""The gRPC ADS server (``grpc.aio``): StreamAggregatedResources and DeltaAggregatedResources,
and the same two streams under the SecretDiscoveryService names (StreamSecrets, DeltaSecrets).

Each stream reads Envoy's requests into a queue, together with "new snapshot" wake-ups from
the :class:`~sailmesh.ads.cache.SnapshotCache`, feeds them to a sans-I/O state machine
(:class:`~sailmesh.ads.stream.SotwStream` or :class:`~sailmesh.ads.delta.DeltaStream`) and
writes the responses it returns. :meth:`AdsServer.proxy_status` reports every connected
stream's sync status.

SDS is the same protocol as ADS restricted to one type (same DiscoveryRequest/Response, same
ACK/NACK and nonces; Envoy subscribes to secrets by name), so the server registers both
services over one state machine rather than a second implementation: a node agent serves its
pod's secrets with an :class:`AdsServer` over a
:class:`~sailmesh.ads.cache.SharedSnapshotCache` on a Unix socket (``start(None, path)``).

Other gRPC services the proxies reach over the same connection (the control plane's OTLP trace
receiver) are handed in as ``services``: name -> method handlers; this module does not know
them.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

import grpc
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

from sailmesh.ads.cache import SnapshotCache
from sailmesh.ads.delta import DeltaStream
from sailmesh.ads.status import ProxyStatus, StatusTracker, StreamObserver
from sailmesh.ads.stream import SotwStream
from sailmesh.ads.wire import encode, encoded_size
from sailmesh.clock import SYSTEM_CLOCK, Clock
from sailmesh.errors import AdsError

_EOF = object()
_WAKE = object()


class _Machine(Protocol):
    status: StatusTracker

    def on_request(self, request: Any) -> list[Any]: ...

    def on_snapshot(self, snapshot: Any) -> list[Any]: ...


NodeHook = Callable[[Any], None]
"""Called with Envoy's ``Node`` message when a stream opens or closes."""


class _Servicer(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):  # type: ignore[misc]
    def __init__(
        self,
        cache: SnapshotCache,
        clock: Clock,
        on_connect: NodeHook | None = None,
        on_disconnect: NodeHook | None = None,
        send_budget: int = 0,
        observer: StreamObserver | None = None,
    ) -> None:
        self._cache = cache
        self._clock = clock
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._observer = observer
        self.trackers: dict[str, StatusTracker] = {}
        self._budget = SendBudget(send_budget)

    async def StreamAggregatedResources(
        self, request_iterator: AsyncIterator[Any], context: Any
    ) -> AsyncIterator[Any]:
        async for response in self._serve(request_iterator, "sotw", _sotw_stream):
            yield response

    async def DeltaAggregatedResources(
        self, request_iterator: AsyncIterator[Any], context: Any
    ) -> AsyncIterator[Any]:
        async for response in self._serve(request_iterator, "delta", _delta_stream):
            yield response

    async def _serve(
        self,
        requests: AsyncIterator[Any],
        mode: str,
        factory: Callable[[StatusTracker, str], _Machine],
    ) -> AsyncIterator[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        reader = asyncio.create_task(_read(requests, queue))
        machine: _Machine | None = None
        cancel_watch: Callable[[], None] | None = None
        waker = _Waker(queue)
        try:
            while (item := await queue.get()) is not _EOF:
                if item is _WAKE:
                    assert machine is not None
                    waker.queued = False
                    snapshot = self._cache.get(machine.status.node_id)
                    responses = machine.on_snapshot(snapshot) if snapshot else []
                else:
                    if machine is None:
                        node = item.node
                        if self._on_connect is not None:
                            self._on_connect(node)
                        machine = self._open(item.node.id, mode, factory)
                        cancel_watch = self._cache.watch(item.node.id, waker.wake)
                    responses = machine.on_request(item)
                # Popped as sent: nothing sent stays referenced while the stream waits.
                responses.reverse()
                while responses:
                    response = responses.pop()
                    size = encoded_size(response)
                    await self._budget.acquire(size)
                    try:
                        yield response
                    except BaseException:
                        self._send_failed(response)
                        raise
                    finally:
                        self._budget.release(size)
                    del response
                item = None
        finally:
            if cancel_watch is not None:
                cancel_watch()
            reader.cancel()
            if machine is not None:
                self.trackers.pop(machine.status.stream_id, None)
                if self._on_disconnect is not None:
                    self._on_disconnect(node)

    def _send_failed(self, response: Any) -> None:
        type_url = getattr(response, "type_url", "")
        if self._observer is not None and type_url:
            self._observer.send_failed(type_url)

    def _open(
        self, node_id: str, mode: str, factory: Callable[[StatusTracker, str], _Machine]
    ) -> _Machine:
        token = secrets.token_hex(4)
        stream_id = f"{node_id}/{token}"
        tracker = StatusTracker(node_id, stream_id, mode, self._clock, self._observer)
        machine = factory(tracker, f"{token}-")
        self.trackers[stream_id] = tracker
        snapshot = self._cache.get(node_id)
        if snapshot is not None:
            machine.on_snapshot(snapshot)  # nothing is subscribed yet: no output
        return machine


def _sotw_stream(status: StatusTracker, nonce_prefix: str) -> SotwStream:
    return SotwStream(status, nonce_prefix, shared_nonces=True)


def _delta_stream(status: StatusTracker, nonce_prefix: str) -> DeltaStream:
    return DeltaStream(status, nonce_prefix, shared_nonces=True)


#: Default bound on response bytes in flight (see :class:`SendBudget`).
DEFAULT_SEND_BUDGET = 128 * 1024 * 1024


class SendBudget:
    """Bytes of responses being sent, over all streams, kept under ``limit`` (0: no limit).

    gRPC copies every response into buffers of its own until the proxy has read it, so
    sending a 600 KB route table to 2,000 proxies at once held over a gigabyte. A stream waits
    here before a send that would go over the limit (a response larger than the limit is sent
    alone), in the order the streams asked.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._waiters: collections.deque[tuple[int, asyncio.Future[None]]] = collections.deque()

    async def acquire(self, size: int) -> None:
        if not self.limit:
            return
        if self._waiters or not self._fits(size):
            future = asyncio.get_running_loop().create_future()
            self._waiters.append((size, future))
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self.release(size)  # admitted just as the stream went away
                else:
                    self._waiters = collections.deque(
                        w for w in self._waiters if w[1] is not future
                    )
                    self._admit()
                raise
            return
        self.in_flight += size

    def release(self, size: int) -> None:
        if not self.limit:
            return
        self.in_flight -= size
        self._admit()

    def _fits(self, size: int) -> bool:
        return self.in_flight == 0 or self.in_flight + size <= self.limit

    def _admit(self) -> None:
        while self._waiters and self._fits(self._waiters[0][0]):
            size, future = self._waiters.popleft()
            if not future.done():
                self.in_flight += size
                future.set_result(None)


class _Waker:
    """Wakes one stream for a new snapshot: one wake-up queued at most (the stream reads the
    latest snapshot when it gets to it), put directly when set on the stream's own loop."""

    __slots__ = ("_loop", "_queue", "_thread", "queued")

    def __init__(self, queue: asyncio.Queue[Any]) -> None:
        self._queue = queue
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self.queued = False

    def wake(self) -> None:
        if threading.get_ident() == self._thread:
            self._deliver()
        else:
            self._loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        if not self.queued:
            self.queued = True
            self._queue.put_nowait(_WAKE)


async def _read(requests: AsyncIterator[Any], queue: asyncio.Queue[Any]) -> None:
    try:
        async for request in requests:
            queue.put_nowait(request)
            del request  # not kept while waiting for the next one
    except (asyncio.CancelledError, grpc.RpcError):
        pass
    finally:
        queue.put_nowait(_EOF)


_SERVICE = "envoy.service.discovery.v3.AggregatedDiscoveryService"
_SDS_SERVICE = "envoy.service.secret.v3.SecretDiscoveryService"

#: gRPC core queues new streams until the (single-threaded) asyncio server asks for them; past
#: ``max_pending_requests`` (default 1,000) it refuses them at random (RESOURCE_EXHAUSTED, which
#: grpc.aio clients then report as INTERNAL "Failed execute_batch: SendMessageOperation" when
#: their next write fails), and it cancels those waiting more than 30 s. A burst of Envoys
#: connecting at once (a control-plane restart) must all be served, however late.
SERVER_OPTIONS: list[tuple[str, int]] = [
    ("grpc.so_reuseport", 0),
    ("grpc.server.max_pending_requests", 100_000),
    ("grpc.server.max_pending_requests_hard_limit", 100_000),
    ("grpc.server_max_unrequested_time_in_server", 3600),
]


def _add_handlers(servicer: _Servicer, server: Any) -> None:
    """Register the ADS methods like the generated ``add_..._to_server``, but with a response
    serializer that sends the state machines' pre-encoded responses (:mod:`sailmesh.ads.wire`)."""
    handlers = {
        "StreamAggregatedResources": grpc.stream_stream_rpc_method_handler(
            servicer.StreamAggregatedResources,
            request_deserializer=discovery_pb2.DiscoveryRequest.FromString,
            response_serializer=encode,
        ),
        "DeltaAggregatedResources": grpc.stream_stream_rpc_method_handler(
            servicer.DeltaAggregatedResources,
            request_deserializer=discovery_pb2.DeltaDiscoveryRequest.FromString,
            response_serializer=encode,
        ),
    }
    sds = {
        "StreamSecrets": handlers["StreamAggregatedResources"],
        "DeltaSecrets": handlers["DeltaAggregatedResources"],
    }
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(_SERVICE, handlers),
            grpc.method_handlers_generic_handler(_SDS_SERVICE, sds),
        )
    )
    server.add_registered_method_handlers(_SERVICE, handlers)
    server.add_registered_method_handlers(_SDS_SERVICE, sds)


class AdsServer:
    """A grpc.aio ADS server serving the snapshots of a :class:`SnapshotCache`."""

    def __init__(
        self,
        cache: SnapshotCache,
        *,
        clock: Clock | None = None,
        on_connect: NodeHook | None = None,
        on_disconnect: NodeHook | None = None,
        send_budget: int = DEFAULT_SEND_BUDGET,
        observer: StreamObserver | None = None,
        services: Mapping[str, Mapping[str, grpc.RpcMethodHandler]] | None = None,
    ) -> None:
        """``on_connect(node)`` runs when a stream opens, before its first request is answered:
        the place to compute and set the node's snapshot. ``send_budget``: bytes of responses
        in flight over all streams (see :class:`SendBudget`; 0: no limit). ``observer`` hears
        of every stream's sends, ACKs and NACKs. ``services``: more gRPC services (full name
        -> method name -> handler) served alongside ADS."""
        self.cache = cache
        self._servicer = _Servicer(
            cache, clock or SYSTEM_CLOCK, on_connect, on_disconnect, send_budget, observer
        )
        self._services = dict(services or {})
        self._server: Any = None
        self.port: int | None = None
        self.unix_path: str | None = None

    async def start(self, address: str | None = "127.0.0.1:0", unix_path: str | None = None) -> int:
        """Listen on ``host:port`` (port 0 picks one; None: no TCP) and optionally a Unix
        socket; the TCP port (0 without one)."""
        server = grpc.aio.server(options=SERVER_OPTIONS)
        _add_handlers(self._servicer, server)
        for name, methods in self._services.items():
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, methods),))
        port = 0
        try:
            if address is not None:
                port = server.add_insecure_port(address)
            if unix_path is not None:
                server.add_insecure_port(f"unix:{unix_path}")
        except RuntimeError as exc:
            raise AdsError(f"cannot listen on {address or unix_path}: {exc}") from exc
        if address is not None and port == 0:
            raise AdsError(f"cannot listen on {address}")
        await server.start()
        self._server, self.port, self.unix_path = server, port, unix_path
        return int(port)

    async def stop(self, grace: float | None = 0.5) -> None:
        """Stop listening and end every stream (Envoy keeps its config and reconnects)."""
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None

    def proxy_status(self) -> list[ProxyStatus]:
        """The sync status of every connected stream, against the node's current snapshot."""
        trackers = list(self._servicer.trackers.values())
        views = [t.view(self.cache.get(t.node_id)) for t in trackers]
        return sorted(views, key=lambda v: (v.node_id, v.connected_at))
