"""Per-proxy resource snapshots: packing, content-hash versions, diffs and the push order."""

from __future__ import annotations

import pytest
from ads_playbook import snapshot
from envoy.config.cluster.v3 import cluster_pb2
from google.protobuf import any_pb2, duration_pb2

from sailmesh.ads.resources import (
    CLUSTER,
    ENDPOINT,
    GATED_TYPES,
    LISTENER,
    PUSH_ORDER,
    ROUTE,
    SECRET,
    WARMING_TYPES,
    WILDCARD_TYPES,
    ResourceSnapshot,
    TypeResources,
    changes_between,
    subscribed_versions,
)


def cluster(name: str, timeout: int = 1) -> cluster_pb2.Cluster:
    return cluster_pb2.Cluster(name=name, connect_timeout=duration_pb2.Duration(seconds=timeout))


def clusters(**timeouts: int) -> TypeResources:
    return TypeResources.build(CLUSTER, {n: cluster(n, t) for n, t in timeouts.items()})


def test_type_sets() -> None:
    assert PUSH_ORDER == (CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET)
    assert {CLUSTER, LISTENER} == WILDCARD_TYPES
    assert {LISTENER, ROUTE} == GATED_TYPES
    assert {CLUSTER, ENDPOINT} == WARMING_TYPES


def test_build_packs_sorted_by_name_with_per_resource_versions() -> None:
    built = clusters(b=1, a=2)
    assert list(built.packed) == ["a", "b"]
    assert built.packed["a"].type_url == CLUSTER
    assert cluster_pb2.Cluster.FromString(built.packed["a"].value) == cluster("a", 2)
    assert list(built.versions) == ["a", "b"]
    assert all(len(v) == 16 for v in built.versions.values())
    assert len(built.version) == 16


def test_versions_are_content_hashes() -> None:
    assert clusters(a=1, b=2).version == clusters(b=2, a=1).version  # order does not matter
    assert clusters(a=1).versions["a"] == clusters(a=1, b=2).versions["a"]
    assert clusters(a=1).versions["a"] != clusters(a=2).versions["a"]
    assert clusters(a=1).version != clusters(a=1, b=2).version
    # The type is part of a set's version, not of a resource's.
    empty_clusters, empty_routes = TypeResources.build(CLUSTER, {}), TypeResources.build(ROUTE, {})
    assert empty_clusters.version != empty_routes.version


def test_prepacked_any_is_kept_as_is() -> None:
    packed = any_pb2.Any(type_url=CLUSTER, value=cluster("a").SerializeToString(deterministic=True))
    built = TypeResources.build(CLUSTER, {"a": packed})
    assert built.packed["a"] is packed
    assert built.versions["a"] == clusters(a=1).versions["a"]


def test_merge_equals_building_the_union_and_later_parts_win() -> None:
    merged = TypeResources.merge(CLUSTER, clusters(a=1, b=1), clusters(b=2, c=3))
    expected = clusters(a=1, b=2, c=3)
    assert merged.version == expected.version
    assert dict(merged.versions) == dict(expected.versions)
    assert list(merged.packed) == ["a", "b", "c"]


def test_resources_are_read_only() -> None:
    built = clusters(a=1)
    with pytest.raises(TypeError):
        built.versions["a"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        built.packed["b"] = any_pb2.Any()  # type: ignore[index]


def test_changes_between() -> None:
    old, new = clusters(a=1, b=1, c=1), clusters(a=1, b=2, d=1)
    assert changes_between(old, new) == (("b", "d"), ("c",))
    assert changes_between(old, clusters(a=1, b=1, c=1)) == ((), ())  # same version
    assert changes_between(new, old) == (("b", "c"), ("d",))


def test_changes_between_is_computed_once_per_pair() -> None:
    old, new = clusters(a=1), clusters(a=2)
    first = changes_between(old, new)
    assert changes_between(old, new) is first
    assert new.memo["diff"] == {old.version: first}


def test_diffs_kept_per_set_are_bounded() -> None:
    new = clusters(a=0)
    for timeout in range(1, 20):
        changes_between(clusters(a=timeout), new)
    assert len(new.memo["diff"]) == 16


def test_subscribed_versions_are_shared_per_name_set() -> None:
    built = clusters(a=1, b=2, c=3)
    names = frozenset({"c", "a", "missing"})
    found = subscribed_versions(built, names)
    assert list(found) == ["a", "c"]
    assert dict(found) == {"a": built.versions["a"], "c": built.versions["c"]}
    assert subscribed_versions(built, names) is found


def test_resource_snapshot() -> None:
    snap = snapshot(clusters={"c1": 1}, routes={})
    assert list(snap) == [CLUSTER, ENDPOINT, LISTENER, ROUTE]
    assert list(snap.of(CLUSTER).packed) == ["c1"]
    assert snap.version(CLUSTER) == snap.of(CLUSTER).version
    absent = snap.of(SECRET)
    assert dict(absent.packed) == {} and absent.type_url == SECRET
    assert snap.of(SECRET) is absent  # one shared empty set per type
    assert snap.version(SECRET) == TypeResources.build(SECRET, {}).version
    assert dict(ResourceSnapshot().types) == {}
