"""The per-stream xDS protocol state machine for state of the world (SotW), without I/O.

In: requests Envoy sent (:meth:`SotwStream.on_request`) and new snapshots for the proxy
(:meth:`SotwStream.on_snapshot`). Out: the responses to send, in order (as
:class:`~sailmesh.ads.wire.SotwResponse`: a body shared by every stream sending the same
resources, plus this stream's nonce). The delta variant
lives in :mod:`sailmesh.ads.delta`; both share the push loop of :class:`StreamMachine`.

Rules (see DESIGN.md, "Envoy facts"):

* at most one unanswered response per type; a response is answered by an ACK or a NACK;
  requests carrying another nonce are stale and ignored;
* a NACK records Envoy's error and the rejected version, which is not sent again; only a
  newer snapshot is;
* make before break: listeners and routes wait while clusters or endpoints are unanswered;
  every cluster push is followed by an endpoints push, and an endpoints re-request is
  answered even when nothing changed;
* break after make: clusters (and endpoints) a new snapshot drops stay in what is sent until
  the listeners and routes of that snapshot are answered (they may be what the routes Envoy
  still runs point at: removing them first gives 503 ``NC``); then they are removed;
* endpoints go out incrementally, as Istio's do: SotW lets a response of a non-wildcard type
  carry only some of the subscribed names (Envoy updates those and keeps the others), so after
  a cluster or endpoint change a response carries the endpoints of the changed clusters and
  the changed endpoints only (one service of 1,000: 200 bytes, not 220 KB). A new stream, a
  re-request, a changed subscription, a NACK or a changed cluster that is no endpoints name
  get every subscribed name;
* a new stream starts from the version Envoy reports, so a reconnect to an unchanged
  snapshot sends nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, TypeVar

from envoy.service.discovery.v3 import discovery_pb2

from sailmesh.ads.resources import (
    CLUSTER,
    ENDPOINT,
    GATED_TYPES,
    PUSH_ORDER,
    WARMING_TYPES,
    WILDCARD_TYPES,
    ResourceSnapshot,
    TypeResources,
    changes_between,
    retaining,
)
from sailmesh.ads.status import StatusTracker
from sailmesh.ads.wire import NonceChooser, SharedBody, SotwResponse, sotw_body

Response = TypeVar("Response")
#: What a stream keeps per resource type it serves.
TypeState = TypeVar("TypeState")


class StreamMachine(ABC, Generic[Response, TypeState]):
    """The push loop shared by SotW and delta: per-type order and make-before-break gate."""

    def __init__(
        self, status: StatusTracker, nonce_prefix: str = "", *, shared_nonces: bool = False
    ) -> None:
        self.status = status
        self.snapshot: ResourceSnapshot | None = None
        #: What is sent while removals wait (break after make); None: the snapshot itself.
        self._sending: ResourceSnapshot | None = None
        #: Whether the last pump found the listeners and routes answered and up to date.
        self._settled = False
        self._nonce_prefix = nonce_prefix
        self._nonces = 0
        self._shared_nonces = shared_nonces
        self._choosers: dict[str, NonceChooser] = {}
        self._types: dict[str, TypeState] = {}

    def on_snapshot(self, snapshot: ResourceSnapshot) -> list[Response]:
        """A new snapshot for this proxy: the responses that bring Envoy up to it."""
        previous, self.snapshot = self.snapshot, snapshot
        if previous is not None:
            self._retain(self._sending or previous, snapshot)
        return self._pump()

    def _retain(self, held: ResourceSnapshot, snapshot: ResourceSnapshot) -> None:
        """Keep sending the clusters and endpoints of ``held`` (what Envoy's routes may still
        reference) that ``snapshot`` drops, until its listeners and routes are answered. With
        the same listeners and routes (and nothing kept already) removals go out at once."""
        routes_change = any(held.version(t) != snapshot.version(t) for t in GATED_TYPES)
        if not routes_change and self._sending is None:
            return
        kept = {}
        for type_url in WARMING_TYPES:
            view = retaining(held.of(type_url), snapshot.of(type_url))
            if view is not snapshot.of(type_url):
                kept[type_url] = view
        types = MappingProxyType({**snapshot.types, **kept}) if kept else None
        self._sending = ResourceSnapshot(types) if types is not None else None

    def _next_nonce(self) -> str:
        self._nonces += 1
        return f"{self._nonce_prefix}{self._nonces}"

    def _nonce_for(self, type_url: str, body: SharedBody) -> str:
        """The nonce of a response carrying ``body``: with ``shared_nonces``, the body's shared
        nonce when this stream may use it (so every stream sends the very same bytes), else
        (and for bodies older than one sent before) a nonce of the stream's own."""
        if self._shared_nonces:
            chooser = self._choosers.get(type_url)
            if chooser is None:
                chooser = self._choosers[type_url] = NonceChooser()
            nonce = chooser.choose(body)
            if nonce is not None:
                return nonce
        return self._next_nonce()

    def _pump(self) -> list[Response]:
        if self.snapshot is None:
            return []
        out = self._pump_once(self._sending or self.snapshot)
        if self._sending is not None and self._settled:
            self._sending = None  # the routes no longer need what was kept: remove it now
            out += self._pump_once(self.snapshot)
        return out

    def _pump_once(self, snapshot: ResourceSnapshot) -> list[Response]:
        out: list[Response] = []
        gate_closed = False
        settled = True
        for type_url in self._type_order():
            if not self._subscribed(type_url):
                continue
            gated = type_url in GATED_TYPES
            if not (gated and gate_closed) and not self._inflight(type_url):
                response = self._respond(type_url, snapshot)
                if response is not None:
                    out.append(response)
            if gated and (gate_closed or self._inflight(type_url)):
                settled = False
            if type_url in WARMING_TYPES and self._inflight(type_url):
                gate_closed = True
        self._settled = settled
        return out

    def _type_order(self) -> list[str]:
        extra = sorted(t for t in self._known_types() if t not in PUSH_ORDER)
        return [*PUSH_ORDER, *extra]

    def _known_types(self) -> list[str]:
        return list(self._types)

    def _subscribed(self, type_url: str) -> bool:
        return type_url in self._types

    @abstractmethod
    def _inflight(self, type_url: str) -> bool: ...

    @abstractmethod
    def _respond(self, type_url: str, snapshot: ResourceSnapshot) -> Response | None:
        """The response to send for ``type_url`` now, or None; records it as in flight."""


@dataclass
class _SotwType:
    wildcard: bool = False
    names: frozenset[str] = frozenset()
    #: The names of the last request with names, as a set and encoded (see :func:`_names`).
    names_seen: frozenset[str] = frozenset()
    names_key: bytes = b""
    acked_version: str = ""
    sent_version: str | None = None
    sent_names: frozenset[str] = frozenset()
    nonce: str | None = None
    inflight: bool = False
    nacked_version: str | None = None
    respond: bool = False
    #: What Envoy holds since its last ACK, and what the response in flight brings.
    held: TypeResources | None = None
    sending: TypeResources | None = None
    #: Endpoints: whether the next response must carry every subscribed name, and the
    #: clusters changed by cluster responses since the last endpoints response.
    full: bool = True
    rewarm: frozenset[str] = frozenset()


class SotwStream(StreamMachine[SotwResponse, _SotwType]):
    """State of the world: each response carries every (requested) resource of its type.

    With ``shared_nonces``, a response whose body is newer than every body this stream sent
    before carries the body's shared nonce (see :class:`~sailmesh.ads.wire.SharedBody`), so
    that its bytes are the same for every stream; otherwise, and for older bodies, the nonce is
    the stream's own (``<nonce_prefix><n>``).
    """

    def on_request(self, request: discovery_pb2.DiscoveryRequest) -> list[SotwResponse]:
        """A request from Envoy (initial, ACK, NACK, re-request or stale)."""
        type_url = request.type_url
        st = self._types.get(type_url)
        names = _names(request, st)
        wanted = names - {"*"} if "*" in names else names
        if st is None:
            st = self._types[type_url] = _SotwType()
            st.wildcard = type_url in WILDCARD_TYPES and (not names or "*" in names)
            st.names = wanted
            st.acked_version = request.version_info
            self.status.subscribed(type_url)
            return self._pump()
        if st.nonce is not None and request.response_nonce != st.nonce:
            return []  # stale: Envoy will answer the newer response with its current view
        if st.nonce is None:
            st.names, st.acked_version = wanted, request.version_info
            return self._pump()
        self._answer(type_url, st, request)
        if not st.wildcard and wanted is not st.sent_names and wanted != st.sent_names:
            st.respond = st.full = True
        st.names = wanted
        return self._pump()

    def _answer(
        self, type_url: str, st: _SotwType, request: discovery_pb2.DiscoveryRequest
    ) -> None:
        answered_before = not st.inflight
        st.inflight = False
        nonce = request.response_nonce
        if request.HasField("error_detail"):
            if not answered_before and st.sent_version is not None:
                st.nacked_version = st.sent_version
                message = request.error_detail.message
                self.status.nacked(type_url, st.sent_version, nonce, message)
            st.acked_version = request.version_info
            st.full = True  # what Envoy kept of the rejected response is not known
        elif answered_before:
            if type_url == ENDPOINT:
                # A re-request: Envoy is warming a cluster and waits.
                st.respond = st.full = True
        else:
            st.acked_version = request.version_info
            st.nacked_version = None
            st.held = st.sending
            self.status.acked(type_url, request.version_info, nonce)

    def _inflight(self, type_url: str) -> bool:
        st = self._types.get(type_url)
        return st is not None and st.inflight

    def _respond(self, type_url: str, snapshot: ResourceSnapshot) -> SotwResponse | None:
        st = self._types[type_url]
        desired = snapshot.of(type_url)
        version = desired.version
        changed = version != st.acked_version and version != st.nacked_version
        if not (st.respond or changed):
            if version == st.acked_version:
                self.status.in_sync(type_url, version)
            return None
        st.respond = False
        body = sotw_body(desired, self._names_to_send(type_url, st, desired))
        nonce = self._nonce_for(type_url, body)
        st.nonce, st.inflight, st.sent_version, st.sent_names = nonce, True, version, st.names
        st.sending, st.full, st.rewarm = desired, False, frozenset()
        self.status.sent(type_url, version, nonce)
        eds = self._types.get(ENDPOINT)
        if type_url == CLUSTER and eds is not None:
            eds.respond = True  # re-warming clusters wait for endpoints
            if st.held is None:
                eds.full = True
            else:
                eds.rewarm |= frozenset(changes_between(st.held, desired)[0])
        return SotwResponse(type_url=type_url, version_info=version, nonce=nonce, body=body)

    @staticmethod
    def _names_to_send(
        type_url: str, st: _SotwType, desired: TypeResources
    ) -> frozenset[str] | None:
        """The names a response carries: None for all (wildcard), the subscribed names, or for
        endpoints only those of changed clusters and changed endpoints (see the module doc)."""
        if st.wildcard:
            return None
        if type_url != ENDPOINT or st.full or st.held is None or not st.rewarm <= st.names:
            return st.names
        changed = [n for n in changes_between(st.held, desired)[0] if n in st.names]
        if not changed and not st.rewarm:
            return st.names
        return shared_names(st.rewarm.union(changed))


#: Name sets as streams hold them: equal sets (proxies with the same configuration subscribe
#: to the same names) are one object, not one per stream.
_NAME_SETS: dict[frozenset[str], frozenset[str]] = {}
_MAX_NAME_SETS = 1024


def shared_names(names: Iterable[str]) -> frozenset[str]:
    """``names`` as a set shared with every stream holding the same names.

    Besides memory, this keeps the garbage collector's full scans short: it visits every
    entry of every set it tracks, and 2,000 streams holding their own copy of 1,000 endpoint
    names made each full collection take a quarter of a second.
    """
    wanted = frozenset(names)
    found = _NAME_SETS.get(wanted)
    if found is None:
        if len(_NAME_SETS) >= _MAX_NAME_SETS:
            _NAME_SETS.clear()
        found = _NAME_SETS[wanted] = wanted
    return found


def _names(request: discovery_pb2.DiscoveryRequest, st: _SotwType | None) -> frozenset[str]:
    """``request.resource_names`` as a (shared) set. A request usually repeats the names of
    the one before (an ACK): that is recognised on their encoding, without making a Python
    string per name, and the set made for the earlier request is returned."""
    count = len(request.resource_names)
    if count == 0:
        return frozenset()
    key = b""
    if st is not None and count == len(st.names_seen):
        key = _names_key(request)
        if key == st.names_key:
            return st.names_seen
    found = shared_names(request.resource_names)
    if st is not None:
        st.names_key, st.names_seen = key or _names_key(request), found
    return found


def _names_key(request: discovery_pb2.DiscoveryRequest) -> bytes:
    """The encoding of ``resource_names`` and ``type_url`` (in C, no string per name)."""
    only = discovery_pb2.DiscoveryRequest()
    only.CopyFrom(request)
    for name in _NOT_NAMES:
        only.ClearField(name)
    key: bytes = only.SerializeToString()
    return key


_NOT_NAMES = tuple(
    f.name
    for f in discovery_pb2.DiscoveryRequest.DESCRIPTOR.fields
    if f.name not in ("resource_names", "type_url")
)
