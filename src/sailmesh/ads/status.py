"""Per-proxy sync status: what was sent, acknowledged or rejected, per resource type.

In: events from a stream state machine (subscribed, sent, ACK, NACK, already in sync).
Out: frozen :class:`ProxyStatus` views in Istio's vocabulary (SYNCED, STALE, NOT SENT,
NACKED) for ``sailctl proxy-status``. Time comes from an injected :class:`Clock`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol

from sailmesh.ads.resources import PUSH_ORDER, ResourceSnapshot
from sailmesh.clock import Clock


class SyncState(StrEnum):
    SYNCED = "SYNCED"
    STALE = "STALE"
    NOT_SENT = "NOT SENT"
    NACKED = "NACKED"


@dataclass(frozen=True)
class Nack:
    """A response Envoy rejected, with Envoy's own error text."""

    version: str
    nonce: str
    message: str
    at: float


@dataclass(frozen=True)
class TypeStatus:
    type_url: str
    state: SyncState
    subscribed: bool
    sent_version: str | None
    sent_nonce: str | None
    sent_at: float | None
    acked_version: str | None
    acked_at: float | None
    nack: Nack | None
    desired_version: str | None


@dataclass(frozen=True)
class ProxyStatus:
    node_id: str
    stream_id: str
    mode: str
    connected_at: float
    types: Mapping[str, TypeStatus]

    def state(self, type_url: str) -> SyncState:
        found = self.types.get(type_url)
        return found.state if found else SyncState.NOT_SENT


class _TypeRecord:
    __slots__ = (
        "acked_at",
        "acked_nonce",
        "acked_version",
        "nack",
        "sent_at",
        "sent_nonce",
        "sent_version",
        "subscribed",
    )

    def __init__(self) -> None:
        self.subscribed = False
        self.sent_version: str | None = None
        self.sent_nonce: str | None = None
        self.sent_at: float | None = None
        self.acked_version: str | None = None
        self.acked_nonce: str | None = None
        self.acked_at: float | None = None
        self.nack: Nack | None = None

    def state(self, desired_version: str | None) -> SyncState:
        if self.nack is not None and self.nack.nonce == self.sent_nonce:
            if desired_version is not None and desired_version == self.acked_version:
                return (
                    SyncState.SYNCED
                )  # the rejected version was withdrawn: Envoy has the wanted one
            return SyncState.NACKED
        if self.sent_nonce is not None and self.acked_nonce != self.sent_nonce:
            return SyncState.STALE
        if self.acked_version is None:
            return SyncState.NOT_SENT
        if desired_version is not None and self.acked_version != desired_version:
            return SyncState.STALE
        return SyncState.SYNCED


class StreamObserver(Protocol):
    """Told about every stream's sends, ACKs and NACKs (the control plane's metrics)."""

    def sent(self, type_url: str) -> None: ...

    def acked(self, type_url: str, seconds: float) -> None:
        """Envoy acknowledged a response ``seconds`` after it was sent."""
        ...

    def nacked(self, type_url: str) -> None: ...

    def send_failed(self, type_url: str) -> None:
        """A response could not be written (the stream broke while sending)."""
        ...


class StatusTracker:
    """The mutable status of one stream; the state machine feeds it, readers take views."""

    def __init__(
        self,
        node_id: str,
        stream_id: str,
        mode: str,
        clock: Clock,
        observer: StreamObserver | None = None,
    ) -> None:
        self.node_id = node_id
        self.stream_id = stream_id
        self.mode = mode
        self._clock = clock
        self._observer = observer
        self._sent_monotonic: dict[str, float] = {}
        self.connected_at = clock.wall()
        self._types: dict[str, _TypeRecord] = {}

    def _record(self, type_url: str) -> _TypeRecord:
        found = self._types.get(type_url)
        if found is None:
            found = self._types[type_url] = _TypeRecord()
        return found

    def subscribed(self, type_url: str) -> None:
        self._record(type_url).subscribed = True

    def sent(self, type_url: str, version: str, nonce: str) -> None:
        rec = self._record(type_url)
        rec.sent_version, rec.sent_nonce, rec.sent_at = version, nonce, self._clock.wall()
        if self._observer is not None:
            self._sent_monotonic[type_url] = self._clock.monotonic()
            self._observer.sent(type_url)

    def acked(self, type_url: str, version: str, nonce: str) -> None:
        rec = self._record(type_url)
        rec.acked_version, rec.acked_nonce, rec.acked_at = version, nonce, self._clock.wall()
        sent = self._sent_monotonic.pop(type_url, None)
        if self._observer is not None and sent is not None:
            self._observer.acked(type_url, self._clock.monotonic() - sent)

    def nacked(self, type_url: str, version: str, nonce: str, message: str) -> None:
        self._record(type_url).nack = Nack(version, nonce, message, self._clock.wall())
        self._sent_monotonic.pop(type_url, None)
        if self._observer is not None:
            self._observer.nacked(type_url)

    def in_sync(self, type_url: str, version: str) -> None:
        """Envoy already holds ``version`` (it said so on a new stream): nothing to send."""
        rec = self._record(type_url)
        if rec.sent_nonce is None or rec.acked_nonce == rec.sent_nonce:
            rec.acked_version, rec.acked_at = version, self._clock.wall()
            rec.acked_nonce = rec.sent_nonce

    def view(self, desired: ResourceSnapshot | None = None) -> ProxyStatus:
        order = [t for t in PUSH_ORDER if t in self._types]
        order += sorted(t for t in self._types if t not in PUSH_ORDER)
        types = {t: self._type_view(t, self._types[t], desired) for t in order}
        return ProxyStatus(
            node_id=self.node_id,
            stream_id=self.stream_id,
            mode=self.mode,
            connected_at=self.connected_at,
            types=MappingProxyType(types),
        )

    @staticmethod
    def _type_view(type_url: str, rec: _TypeRecord, desired: ResourceSnapshot | None) -> TypeStatus:
        desired_version = desired.version(type_url) if desired is not None else None
        return TypeStatus(
            type_url=type_url,
            state=rec.state(desired_version if rec.subscribed else None),
            subscribed=rec.subscribed,
            sent_version=rec.sent_version,
            sent_nonce=rec.sent_nonce,
            sent_at=rec.sent_at,
            acked_version=rec.acked_version,
            acked_at=rec.acked_at,
            nack=rec.nack,
            desired_version=desired_version,
        )
