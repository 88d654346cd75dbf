"""The generator table: one generator per sidecar type in push order, and the partial builds
(per host, inbound only) equal to the matching parts of the full build."""

from __future__ import annotations

import pytest
from xds_fixtures import config, productpage_proxy, snapshot

from config_support.manifests import manifests
from sailmesh.typeurls import CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET
from sailmesh.xds.clusters import build_clusters
from sailmesh.xds.endpoints import build_endpoints
from sailmesh.xds.generate import (
    GENERATORS,
    SIDECAR_TYPES,
    generate,
    generate_for_hosts,
    inbound_clusters,
    is_inbound_cluster,
    routes_read_destination_rules,
)
from sailmesh.xds.options import DEFAULT_OPTIONS
from sailmesh.xds.scope import build_scope

REVIEWS = "reviews.default.svc.cluster.local"
HASHING = manifests("""
DestinationRule default/ratings
  host: ratings
  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}
""")


def test_one_generator_per_sidecar_type_in_push_order() -> None:
    assert SIDECAR_TYPES == (CLUSTER, ENDPOINT, LISTENER, ROUTE) == tuple(GENERATORS)


def test_generate_runs_the_generator_of_each_wanted_type() -> None:
    snap = snapshot(config(files=("destination-rule-all.yaml",)))
    proxy = productpage_proxy()
    everything = generate(proxy, snap)
    assert list(everything) == list(SIDECAR_TYPES)
    scope = build_scope(proxy, snap)
    for type_url, generator in GENERATORS.items():
        assert everything[type_url] == generator(scope, DEFAULT_OPTIONS)
    assert list(generate(proxy, snap, types=[ROUTE, SECRET])) == [ROUTE]


def test_per_host_builds_are_the_full_builds_of_those_hosts() -> None:
    snap = snapshot(config(files=("destination-rule-all.yaml",)))
    scope = build_scope(productpage_proxy(), snap)
    clusters = generate_for_hosts(scope, CLUSTER, frozenset({REVIEWS}))
    assert set(clusters) == {
        f"outbound|9080|{subset}|{REVIEWS}" for subset in ("", "v1", "v2", "v3")
    }
    full = build_clusters(scope)
    assert all(clusters[name] == full[name] for name in clusters)
    endpoints = generate_for_hosts(scope, ENDPOINT, frozenset({REVIEWS}))
    assert sorted(endpoints) == sorted(clusters)
    full_endpoints = build_endpoints(scope)
    assert all(endpoints[name] == full_endpoints[name] for name in endpoints)
    with pytest.raises(ValueError):
        generate_for_hosts(scope, ROUTE, frozenset({REVIEWS}))


def test_inbound_clusters_are_the_inbound_part_of_the_full_build() -> None:
    scope = build_scope(productpage_proxy(), snapshot(config()))
    inbound = inbound_clusters(scope)
    assert list(inbound) == ["inbound|9080||"]
    full = build_clusters(scope)
    assert {n: c for n, c in full.items() if is_inbound_cluster(n)} == inbound
    assert not is_inbound_cluster(f"outbound|9080||{REVIEWS}")


def test_routes_read_destination_rules_only_through_consistent_hash() -> None:
    assert not routes_read_destination_rules(snapshot(config(files=("destination-rule-all.yaml",))))
    assert routes_read_destination_rules(snapshot(config(HASHING)))
