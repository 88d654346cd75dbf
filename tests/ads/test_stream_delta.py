"""Sans-I/O playbook for the delta (incremental) ADS stream.

Also the shortcuts the machine takes with many proxies: a stream that holds exactly an earlier
set diffs it against the new one (once for all streams) instead of name by name (checked
against the name-by-name machine on random runs); streams share nonces and encoded bytes and
never reuse a nonce; equal subscribed name sets are one object.
"""

from __future__ import annotations

import random
from typing import Any

from ads_playbook import delta_req, snapshot, tracker

from sailmesh.ads import wire
from sailmesh.ads.delta import DeltaStream, _DeltaType
from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, TypeResources
from sailmesh.ads.status import SyncState


def names(resp) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(r.name for r in resp.resources)


def ack(resp, subscribe=(), unsubscribe=()):  # type: ignore[no-untyped-def]
    return delta_req(resp.type_url, subscribe, unsubscribe, nonce=resp.nonce)


def synced_stream(snap=None):  # type: ignore[no-untyped-def]
    s = DeltaStream(tracker("delta"), "d")
    s.on_snapshot(snap or snapshot())
    [cds] = s.on_request(delta_req(CLUSTER))
    assert s.on_request(delta_req(LISTENER)) == []  # held until clusters + endpoints ACKed
    [eds] = s.on_request(delta_req(ENDPOINT, ("c1",)))
    assert s.on_request(ack(cds)) == []
    [lds] = s.on_request(ack(eds))
    [rds] = s.on_request(delta_req(ROUTE, ("80",)))
    assert s.on_request(ack(lds)) == []
    assert s.on_request(ack(rds)) == []
    return s, {"CDS": cds, "EDS": eds, "LDS": lds, "RDS": rds}


def test_initial_subscriptions_reach_synced() -> None:
    s, sent = synced_stream()
    assert names(sent["CDS"]) == ["c1"]
    assert names(sent["EDS"]) == ["c1"]
    assert names(sent["LDS"]) == ["0.0.0.0_80"]
    assert names(sent["RDS"]) == ["80"]
    assert sent["CDS"].resources[0].version  # per-resource content hash
    view = s.status.view(s.snapshot)
    assert {t.state for t in view.types.values()} == {SyncState.SYNCED}


def test_only_changed_resources_are_sent_and_removed_ones_named() -> None:
    s, _ = synced_stream(snapshot(clusters={"c1": 1, "c2": 1}, endpoints={"c1": 1}))
    change = snapshot(clusters={"c1": 1, "c3": 1}, endpoints={"c1": 1, "c3": 1})
    [cds, eds] = s.on_snapshot(change)
    assert names(cds) == ["c3"] and list(cds.removed_resources) == ["c2"]
    assert names(eds) == []  # c3's endpoints come once Envoy subscribes to them
    [eds2] = s.on_request(ack(eds, subscribe=("c3",), unsubscribe=("c2",)))
    assert names(eds2) == ["c3"]
    assert s.on_request(ack(cds)) == []


def test_unsubscribe_stops_updates_for_that_name() -> None:
    s, sent = synced_stream(snapshot(clusters={"c1": 1, "c2": 1}))
    [eds] = s.on_request(delta_req(ENDPOINT, ("c2",), nonce=sent["EDS"].nonce))
    assert names(eds) == ["c2"]
    assert s.on_request(ack(eds, unsubscribe=("c2",))) == []
    change = snapshot(clusters={"c1": 1, "c2": 1}, endpoints={"c1": 8000, "c2": 9999})
    assert s.on_snapshot(change) == []  # c2 changed but nobody listens to it


def test_resubscribing_asks_again() -> None:
    s, sent = synced_stream()
    [eds] = s.on_request(delta_req(ENDPOINT, ("c1",), nonce=sent["EDS"].nonce))
    assert names(eds) == ["c1"]


def test_nack_records_error_and_does_not_resend() -> None:
    s, _ = synced_stream()
    broken = snapshot(listeners=("0.0.0.0_80", "bad"))
    [lds] = s.on_snapshot(broken)
    assert names(lds) == ["bad"]
    nack = delta_req(LISTENER, nonce=lds.nonce, error="bad listener 'bad': nope")
    assert s.on_request(nack) == []
    status = s.status.view(broken).types[LISTENER]
    assert status.state == SyncState.NACKED
    assert status.nack is not None and "nope" in status.nack.message
    assert s.on_snapshot(broken) == []
    [fixed] = s.on_snapshot(snapshot(listeners=("0.0.0.0_80", "good")))
    assert names(fixed) == ["good"]
    # "bad" was never accepted, so Envoy does not have it: nothing to remove.
    assert list(fixed.removed_resources) == []


def test_stale_nonce_is_ignored_but_subscriptions_apply() -> None:
    s, sent = synced_stream(snapshot(clusters={"c1": 1, "c2": 1}))
    [_cds, eds] = s.on_snapshot(snapshot(clusters={"c1": 2, "c2": 1}))
    stale = delta_req(ENDPOINT, ("c2",), nonce=sent["EDS"].nonce)
    assert s.on_request(stale) == []  # in flight: wait for its answer
    assert s.status.view(s.snapshot).types[ENDPOINT].state == SyncState.STALE
    [eds2] = s.on_request(ack(eds))
    assert names(eds2) == ["c2"]


def test_reconnect_with_initial_versions_sends_nothing() -> None:
    snap = snapshot()
    s = DeltaStream(tracker("delta"), "e")
    s.on_snapshot(snap)
    for type_url, name in ((CLUSTER, "c1"), (LISTENER, "0.0.0.0_80")):
        have = {name: snap.of(type_url).versions[name]}
        assert s.on_request(delta_req(type_url, initial=have)) == []
    have = {"c1": snap.of(ENDPOINT).versions["c1"]}
    assert s.on_request(delta_req(ENDPOINT, ("c1",), initial=have)) == []
    have = {"80": snap.of(ROUTE).versions["80"]}
    assert s.on_request(delta_req(ROUTE, ("80",), initial=have)) == []
    assert {t.state for t in s.status.view(snap).types.values()} == {SyncState.SYNCED}


def test_cluster_change_pushes_its_endpoints() -> None:
    s, sent = synced_stream()
    [cds, eds] = s.on_snapshot(snapshot(clusters={"c1": 4}))
    assert names(cds) == ["c1"] and names(eds) == ["c1"]
    assert eds.resources[0].version == sent["EDS"].resources[0].version


def test_make_before_break_in_delta() -> None:
    s, _ = synced_stream()
    change = snapshot(clusters={"c1": 1, "c2": 1}, routes={"80": "c2"})
    [cds, eds] = s.on_snapshot(change)
    assert names(cds) == ["c2"]
    assert s.on_request(ack(cds)) == []
    [eds2] = s.on_request(ack(eds, subscribe=("c2",)))
    assert names(eds2) == ["c2"]
    [rds] = s.on_request(ack(eds2))
    assert rds.type_url == ROUTE and names(rds) == ["80"]


def test_empty_wildcard_type_is_answered() -> None:
    s = DeltaStream(tracker("delta"), "d")
    s.on_snapshot(snapshot(clusters={}, endpoints={}, listeners=(), routes={}))
    [cds] = s.on_request(delta_req(CLUSTER))
    assert names(cds) == []


# --- fast paths ----------------------------------------------------------------------------


class _NameByName(DeltaStream):
    """The delta machine without the shortcut."""

    @staticmethod
    def _changes_from_synced(
        st: _DeltaType, synced: TypeResources, desired: TypeResources
    ) -> tuple[list[str], list[str]]:
        return DeltaStream._changes(st, desired)


def _summary(responses: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (r.type_url, r.system_version_info, r.nonce, r.names, r.removed_resources)
        for r in responses
    ]


def _random_snapshot(rng: random.Random) -> Any:
    clusters = {f"c{i}": rng.randint(1, 3) for i in range(8) if rng.random() < 0.7}
    endpoints = {n: rng.choice((8000, 8001)) for n in clusters if rng.random() < 0.9}
    return snapshot(clusters=clusters, endpoints=endpoints)


def test_delta_shortcut_matches_name_by_name_on_random_runs() -> None:
    for seed in range(60):
        _random_run(seed)


def _random_run(seed: int) -> None:
    rng = random.Random(seed)
    fast, slow = DeltaStream(tracker("delta"), "d"), _NameByName(tracker("delta"), "d")
    sent: dict[str, Any] = {}

    def step(call: str, *args: Any) -> None:
        a = getattr(fast, call)(*args)
        b = getattr(slow, call)(*args)
        assert _summary(a) == _summary(b), (seed, call, args)
        for r in a:
            sent[r.type_url] = r

    snap = _random_snapshot(rng)
    step("on_snapshot", snap)
    step("on_request", delta_req(CLUSTER))
    step("on_request", delta_req(LISTENER))
    for _ in range(40):
        op = rng.random()
        if op < 0.25:
            snap = _random_snapshot(rng)
            step("on_snapshot", snap)
        elif op < 0.6 and sent:
            type_url = rng.choice(sorted(sent))
            error = "bad" if rng.random() < 0.1 else None
            step("on_request", delta_req(type_url, nonce=sent.pop(type_url).nonce, error=error))
        elif op < 0.75:
            names = tuple(rng.sample([f"c{i}" for i in range(8)], 2))
            step("on_request", delta_req(ENDPOINT, subscribe=names))
        elif op < 0.85:
            step("on_request", delta_req(ENDPOINT, unsubscribe=(f"c{rng.randrange(8)}",)))
        elif op < 0.9:
            step("on_request", delta_req(ROUTE, subscribe=("80",)))
        else:
            step("on_request", delta_req(CLUSTER, nonce="stale"))
    view_fast = fast.status.view(snap).types
    view_slow = slow.status.view(snap).types
    assert {t: v.state for t, v in view_fast.items()} == {t: v.state for t, v in view_slow.items()}


def test_delta_change_of_one_cluster_sends_it_and_its_endpoints() -> None:
    s = DeltaStream(tracker("delta"), "d")
    s.on_snapshot(snapshot(clusters={"c1": 1, "c2": 1}))
    [cds] = s.on_request(delta_req(CLUSTER))
    [eds] = s.on_request(delta_req(ENDPOINT, subscribe=("c1", "c2")))
    assert s.on_request(delta_req(CLUSTER, nonce=cds.nonce)) == []
    s.on_request(delta_req(ENDPOINT, nonce=eds.nonce))
    cds, eds = s.on_snapshot(snapshot(clusters={"c1": 1, "c2": 2}))
    assert cds.names == ("c2",) and eds.names == ("c2",)


def test_delta_streams_share_nonces_and_bytes_and_never_reuse_a_nonce() -> None:
    first = snapshot(clusters={"c1": 1, "c2": 2})
    changed = snapshot(clusters={"c1": 1, "c2": 3})
    streams = [DeltaStream(tracker("delta"), f"d{i}-", shared_nonces=True) for i in range(2)]
    sent: list[list[Any]] = [[], []]
    for i, s in enumerate(streams):
        s.on_snapshot(first)
        [cds] = s.on_request(delta_req(CLUSTER))
        [eds] = s.on_request(delta_req(ENDPOINT, subscribe=("c1", "c2")))
        s.on_request(delta_req(CLUSTER, nonce=cds.nonce))
        s.on_request(delta_req(ENDPOINT, nonce=eds.nonce))
        sent[i] += [cds, eds, *s.on_snapshot(changed)]
    assert [r.nonce for r in sent[0]] == [r.nonce for r in sent[1]]
    assert all(wire.encode(a) is wire.encode(b) for a, b in zip(*sent, strict=True))
    parsed = sent[0][2].message()
    assert parsed.nonce == sent[0][2].nonce and [r.name for r in parsed.resources] == ["c2"]

    # Envoy asks for c2's endpoints again: the same body as the last one, never the same nonce.
    s = streams[0]
    s.on_request(delta_req(CLUSTER, nonce=sent[0][2].nonce))
    s.on_request(delta_req(ENDPOINT, nonce=sent[0][3].nonce))
    [again] = s.on_request(delta_req(ENDPOINT, subscribe=("c2",)))
    assert again.body is sent[0][3].body
    nonces = [r.nonce for r in [*sent[0], again]]
    assert len(set(nonces)) == len(nonces)


def test_delta_equal_name_sets_are_one_object() -> None:
    held = []
    for i in range(2):
        s = DeltaStream(tracker("delta"), f"d{i}-")
        s.on_snapshot(snapshot(clusters={"c1": 1, "c2": 2}))
        s.on_request(delta_req(CLUSTER))
        s.on_request(delta_req(ENDPOINT, subscribe=("c1",)))
        s.on_request(delta_req(ENDPOINT, subscribe=("c2",)))
        held.append(s._types[ENDPOINT].names)
    assert held[0] == frozenset({"c1", "c2"}) and held[0] is held[1]


def test_break_after_make_keeps_a_dropped_cluster_until_the_routes_moved_off_it() -> None:
    """As in state of the world: c1 is removed only once the route to c2 is acknowledged."""
    s, _ = synced_stream()
    [cds, eds] = s.on_snapshot(snapshot(clusters={"c2": 1}, routes={"80": "c2"}))
    assert names(cds) == ["c2"] and list(cds.removed_resources) == []
    assert s.on_request(ack(cds)) == []
    [eds2] = s.on_request(ack(eds, subscribe=("c2",)))
    assert names(eds2) == ["c2"] and list(eds2.removed_resources) == []
    [rds] = s.on_request(ack(eds2))
    assert rds.type_url == ROUTE and list(rds.removed_resources) == []
    [cds2, eds3] = s.on_request(ack(rds))
    assert names(cds2) == [] and list(cds2.removed_resources) == ["c1"]
    assert list(eds3.removed_resources) == ["c1"]
