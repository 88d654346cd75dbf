"""Sans-I/O playbook for the state-of-the-world ADS stream.

Also the shortcuts the machine takes with many proxies: streams share nonces and so the
encoded bytes of a response, and never reuse a nonce of a type; equal subscribed name sets
are one object.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from ads_playbook import ack, names_of, req, snapshot, tracker, types_of

from sailmesh.ads import wire
from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, ResourceSnapshot
from sailmesh.ads.status import SyncState
from sailmesh.ads.stream import SotwStream


def synced_stream(snap=None):  # type: ignore[no-untyped-def]
    """A stream taken through Envoy's start-up sequence to SYNCED on every type."""
    s = SotwStream(tracker(), "n")
    s.on_snapshot(snap or snapshot())
    [cds] = s.on_request(req(CLUSTER))
    assert s.on_request(req(LISTENER)) == []  # held: clusters not acknowledged
    [eds] = s.on_request(req(ENDPOINT, ("c1",)))
    assert s.on_request(ack(cds)) == []  # held: endpoints not acknowledged
    [lds] = s.on_request(ack(eds, ("c1",)))
    assert s.on_request(ack(lds)) == []
    [rds] = s.on_request(req(ROUTE, ("80",)))
    assert s.on_request(ack(rds, ("80",))) == []
    return s, {"CDS": cds, "EDS": eds, "LDS": lds, "RDS": rds}


def test_initial_request_response_ack_reaches_synced() -> None:
    s, sent = synced_stream()
    assert names_of(sent["CDS"]) == ["c1"]
    assert names_of(sent["EDS"]) == ["c1"]
    assert names_of(sent["RDS"]) == ["80"]
    view = s.status.view(s.snapshot)
    assert {t.state for t in view.types.values()} == {SyncState.SYNCED}
    assert view.types[CLUSTER].acked_version == s.snapshot.version(CLUSTER)  # type: ignore[union-attr]


def test_response_versions_are_content_hashes() -> None:
    _, first = synced_stream(snapshot())
    _, second = synced_stream(snapshot())
    assert first["CDS"].version_info == second["CDS"].version_info
    assert first["CDS"].nonce == second["CDS"].nonce  # same prefix and counter in tests


def test_nack_records_error_and_does_not_resend_same_version() -> None:
    s, _ = synced_stream()
    broken = snapshot(listeners=("0.0.0.0_80", "bad"))
    [lds] = s.on_snapshot(broken)
    assert types_of([lds]) == ["LDS"]
    old = s.status.view().types[LISTENER].acked_version
    nack = req(LISTENER, version=old or "", nonce=lds.nonce, error="bad listener: oops")
    assert s.on_request(nack) == []
    view = s.status.view(s.snapshot)
    assert view.types[LISTENER].state == SyncState.NACKED
    assert view.types[LISTENER].nack is not None
    assert view.types[LISTENER].nack.message == "bad listener: oops"
    assert view.types[LISTENER].nack.version == lds.version_info
    assert view.types[LISTENER].acked_version == old
    assert s.on_snapshot(broken) == []  # same version again: not resent
    assert s.on_request(req(LISTENER, version=old or "", nonce=lds.nonce)) == []
    [fixed] = s.on_snapshot(snapshot(listeners=("0.0.0.0_80", "good")))
    assert fixed.type_url == LISTENER and fixed.version_info != lds.version_info
    s.on_request(ack(fixed))
    assert s.status.view(s.snapshot).types[LISTENER].state == SyncState.SYNCED


def test_stale_nonce_is_ignored() -> None:
    s, sent = synced_stream()
    [cds, eds] = s.on_snapshot(snapshot(clusters={"c1": 2}))
    assert types_of([cds, eds]) == ["CDS", "EDS"]
    stale = req(CLUSTER, version=sent["CDS"].version_info, nonce=sent["CDS"].nonce)
    assert s.on_request(stale) == []
    assert s.status.view(s.snapshot).types[CLUSTER].state == SyncState.STALE
    s.on_request(ack(cds))
    assert s.status.view(s.snapshot).types[CLUSTER].state == SyncState.SYNCED


def test_reconnect_with_known_versions_sends_nothing() -> None:
    snap = snapshot()
    _, sent = synced_stream(snap)
    s = SotwStream(tracker(), "m")
    s.on_snapshot(snap)
    assert s.on_request(req(CLUSTER, version=sent["CDS"].version_info)) == []
    assert s.on_request(req(LISTENER, version=sent["LDS"].version_info)) == []
    assert s.on_request(req(ENDPOINT, ("c1",), version=sent["EDS"].version_info)) == []
    assert s.on_request(req(ROUTE, ("80",), version=sent["RDS"].version_info)) == []
    view = s.status.view(snap)
    assert {t.state for t in view.types.values()} == {SyncState.SYNCED}


def test_reconnect_with_old_versions_sends_the_new_ones() -> None:
    _, sent = synced_stream(snapshot())
    s = SotwStream(tracker(), "m")
    s.on_snapshot(snapshot(clusters={"c1": 5}))
    [cds] = s.on_request(req(CLUSTER, version=sent["CDS"].version_info))
    assert cds.version_info != sent["CDS"].version_info


def test_eds_re_request_is_answered_even_if_nothing_changed() -> None:
    s, sent = synced_stream()
    again = req(ENDPOINT, ("c1",), version=sent["EDS"].version_info, nonce=sent["EDS"].nonce)
    [eds] = s.on_request(again)
    assert eds.version_info == sent["EDS"].version_info and eds.nonce != sent["EDS"].nonce
    assert s.on_request(ack(eds, ("c1",))) == []  # its ACK is an ACK, not another re-request


def test_changed_eds_names_are_answered() -> None:
    s, sent = synced_stream(snapshot(clusters={"c1": 1, "c2": 1}))
    assert names_of(sent["CDS"]) == ["c1", "c2"]
    more = req(ENDPOINT, ("c1", "c2"), version=sent["EDS"].version_info, nonce=sent["EDS"].nonce)
    [eds] = s.on_request(more)
    assert names_of(eds) == ["c1", "c2"]


def test_make_before_break_holds_routes_until_clusters_and_endpoints_are_acked() -> None:
    s, _ = synced_stream()
    change = snapshot(clusters={"c1": 1, "c2": 1}, routes={"80": "c2"})
    [cds, eds] = s.on_snapshot(change)
    assert types_of([cds, eds]) == ["CDS", "EDS"]
    assert s.status.view(change).types[ROUTE].state == SyncState.STALE  # held
    # Envoy adds c2, asks for its endpoints with the nonce it has seen (stale: ignored) ...
    assert s.on_request(req(ENDPOINT, ("c1", "c2"), nonce="old")) == []
    assert s.on_request(ack(cds)) == []
    # ... and acknowledges the in-flight endpoints with its new subscription: answered.
    [eds2] = s.on_request(ack(eds, ("c1", "c2")))
    assert names_of(eds2) == ["c1", "c2"]
    [rds] = s.on_request(ack(eds2, ("c1", "c2")))
    assert rds.type_url == ROUTE


def test_endpoints_are_resent_after_a_cluster_change() -> None:
    s, sent = synced_stream()
    [cds, eds] = s.on_snapshot(snapshot(clusters={"c1": 3}, endpoints={"c1": 8000}))
    assert cds.type_url == CLUSTER and eds.type_url == ENDPOINT
    assert eds.version_info == sent["EDS"].version_info  # endpoints unchanged, sent anyway
    assert names_of(eds) == ["c1"]


THREE = {"c1": 1, "c2": 1, "c3": 1}


def synced_three(snap=None):  # type: ignore[no-untyped-def]
    """A stream SYNCED on three clusters (every endpoints response so far carried all three)."""
    s = SotwStream(tracker(), "n")
    s.on_snapshot(snap or snapshot(clusters=THREE))
    [cds] = s.on_request(req(CLUSTER))
    s.on_request(req(LISTENER))
    [eds] = s.on_request(req(ENDPOINT, ("c1", "c2", "c3")))
    assert names_of(eds) == ["c1", "c2", "c3"]
    s.on_request(ack(cds))
    [lds] = s.on_request(ack(eds, ("c1", "c2", "c3")))
    s.on_request(ack(lds))
    [rds] = s.on_request(req(ROUTE, ("80",)))
    s.on_request(ack(rds, ("80",)))
    return s


def test_a_cluster_change_sends_only_that_clusters_endpoints() -> None:
    s = synced_three()
    [cds, eds] = s.on_snapshot(snapshot(clusters={**THREE, "c2": 5}))
    assert names_of(cds) == ["c1", "c2", "c3"]  # clusters: always the whole set
    assert names_of(eds) == ["c2"]
    assert eds.version_info == s.snapshot.version(ENDPOINT)  # type: ignore[union-attr]
    s.on_request(ack(cds))
    s.on_request(ack(eds, ("c1", "c2", "c3")))
    assert s.status.view(s.snapshot).types[ENDPOINT].state == SyncState.SYNCED


def test_an_endpoint_change_sends_only_the_changed_endpoints() -> None:
    s = synced_three()
    [eds] = s.on_snapshot(snapshot(clusters=THREE, endpoints={"c1": 8000, "c2": 8000, "c3": 9}))
    assert names_of(eds) == ["c3"]
    s.on_request(ack(eds, ("c1", "c2", "c3")))
    # Changes add up against what Envoy acknowledged, not against the last response.
    [eds] = s.on_snapshot(snapshot(clusters=THREE, endpoints={"c1": 7, "c2": 8000, "c3": 9}))
    assert names_of(eds) == ["c1"]


def test_changes_while_endpoints_are_in_flight_are_sent_after_the_ack() -> None:
    s = synced_three()
    [eds] = s.on_snapshot(snapshot(clusters=THREE, endpoints={"c1": 8000, "c2": 8000, "c3": 9}))
    later = snapshot(clusters=THREE, endpoints={"c1": 7, "c2": 8000, "c3": 9})
    assert s.on_snapshot(later) == []  # one response in flight per type
    [eds2] = s.on_request(ack(eds, ("c1", "c2", "c3")))
    assert names_of(eds2) == ["c1"]


def test_everything_is_sent_again_after_a_nack_a_re_request_or_new_names() -> None:
    s = synced_three()
    [eds] = s.on_snapshot(snapshot(clusters=THREE, endpoints={"c1": 8000, "c2": 8000, "c3": 9}))
    nack = req(ENDPOINT, ("c1", "c2", "c3"), nonce=eds.nonce, error="bad endpoint")
    assert s.on_request(nack) == []  # the rejected version is not sent again ...
    fixed = snapshot(clusters=THREE, endpoints={"c1": 8000, "c2": 8000, "c3": 10})
    [eds] = s.on_snapshot(fixed)  # ... a newer one is, with every name
    assert names_of(eds) == ["c1", "c2", "c3"]
    s.on_request(ack(eds, ("c1", "c2", "c3")))
    again = req(ENDPOINT, ("c1", "c2", "c3"), version=eds.version_info, nonce=eds.nonce)
    [eds] = s.on_request(again)  # a re-request: Envoy is warming and waits for everything
    assert names_of(eds) == ["c1", "c2", "c3"]
    s.on_request(ack(eds, ("c1", "c2", "c3")))
    moved = snapshot(clusters=THREE, endpoints={"c1": 8000, "c2": 8000, "c3": 11})
    [eds] = s.on_snapshot(moved)
    assert names_of(eds) == ["c3"]
    [eds] = s.on_request(ack(eds, ("c1", "c2")))  # a smaller subscription: answered whole
    assert names_of(eds) == ["c1", "c2"]


def test_a_new_stream_gets_every_endpoint() -> None:
    s = synced_three()
    snap = s.snapshot
    other = SotwStream(tracker(), "m")
    other.on_snapshot(snapshot(clusters=THREE, endpoints={"c1": 8000, "c2": 8000, "c3": 9}))
    other.on_request(req(CLUSTER, version=snap.version(CLUSTER)))  # type: ignore[union-attr]
    [eds] = other.on_request(
        req(ENDPOINT, ("c1", "c2", "c3"), version=snap.version(ENDPOINT))  # type: ignore[union-attr]
    )
    assert names_of(eds) == ["c1", "c2", "c3"]


def test_unchanged_snapshot_sends_nothing() -> None:
    s, _ = synced_stream()
    assert s.on_snapshot(snapshot()) == []


def test_nothing_is_sent_before_a_snapshot_exists() -> None:
    s = SotwStream(tracker(), "n")
    assert s.on_request(req(CLUSTER)) == []
    assert s.status.view().types[CLUSTER].state == SyncState.NOT_SENT
    [cds] = s.on_snapshot(snapshot())
    assert cds.type_url == CLUSTER


# --- fast paths ----------------------------------------------------------------------------


def test_sotw_streams_share_nonces_and_bytes_and_never_reuse_a_nonce() -> None:
    first = snapshot(clusters={"c1": 1, "c2": 2})
    streams = [SotwStream(tracker(), f"s{i}-", shared_nonces=True) for i in range(2)]
    sent: list[list[Any]] = [[], []]
    for i, s in enumerate(streams):
        s.on_snapshot(first)
        [cds] = s.on_request(req(CLUSTER))
        s.on_request(req(LISTENER))
        [eds] = s.on_request(req(ENDPOINT, ("c1", "c2")))
        s.on_request(ack(cds))
        [lds] = s.on_request(ack(eds, ("c1", "c2")))
        s.on_request(ack(lds))
        sent[i] += [cds, eds, lds]
    assert [r.nonce for r in sent[0]] == [r.nonce for r in sent[1]]
    assert all(wire.encode(a) is wire.encode(b) for a, b in zip(*sent, strict=True))
    parsed = sent[0][0].message()
    assert parsed.nonce == sent[0][0].nonce and parsed.version_info == first.version(CLUSTER)

    # A cluster change: new clusters, and the changed cluster's (unchanged) endpoints sent
    # again (a second shared nonce).
    changed = snapshot(clusters={"c1": 1, "c2": 3})
    second = ResourceSnapshot(MappingProxyType({**first.types, CLUSTER: changed.of(CLUSTER)}))
    s = streams[0]
    cds, eds = s.on_snapshot(second)
    assert names_of(eds.message()) == ["c2"] and eds.nonce != sent[0][1].nonce
    assert eds.version_info == sent[0][1].version_info
    assert [r.nonce for r in streams[1].on_snapshot(second)] == [cds.nonce, eds.nonce]
    # Going back to an older body: the stream's own nonce.
    s.on_request(ack(cds))
    s.on_request(ack(eds, ("c1", "c2")))
    [back, eds_again] = s.on_snapshot(first)
    assert back.body is sent[0][0].body and back.nonce.startswith("s0-")
    nonces = [r.nonce for r in [*sent[0], cds, eds, back, eds_again]]
    assert len(set(nonces)) == len(nonces)


def test_sotw_equal_name_sets_are_one_object() -> None:
    names = ("c1", "c2")
    held = []
    for i in range(2):
        s = SotwStream(tracker(), f"s{i}-")
        s.on_snapshot(snapshot(clusters={"c1": 1, "c2": 2}))
        s.on_request(req(CLUSTER))
        [eds] = s.on_request(req(ENDPOINT, names))
        s.on_request(ack(eds, names))
        held.append(s._types[ENDPOINT].names)
    assert held[0] == frozenset(names) and held[0] is held[1]


def test_break_after_make_keeps_a_dropped_cluster_until_the_routes_moved_off_it() -> None:
    """A route moving from c1 to a new c2 while c1 goes away (a subset renamed in one apply):
    c1 and its endpoints stay until the new route is acknowledged, then go (503 NC before)."""
    s, _ = synced_stream()
    move = snapshot(clusters={"c2": 1}, routes={"80": "c2"})
    [cds, eds] = s.on_snapshot(move)
    assert names_of(cds) == ["c1", "c2"]  # c2 added, c1 kept: the running route needs it
    assert s.on_request(ack(cds)) == []
    [eds2] = s.on_request(ack(eds, ("c1", "c2")))
    assert names_of(eds2) == ["c1", "c2"]
    [rds] = s.on_request(ack(eds2, ("c1", "c2")))
    assert rds.type_url == ROUTE
    [cds2, eds3] = s.on_request(ack(rds, ("80",)))  # the routes moved: c1 goes now
    assert names_of(cds2) == ["c2"] and cds2.version_info == move.version(CLUSTER)
    assert names_of(eds3) == ["c2"]
    assert s.on_request(ack(cds2)) == []
    [eds4] = s.on_request(ack(eds3, ("c2",)))  # Envoy's subscriptions follow the clusters
    assert s.on_request(ack(eds4, ("c2",))) == []
    view = s.status.view(move)
    assert {view.state(t) for t in (CLUSTER, ENDPOINT, LISTENER, ROUTE)} == {SyncState.SYNCED}


def test_a_cluster_dropped_without_a_route_change_goes_at_once() -> None:
    s, _ = synced_stream(snapshot(clusters={"c1": 1, "c2": 1}))
    [cds, _eds] = s.on_snapshot(snapshot(clusters={"c1": 1}))
    assert names_of(cds) == ["c1"]
