"""A push context takes over what a config change leaves valid (``pushcache.Carry``).

Every test compares the carried results with a translation from scratch of the changed
snapshot, and checks which types were taken over (the very same objects) and which rebuilt.
"""

from __future__ import annotations

import asyncio

import pytest
from push_mesh import (
    APPS,
    MESH,
    REVIEWS_DR,
    TYPES,
    alone,
    apply_and_wait_push,
    assert_served_as_translated_alone,
    connected_control_plane,
    load,
    node,
    proxy,
    push_after,
    services,
    workloads,
)

from config_support.manifests import manifests
from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, ResourceSnapshot
from sailmesh.config.resource import Resource
from sailmesh.controlplane.pushcache import Carry, PushContext
from sailmesh.registry.registry import compute_view
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.push import ALL_TYPES, types_of_kind
from sailmesh.snapshot.snapshot import MeshSnapshot
from sailmesh.xds.options import TranslateOptions

OPTIONS = TranslateOptions()
REVIEWS_VS = manifests("""
VirtualService default/reviews
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v1}}]}]
""")
REVIEWS_DR_HASH = manifests("""
DestinationRule default/reviews
  host: reviews
  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
""")
BASE = REVIEWS_DR + "---" + REVIEWS_VS
RATINGS_DR_POOL = manifests("""
DestinationRule default/ratings
  host: ratings.default.svc.cluster.local
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 7}}}
  subsets: [{name: v2, labels: {version: v2}}]
""")
WILDCARD_DR = manifests("""
DestinationRule default/everything
  host: "*.default.svc.cluster.local"
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 9}}}
""")
RATINGS_VS = manifests("""
VirtualService default/ratings
  hosts: [ratings]
  http: [{timeout: 3s, retries: {attempts: 2}, route: [{destination: {host: ratings}}]}]
""")
DETAILS_TCP_VS = manifests("""
VirtualService default/details
  hosts: [details]
  tcp: [{route: [{destination: {host: details, port: {number: 9000}}}]}]
""")
SIDECAR = manifests("""
Sidecar default/default
  egress: [{hosts: [./reviews.default.svc.cluster.local]}]
""")
POLICY = manifests("""
AuthorizationPolicy default/deny-ratings
  selector: {matchLabels: {app: ratings}}
  action: DENY
  rules: [{}]
""")
JWT_POLICY = manifests("""
RequestAuthentication default/jwt
  jwtRules: [{issuer: i, jwksUri: "http://reviews:9080/jwks"}]
""")

VIEW = compute_view(services(tcp_db=True), workloads())


def _proxies() -> list[Proxy]:
    return [proxy(app, n) for app in APPS for n in (1, 2)]


def _changed(
    before: list[Resource], after: list[Resource]
) -> list[tuple[Resource | None, Resource | None]]:
    old = {r.key: r for r in before}
    new = {r.key: r for r in after}
    return [
        (old.get(k), new.get(k))
        for k in sorted(old.keys() | new.keys())
        if k not in old or k not in new or old[k].to_dict() != new[k].to_dict()
    ]


def _carried(
    before: list[Resource], after: list[Resource], options: TranslateOptions = OPTIONS
) -> tuple[PushContext, PushContext, dict[str, ResourceSnapshot], dict[str, ResourceSnapshot]]:
    """Serve every proxy from ``before``, then from ``after`` with the carry; both results."""
    first = PushContext(MeshSnapshot.build(before, VIEW))
    old = {p.pod_name: first.resources(p, options) for p in _proxies()}
    carry = Carry.of(_changed(before, after))
    second = PushContext(MeshSnapshot.build(after, VIEW), first, carry)
    new = {p.pod_name: second.resources(p, options) for p in _proxies()}
    for one in _proxies():
        expected = alone(one, second.snapshot, options)
        got = new[one.pod_name]
        for t in TYPES:
            assert dict(got.of(t).versions) == dict(expected.of(t).versions), (one.pod_name, t)
            assert got.version(t) == expected.version(t)
    return first, second, old, new


def _taken_over(old: dict[str, ResourceSnapshot], new: dict[str, ResourceSnapshot]) -> set[str]:
    """Types every proxy got as the very same objects as before."""
    return {t for t in TYPES if all(new[n].of(t) is old[n].of(t) for n in old)}


@pytest.mark.parametrize(
    ("before", "after", "reused"),
    [
        pytest.param([BASE], [BASE, RATINGS_VS], {CLUSTER, ENDPOINT}, id="add-vs"),
        pytest.param([BASE, RATINGS_VS], [BASE], {CLUSTER, ENDPOINT}, id="delete-vs"),
        pytest.param([BASE], [BASE, DETAILS_TCP_VS], {CLUSTER, ENDPOINT}, id="tcp-vs"),
        pytest.param([BASE], [BASE, RATINGS_DR_POOL], {LISTENER, ROUTE}, id="add-dr"),
        pytest.param([BASE], [REVIEWS_DR_HASH, REVIEWS_VS], {LISTENER}, id="dr-hash"),
        pytest.param([REVIEWS_DR_HASH, REVIEWS_VS], [BASE], {LISTENER}, id="dr-unhash"),
        pytest.param(
            [REVIEWS_DR_HASH, REVIEWS_VS],
            [REVIEWS_DR_HASH, REVIEWS_VS, RATINGS_DR_POOL],
            {LISTENER},
            id="dr-while-hashing",
        ),
        pytest.param([BASE], [BASE, WILDCARD_DR], {LISTENER, ROUTE}, id="wildcard-dr"),
        pytest.param([BASE, RATINGS_DR_POOL], [BASE], {LISTENER, ROUTE}, id="delete-dr"),
        pytest.param([BASE], [BASE, SIDECAR], set(), id="sidecar"),
        pytest.param([BASE], [BASE, POLICY], set(), id="selector-policy"),
        # a namespace-wide RequestAuthentication changes the inbound listeners only
        pytest.param([BASE], [BASE, JWT_POLICY], {CLUSTER, ENDPOINT, ROUTE}, id="add-jwt"),
        pytest.param([BASE, JWT_POLICY], [BASE], {CLUSTER, ENDPOINT, ROUTE}, id="delete-jwt"),
    ],
)
def test_a_change_rebuilds_exactly_the_types_it_can_alter(
    before: list[str], after: list[str], reused: set[str]
) -> None:
    _, _, old, new = _carried(load(*before), load(*after))
    assert _taken_over(old, new) == reused


SDS = TranslateOptions(sds=True)
NAMESPACE_DISABLE = manifests("""
PeerAuthentication default/default
  mtls: {mode: DISABLE}
""")
WORKLOAD_STRICT = manifests("""
PeerAuthentication default/ratings
  selector: {matchLabels: {app: ratings}}
  mtls: {mode: STRICT}
  portLevelMtls: {9080: {mode: DISABLE}}
""")
RATINGS_DR_MUTUAL = manifests("""
DestinationRule default/ratings
  host: ratings.default.svc.cluster.local
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
""")


@pytest.mark.parametrize(
    ("before", "after", "reused", "changed"),
    [
        pytest.param(
            [BASE], [BASE, NAMESPACE_DISABLE], {ENDPOINT, ROUTE}, {CLUSTER, LISTENER}, id="ns-off"
        ),
        pytest.param(
            [BASE, NAMESPACE_DISABLE], [BASE], {ENDPOINT, ROUTE}, {CLUSTER, LISTENER}, id="ns-on"
        ),
        # a selector makes labels part of the keys (see "selector-policy"): nothing is shared;
        # clients cannot see workload policies, so only the ratings listeners change
        pytest.param([BASE], [BASE, WORKLOAD_STRICT], set(), {LISTENER}, id="workload-strict"),
        pytest.param([BASE], [BASE, RATINGS_DR_MUTUAL], {LISTENER, ROUTE}, {CLUSTER}, id="dr"),
    ],
)
def test_mutual_tls_changes_rebuild_clusters_and_listeners(
    before: list[str], after: list[str], reused: set[str], changed: set[str]
) -> None:
    """With workload identities, PeerAuthentication changes inbound chains and auto mTLS,
    DestinationRule tls the clusters of its host: the carried results equal fresh ones."""
    _, _, old, new = _carried(load(*before), load(*after), SDS)
    assert _taken_over(old, new) == reused
    assert {t for t in TYPES if any(new[n].version(t) != old[n].version(t) for n in old)} == changed


def test_destination_rule_consistent_hash_changes_routes() -> None:
    assert "RDS" in types_of_kind("DestinationRule")
    _, _, old, new = _carried(load(BASE), load(REVIEWS_DR_HASH, REVIEWS_VS))
    for name in old:
        assert new[name].version(ROUTE) != old[name].version(ROUTE)
        assert new[name].of(LISTENER) is old[name].of(LISTENER)


def test_shadowing_a_hashing_destination_rule_changes_routes() -> None:
    """A rule of the service's namespace hides the root namespace's hashing rule: the new rule
    sets no consistentHash, yet the routes lose their hash policy."""
    root_hash = REVIEWS_DR_HASH.replace("namespace: default", "namespace: istio-system").replace(
        "host: reviews", "host: reviews.default.svc.cluster.local"
    )
    before = load(root_hash, REVIEWS_VS)
    _, _, old, new = _carried(before, [*before, *load(REVIEWS_DR)])
    assert _taken_over(old, new) == {LISTENER}
    sample = next(iter(old))
    assert new[sample].version(ROUTE) != old[sample].version(ROUTE)


def test_destination_rule_of_one_host_rebuilds_only_that_hosts_clusters() -> None:
    _, second, old, new = _carried(load(BASE), load(BASE, RATINGS_DR_POOL))
    assert second.partial == 1  # one outbound key: clusters and endpoints rebuilt once
    assert second.translations == 0  # routes reused (no consistentHash), clusters rebuilt
    sample = next(iter(old))
    before, after = old[sample].of(CLUSTER).packed, new[sample].of(CLUSTER).packed
    ratings = [n for n in after if n.endswith("|ratings.default.svc.cluster.local")]
    assert sorted(ratings) == [
        "outbound|9080|v2|ratings.default.svc.cluster.local",
        "outbound|9080||ratings.default.svc.cluster.local",
    ]
    for name, value in after.items():
        if name.startswith("outbound|") and name not in ratings:
            assert value is before[name]  # the other hosts' packed clusters are reused
    assert before["outbound|9080||ratings.default.svc.cluster.local"] != after[ratings[1]]


def test_wildcard_destination_rule_rebuilds_whole_types() -> None:
    _, second, _, _ = _carried(load(BASE), load(BASE, WILDCARD_DR))
    assert second.partial == 0
    assert Carry.of([(None, load(WILDCARD_DR)[0])]).hosts is None


def test_carry_of_kinds() -> None:
    vs = load(RATINGS_VS)[0]
    dr = load(RATINGS_DR_POOL)[0]
    assert Carry.of([(None, vs)]) == Carry(frozenset({LISTENER, ROUTE}), frozenset())
    assert Carry.of([(dr, dr)]) == Carry(
        frozenset({CLUSTER, ENDPOINT}),
        frozenset({"ratings.default.svc.cluster.local"}),
        if_hashing=frozenset({ROUTE}),
    )
    assert Carry.of([(None, vs), (dr, dr)]).resolve().stale == {CLUSTER, ENDPOINT, LISTENER, ROUTE}
    assert Carry.of([(None, vs), (None, dr)]).hosts == frozenset(
        {"ratings.default.svc.cluster.local"}
    )
    service = load(MESH)[0]
    assert Carry.of([(None, service)]).hosts is None
    assert types_of_kind("SomethingNew") == ALL_TYPES


def test_released_context_takes_nothing_over() -> None:
    first = PushContext(MeshSnapshot.build(load(BASE), VIEW))
    one = _proxies()[0]
    first.resources(one, OPTIONS)
    second = PushContext(
        MeshSnapshot.build(load(BASE, RATINGS_VS), VIEW), first, Carry(frozenset({ROUTE}))
    )
    second.release()
    second.resources(one, OPTIONS)
    assert second.reused == 0 and second.translations == 1


def test_control_plane_carries_across_pushes() -> None:
    async def scenario() -> None:
        nodes = [node("reviews", n) for n in range(1, 4)] + [node("ratings", 4)]
        async with connected_control_plane(nodes) as cp:
            for change in (RATINGS_DR_POOL, RATINGS_VS, REVIEWS_DR_HASH):
                before = {n.id: cp.cache.get(n.id) for n in nodes}
                await apply_and_wait_push(cp, change)
                record = cp.last_push
                assert record is not None and record.reason == "config"
                assert record.proxies == len(nodes) and record.finished >= record.started
                ctx = cp.push_context
                assert ctx is not None and ctx.reused > 0
                for one in nodes:
                    now, old = cp.cache.get(one.id), before[one.id]
                    assert now is not None and old is not None and now is not old
                assert_served_as_translated_alone(cp, nodes, OPTIONS)

    asyncio.run(scenario())


def test_a_workload_label_change_regenerates_endpoints() -> None:
    """A pod published with ``security.istio.io/tlsMode`` (its sidecar got an identity) changes
    the registry: the next push rebuilds the endpoints, now carrying the tlsMode metadata."""
    from envoy.config.endpoint.v3 import endpoint_pb2

    from sailmesh.registry.model import TLS_MODE_ISTIO, TLS_MODE_LABEL, Workload, frozen_map

    name = "outbound|9080||ratings.default.svc.cluster.local"

    def served_modes(cp: object, one: object) -> list[dict[str, object]]:
        now = cp.cache.get(one.id)  # type: ignore[attr-defined]
        assert now is not None
        cla = endpoint_pb2.ClusterLoadAssignment()
        now.of(ENDPOINT).packed[name].Unpack(cla)
        return [
            dict(lb.metadata.filter_metadata.get("envoy.transport_socket_match", {}))
            for group in cla.endpoints
            for lb in group.lb_endpoints
        ]

    async def scenario() -> None:
        one = node("reviews", 1)
        async with connected_control_plane([one]) as cp:
            labels = {"app": "ratings", "version": "v1"}
            pod = Workload("ratings-1", "default", "10.0.0.9", frozen_map(labels))
            pushes = cp.pushes
            cp.registry.set_workload(pod)
            await push_after(cp, pushes)
            assert served_modes(cp, one) == [{}]
            labelled = frozen_map({**labels, TLS_MODE_LABEL: TLS_MODE_ISTIO})
            pushes = cp.pushes
            cp.registry.set_workload(Workload("ratings-1", "default", "10.0.0.9", labelled))
            await push_after(cp, pushes)
            assert served_modes(cp, one) == [{"tlsMode": "istio"}]

    asyncio.run(scenario())
