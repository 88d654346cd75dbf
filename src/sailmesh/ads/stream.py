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
* a new stream starts from the version Envoy reports, so a reconnect to an unchanged
  snapshot sends nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
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
)
from sailmesh.ads.status import StatusTracker
from sailmesh.ads.wire import SotwResponse, sotw_body

Response = TypeVar("Response")


class StreamMachine(ABC, Generic[Response]):
    """The push loop shared by SotW and delta: per-type order and make-before-break gate."""

    def __init__(self, status: StatusTracker, nonce_prefix: str = "") -> None:
        self.status = status
        self.snapshot: ResourceSnapshot | None = None
        self._nonce_prefix = nonce_prefix
        self._nonces = 0

    def on_snapshot(self, snapshot: ResourceSnapshot) -> list[Response]:
        """A new snapshot for this proxy: the responses that bring Envoy up to it."""
        self.snapshot = snapshot
        return self._pump()

    def _next_nonce(self) -> str:
        self._nonces += 1
        return f"{self._nonce_prefix}{self._nonces}"

    def _pump(self) -> list[Response]:
        if self.snapshot is None:
            return []
        out: list[Response] = []
        gate_closed = False
        for type_url in self._type_order():
            if not self._subscribed(type_url):
                continue
            if not (type_url in GATED_TYPES and gate_closed) and not self._inflight(type_url):
                response = self._respond(type_url, self.snapshot)
                if response is not None:
                    out.append(response)
            if type_url in WARMING_TYPES and self._inflight(type_url):
                gate_closed = True
        return out

    def _type_order(self) -> list[str]:
        extra = sorted(t for t in self._known_types() if t not in PUSH_ORDER)
        return [*PUSH_ORDER, *extra]

    @abstractmethod
    def _known_types(self) -> list[str]: ...

    @abstractmethod
    def _subscribed(self, type_url: str) -> bool: ...

    @abstractmethod
    def _inflight(self, type_url: str) -> bool: ...

    @abstractmethod
    def _respond(self, type_url: str, snapshot: ResourceSnapshot) -> Response | None:
        """The response to send for ``type_url`` now, or None; records it as in flight."""


@dataclass
class _SotwType:
    wildcard: bool = False
    names: frozenset[str] = frozenset()
    acked_version: str = ""
    sent_version: str | None = None
    sent_names: frozenset[str] = frozenset()
    nonce: str | None = None
    inflight: bool = False
    nacked_version: str | None = None
    respond: bool = False


class SotwStream(StreamMachine[SotwResponse]):
    """State of the world: each response carries every (requested) resource of its type."""

    def __init__(self, status: StatusTracker, nonce_prefix: str = "") -> None:
        super().__init__(status, nonce_prefix)
        self._types: dict[str, _SotwType] = {}

    def on_request(self, request: discovery_pb2.DiscoveryRequest) -> list[SotwResponse]:
        """A request from Envoy (initial, ACK, NACK, re-request or stale)."""
        type_url = request.type_url
        names = frozenset(request.resource_names)
        st = self._types.get(type_url)
        if st is None:
            st = self._types[type_url] = _SotwType()
            st.wildcard = type_url in WILDCARD_TYPES and (not names or "*" in names)
            st.names = names - {"*"}
            st.acked_version = request.version_info
            self.status.subscribed(type_url)
            return self._pump()
        if st.nonce is not None and request.response_nonce != st.nonce:
            return []  # stale: Envoy will answer the newer response with its current view
        if st.nonce is None:
            st.names, st.acked_version = names - {"*"}, request.version_info
            return self._pump()
        self._answer(type_url, st, request)
        if not st.wildcard and names - {"*"} != st.sent_names:
            st.respond = True
        st.names = names - {"*"}
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
        elif answered_before:
            if type_url == ENDPOINT:
                st.respond = True  # a re-request: Envoy is warming a cluster and waits
        else:
            st.acked_version = request.version_info
            st.nacked_version = None
            self.status.acked(type_url, request.version_info, nonce)

    def _known_types(self) -> list[str]:
        return list(self._types)

    def _subscribed(self, type_url: str) -> bool:
        return type_url in self._types

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
        body = sotw_body(desired, None if st.wildcard else st.names)
        nonce = self._next_nonce()
        st.nonce, st.inflight, st.sent_version, st.sent_names = nonce, True, version, st.names
        self.status.sent(type_url, version, nonce)
        if type_url == CLUSTER and ENDPOINT in self._types:
            self._types[ENDPOINT].respond = True  # re-warming clusters wait for endpoints
        return SotwResponse(type_url=type_url, version_info=version, nonce=nonce, body=body)
