"""The snapshot cache: the latest snapshot per node, and waking the streams that watch it."""

from __future__ import annotations

from ads_playbook import snapshot

from sailmesh.ads.cache import SnapshotCache


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


def test_set_get_clear_and_nodes() -> None:
    cache = SnapshotCache()
    first, second = snapshot(), snapshot(clusters={"c2": 1})
    assert cache.get("a") is None and cache.nodes() == []
    cache.set_snapshot("b", first)
    cache.set_snapshot("a", first)
    cache.set_snapshot("a", second)
    assert cache.get("a") is second and cache.get("b") is first
    assert cache.nodes() == ["a", "b"]  # sorted
    cache.clear("a")
    cache.clear("missing")  # nothing to forget
    assert cache.get("a") is None and cache.nodes() == ["b"]


def test_set_snapshot_wakes_every_watcher_of_that_node_even_for_the_same_snapshot() -> None:
    cache = SnapshotCache()
    seen: list[str] = []
    cache.watch("a", lambda: seen.append("a1"))
    cache.watch("a", lambda: seen.append("a2"))
    cache.watch("b", lambda: seen.append("b"))
    snap = snapshot()
    cache.set_snapshot("a", snap)
    cache.set_snapshot("a", snap)
    assert seen == ["a1", "a2", "a1", "a2"]


def test_cancel_stops_notifications_and_can_be_called_twice() -> None:
    cache = SnapshotCache()
    seen: list[str] = []
    cancel_one = cache.watch("a", lambda: seen.append("one"))
    cache.watch("a", lambda: seen.append("two"))
    cancel_one()
    cancel_one()
    cache.set_snapshot("a", snapshot())
    assert seen == ["two"]


def test_the_last_cancel_forgets_the_node() -> None:
    cache = SnapshotCache()
    cancel = cache.watch("a", lambda: None)
    cancel()
    assert cache._watchers == {}


def test_a_batch_wakes_nodes_whose_snapshot_holds_other_resource_objects() -> None:
    cache = SnapshotCache()
    seen: list[str] = []
    cache.watch("a", lambda: seen.append("a"))
    cache.set_snapshots([("a", snapshot())])
    cache.set_snapshots([("a", snapshot())])  # equal content, but built anew: other objects
    assert seen == ["a", "a"]
