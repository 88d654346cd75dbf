"""The shortcuts the stream machines take with many proxies give the same answers as without.

- delta: a stream that holds exactly an earlier set diffs it against the new one (once for all
  streams) instead of name by name; checked against the name-by-name machine on random runs;
- SotW: streams share nonces and so the encoded bytes of a response, and never reuse a nonce
  of a type; equal subscribed name sets are one object;
- the snapshot cache sets a batch of snapshots before waking anyone, and skips unchanged ones.
"""

from __future__ import annotations

import random
from types import MappingProxyType
from typing import Any

from ads_playbook import ack, delta_req, names_of, req, snapshot, tracker

from sailmesh.ads import wire
from sailmesh.ads.cache import SnapshotCache
from sailmesh.ads.delta import DeltaStream, _DeltaType
from sailmesh.ads.resources import (
    CLUSTER,
    ENDPOINT,
    LISTENER,
    ROUTE,
    ResourceSnapshot,
    TypeResources,
)
from sailmesh.ads.stream import SotwStream


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


def test_cache_sets_a_batch_then_wakes_changed_nodes_once() -> None:
    cache = SnapshotCache()
    snap = snapshot()
    seen: list[tuple[str, bool]] = []
    for node in ("a", "b"):
        cache.watch(node, lambda node=node: seen.append((node, cache.get("b") is not None)))
    cache.set_snapshots([("a", snap), ("b", snap)])
    assert seen == [("a", True), ("b", True)]  # "a" woken after "b" was set too
    cache.set_snapshots([("a", snap), ("b", snapshot(clusters={"c9": 1}))])
    assert seen[2:] == [("b", True)]  # "a" holds the same resources: not woken
