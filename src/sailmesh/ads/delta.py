"""The per-stream state machine for delta (incremental) xDS, without I/O.

In: delta requests (subscribe/unsubscribe, initial resource versions on a new stream,
ACK/NACK by nonce) and new snapshots. Out: delta responses carrying only the resources
whose version Envoy does not have, and the names it has that are gone.

Same rules as :mod:`sailmesh.ads.stream`, adapted: subscription changes apply even on a
stale nonce; a NACK remembers the rejected (name, version) pairs, which are not sent again;
every cluster push is followed by an endpoints push (the changed clusters' endpoints, as
the ClusterLoadAssignment has the cluster's name as in Istio; possibly empty, so that its ACK
comes after Envoy's subscriptions for new clusters and the gate stays closed until then);
re-subscribing to a name asks for it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from envoy.service.discovery.v3 import discovery_pb2

from sailmesh.ads.resources import (
    CLUSTER,
    ENDPOINT,
    WILDCARD_TYPES,
    ResourceSnapshot,
    TypeResources,
    changes_between,
    subscribed_versions,
)
from sailmesh.ads.stream import StreamMachine, shared_names
from sailmesh.ads.wire import DeltaResponse, delta_body


@dataclass(frozen=True, slots=True)
class _Sent:
    """The response in flight: ``names`` sent at their ``versions`` and ``removed`` names."""

    versions: Mapping[str, str]
    names: tuple[str, ...]
    removed: tuple[str, ...]

    def sent_versions(self) -> dict[str, str]:
        """``{name: version}`` of the sent names (built in C: this runs per ACK)."""
        return dict(zip(self.names, map(self.versions.__getitem__, self.names), strict=True))


@dataclass
class _DeltaType:
    wildcard: bool = False
    #: The subscribed names (shared between streams, see :func:`shared_names`).
    names: frozenset[str] = frozenset()
    known: dict[str, str] = field(default_factory=dict)
    nacked: dict[str, str] = field(default_factory=dict)
    force: set[str] = field(default_factory=set)
    inflight: _Sent | None = None
    nonce: str | None = None
    sent_version: str | None = None
    respond: bool = False
    #: When set: ``known`` is exactly what this set has of the subscribed names and nothing is
    #: NACKed, so the updates for a new set are the (shared) changes between the two sets.
    synced: TypeResources | None = None
    #: The set Envoy will hold exactly (in the same sense) once it ACKs the response in flight.
    sending: TypeResources | None = None

    def diverge(self) -> None:
        """``known`` or the subscriptions changed otherwise than by an ACK."""
        self.synced = self.sending = None


class DeltaStream(StreamMachine[DeltaResponse, _DeltaType]):
    """Incremental xDS: responses carry changed resources and removed names."""

    def on_request(self, request: discovery_pb2.DeltaDiscoveryRequest) -> list[DeltaResponse]:
        type_url = request.type_url
        st = self._types.get(type_url)
        if st is None:
            st = self._types[type_url] = _DeltaType()
            subscribe = set(request.resource_names_subscribe)
            st.wildcard = type_url in WILDCARD_TYPES and (not subscribe or "*" in subscribe)
            st.names = shared_names(subscribe - {"*"})
            st.known = dict(request.initial_resource_versions)
            st.respond = st.wildcard and not st.known  # Envoy waits for a first answer
            self.status.subscribed(type_url)
            return self._pump()
        if request.response_nonce and request.response_nonce == st.nonce:
            self._answer(type_url, st, request)
        if request.resource_names_subscribe or request.resource_names_unsubscribe:
            st.diverge()
            self._subscribe(st, request.resource_names_subscribe)
            self._unsubscribe(st, request.resource_names_unsubscribe)
        return self._pump()

    def _answer(
        self, type_url: str, st: _DeltaType, request: discovery_pb2.DeltaDiscoveryRequest
    ) -> None:
        inflight, st.inflight = st.inflight, None
        sending, st.sending = st.sending, None
        if inflight is None or st.sent_version is None:
            return
        nonce = request.response_nonce
        if request.HasField("error_detail"):
            st.diverge()
            st.nacked.update(inflight.sent_versions())
            self.status.nacked(type_url, st.sent_version, nonce, request.error_detail.message)
            return
        for name in inflight.removed:
            st.known.pop(name, None)
        if not st.known and len(inflight.names) == len(inflight.versions):
            st.known = dict(inflight.versions)  # a first response with everything: one copy
        else:
            st.known.update(inflight.sent_versions())
        if st.nacked:
            for name in inflight.names:
                st.nacked.pop(name, None)
        st.synced = sending
        self.status.acked(type_url, st.sent_version, nonce)

    @staticmethod
    def _subscribe(st: _DeltaType, names: Iterable[str]) -> None:
        added = set()
        for name in names:
            if name == "*":
                st.wildcard = True
                continue
            if name in st.names:
                st.known.pop(name, None)  # asked again: Envoy wants it (re)sent
            added.add(name)
        if not added <= st.names:
            st.names = shared_names(st.names | added)

    @staticmethod
    def _unsubscribe(st: _DeltaType, names: Iterable[str]) -> None:
        dropped = set()
        for name in names:
            if name == "*":
                st.wildcard = False
                continue
            dropped.add(name)
            st.known.pop(name, None)
            st.force.discard(name)
        if dropped & st.names:
            st.names = shared_names(st.names - dropped)

    def _inflight(self, type_url: str) -> bool:
        st = self._types.get(type_url)
        return st is not None and st.inflight is not None

    def _respond(self, type_url: str, snapshot: ResourceSnapshot) -> DeltaResponse | None:
        st = self._types[type_url]
        desired = snapshot.of(type_url)
        if st.synced is not None:
            updates, removed = self._changes_from_synced(st, st.synced, desired)
        else:
            updates, removed = self._changes(st, desired)
        if not (updates or removed or st.respond):
            if st.synced is not None:
                st.synced = desired  # the subscribed names have the same versions in both
                self.status.in_sync(type_url, desired.version)
            elif self._in_sync(st, desired):
                self.status.in_sync(type_url, desired.version)
            return None
        st.respond = False
        st.force.difference_update(updates)
        names, gone = tuple(updates), tuple(removed)
        body = delta_body(desired, names, gone)
        nonce = self._nonce_for(type_url, body)
        st.nonce, st.sent_version = nonce, desired.version
        st.inflight = _Sent(desired.versions, names, gone)
        st.sending = desired if st.synced is not None or self._exact(st) else None
        self.status.sent(type_url, desired.version, nonce)
        if type_url == CLUSTER and ENDPOINT in self._types:
            eds = self._types[ENDPOINT]
            eds.force.update(name for name in updates if name in eds.names)
            eds.respond = bool(updates or removed)  # its ACK follows Envoy's new subscriptions
        return DeltaResponse(
            type_url=type_url,
            system_version_info=desired.version,
            nonce=nonce,
            source=desired,
            names=names,
            removed_resources=gone,
            body=body,
        )

    @staticmethod
    def _wanted(st: _DeltaType, desired: TypeResources) -> Mapping[str, str]:
        """The versions of the resources this stream wants (all, or its subscribed names)."""
        if st.wildcard:
            return desired.versions
        return subscribed_versions(desired, st.names)

    @classmethod
    def _changes(cls, st: _DeltaType, desired: TypeResources) -> tuple[list[str], list[str]]:
        """(updates, removed) from ``known``, compared as sets of (name, version) pairs."""
        wanted = cls._wanted(st, desired)
        differ = wanted.items() - st.known.items()
        if st.nacked:
            nacked = st.nacked
            differ = {(n, v) for n, v in differ if nacked.get(n) != v}
        updates = set(dict(differ))
        if st.force:
            updates.update(n for n in st.force if n in wanted)
        removed = st.known.keys() - desired.versions.keys()
        return sorted(updates), sorted(removed)

    @staticmethod
    def _changes_from_synced(
        st: _DeltaType, synced: TypeResources, desired: TypeResources
    ) -> tuple[list[str], list[str]]:
        """(updates, removed) when ``known`` is exactly ``synced``'s subscribed names: the
        changes between the two sets (computed once for all streams), plus forced names."""
        if desired is synced and not st.force:
            return [], []
        all_changed, all_gone = changes_between(synced, desired)
        names = st.names
        if st.wildcard:
            changed, gone = list(all_changed), list(all_gone)
        else:
            changed = [n for n in all_changed if n in names]
            gone = [n for n in all_gone if n in names]
        if st.force:
            versions = desired.versions
            forced = {n for n in st.force if n in versions and (st.wildcard or n in names)}
            changed = sorted(forced.union(changed))
        return changed, gone

    @classmethod
    def _in_sync(cls, st: _DeltaType, desired: TypeResources) -> bool:
        """Envoy holds every wanted resource at its version; remembered while it stays so."""
        wanted = cls._wanted(st, desired)
        in_sync = wanted.items() <= st.known.items()
        if in_sync and not st.nacked and not st.force and len(st.known) == len(wanted):
            st.synced = desired
        return in_sync

    @staticmethod
    def _exact(st: _DeltaType) -> bool:
        """Whether ``known`` will be exactly the desired set's subscribed names once the
        response being sent (all differences, none held back by a NACK) is ACKed."""
        return not st.nacked and (st.wildcard or all(n in st.names for n in st.known))
