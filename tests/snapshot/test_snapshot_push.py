"""PushRequest: which xDS types a change alters, and for which proxies (Istio's push scoping)."""

from __future__ import annotations

import pytest

from sailmesh.registry.model import frozen_map
from sailmesh.snapshot.proxy import Proxy
from sailmesh.snapshot.push import ALL_TYPES, PushRequest, ScopedChange, types_of_kind

REVIEWS = Proxy(
    "sidecar", "10.0.0.1", "reviews-1", "default", labels=frozen_map({"app": "reviews"})
)
RATINGS = Proxy(
    "sidecar", "10.0.0.2", "ratings-1", "default", labels=frozen_map({"app": "ratings"})
)
SHOP = Proxy("sidecar", "10.0.0.3", "cart-1", "shop", labels=frozen_map({"app": "reviews"}))
NOT_SDS = frozenset({"CDS", "EDS", "LDS", "RDS"})


def change(
    kind: str, namespace: str = "default", *selectors: dict[str, str] | None
) -> ScopedChange:
    return ScopedChange((kind, namespace, "x"), selectors or (None,))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("VirtualService", {"LDS", "RDS"}),
        ("Gateway", {"LDS", "RDS", "SDS"}),
        ("DestinationRule", {"CDS", "EDS", "RDS"}),
        ("ServiceEntry", NOT_SDS),
        ("WorkloadEntry", {"EDS"}),
        ("Sidecar", NOT_SDS),
        ("PeerAuthentication", {"CDS", "LDS"}),
        ("AuthorizationPolicy", {"LDS"}),
        ("RequestAuthentication", {"LDS"}),
        ("Telemetry", {"LDS"}),
        ("WasmPlugin", {"LDS"}),
        ("EnvoyFilter", ALL_TYPES),
        ("Secret", {"SDS"}),
        ("Service", NOT_SDS),
        ("SomethingNew", ALL_TYPES),  # unknown kinds: everything, to be safe
    ],
)
def test_types_of_kind(kind: str, expected: set[str]) -> None:
    assert types_of_kind(kind) == frozenset(expected)


def test_all_types() -> None:
    assert frozenset({"CDS", "EDS", "LDS", "RDS", "SDS"}) == ALL_TYPES


def test_full_push_sends_everything_to_everyone() -> None:
    request = PushRequest(full=True)
    assert request.affected_types(REVIEWS) == ALL_TYPES
    assert request.changed_types() == ALL_TYPES
    assert request.affected([REVIEWS, SHOP]) == {REVIEWS: ALL_TYPES, SHOP: ALL_TYPES}


def test_endpoints_only_push_sends_eds() -> None:
    request = PushRequest(endpoints_only=True)
    assert request.affected_types(SHOP) == {"EDS"}
    assert request.changed_types() == {"EDS"}


def test_endpoints_only_with_changes_adds_eds_to_their_types() -> None:
    request = PushRequest(changes=(change("VirtualService"),), endpoints_only=True)
    assert request.affected_types(REVIEWS) == {"EDS", "LDS", "RDS"}
    assert request.changed_types() == {"EDS", "LDS", "RDS"}


def test_an_empty_request_affects_nobody() -> None:
    request = PushRequest()
    assert request.affected_types(REVIEWS) == frozenset()
    assert request.changed_types() == frozenset()
    assert request.affected([REVIEWS, SHOP]) == {}


def test_routing_kinds_reach_every_namespace() -> None:
    request = PushRequest(changes=(change("DestinationRule", "shop"),))
    assert request.affected([REVIEWS, SHOP]) == {
        REVIEWS: {"CDS", "EDS", "RDS"},
        SHOP: {"CDS", "EDS", "RDS"},
    }


@pytest.mark.parametrize(
    ("namespace", "selectors", "reached"),
    [
        ("default", (None,), {"reviews-1", "ratings-1"}),  # namespace-wide
        ("default", ({"app": "reviews"},), {"reviews-1"}),
        ("default", ({"app": "other"},), set()),
        ("default", ({"app": "reviews"}, {"app": "ratings"}), {"reviews-1", "ratings-1"}),
        ("shop", (None,), {"cart-1"}),
        ("shop", ({"app": "reviews"},), {"cart-1"}),  # the label matches only in its namespace
        ("istio-system", ({"app": "nothing"},), {"reviews-1", "ratings-1", "cart-1"}),  # root
        ("elsewhere", (None,), set()),
    ],
)
def test_workload_scoped_changes_reach_selected_proxies(
    namespace: str, selectors: tuple[dict[str, str] | None, ...], reached: set[str]
) -> None:
    request = PushRequest(changes=(change("AuthorizationPolicy", namespace, *selectors),))
    affected = request.affected([REVIEWS, RATINGS, SHOP])
    assert {p.pod_name for p in affected} == reached
    assert all(types == {"LDS"} for types in affected.values())
    assert request.changed_types() == {"LDS"}  # what the batch alters for some proxy


def test_root_namespace_is_the_requests_own() -> None:
    request = PushRequest(changes=(change("Telemetry", "mesh-root"),), root_namespace="mesh-root")
    assert request.affected_types(SHOP) == {"LDS"}
    assert PushRequest(changes=(change("Telemetry", "mesh-root"),)).affected_types(SHOP) == set()


def test_a_selected_and_an_unselected_change_sum_what_applies() -> None:
    request = PushRequest(
        changes=(
            change("PeerAuthentication", "default", {"app": "ratings"}),
            change("Sidecar", "default", {"app": "reviews"}),
            change("VirtualService", "shop"),
        )
    )
    assert request.affected_types(REVIEWS) == NOT_SDS
    assert request.affected_types(RATINGS) == {"CDS", "LDS", "RDS"}
    assert request.affected_types(SHOP) == {"LDS", "RDS"}
    assert request.changed_types() == NOT_SDS


def test_namespace_wide_peer_authentication_reaches_every_client_cds() -> None:
    """Auto mTLS reads the namespace-wide mode of the service's namespace: every proxy's
    clusters may change; only the namespace's own workloads get new inbound chains."""
    request = PushRequest(changes=(change("PeerAuthentication", "shop"),))
    assert request.affected([REVIEWS, SHOP]) == {REVIEWS: {"CDS"}, SHOP: {"CDS", "LDS"}}
    selected = PushRequest(changes=(change("PeerAuthentication", "shop", {"app": "reviews"}),))
    assert selected.affected([REVIEWS, SHOP]) == {SHOP: {"CDS", "LDS"}}


def test_merge_joins_changes_and_reasons() -> None:
    a = PushRequest(changes=(change("VirtualService"),), reason="vs", root_namespace="root")
    b = PushRequest(changes=(change("Secret"),), reason="secret")
    merged = a.merge(b)
    assert merged.changes == a.changes + b.changes
    assert merged.reason == "vs, secret"
    assert merged.root_namespace == "root"
    assert merged.full is False and merged.endpoints_only is False
    assert merged.changed_types() == {"LDS", "RDS", "SDS"}


@pytest.mark.parametrize(
    ("left", "right", "full", "endpoints_only", "reason"),
    [
        (PushRequest(full=True), PushRequest(), True, False, ""),
        (PushRequest(endpoints_only=True), PushRequest(endpoints_only=True), False, True, ""),
        (PushRequest(endpoints_only=True, reason="eds"), PushRequest(), False, False, "eds"),
        (PushRequest(), PushRequest(reason="b"), False, False, "b"),
    ],
)
def test_merge_flags(
    left: PushRequest, right: PushRequest, full: bool, endpoints_only: bool, reason: str
) -> None:
    merged = left.merge(right)
    assert (merged.full, merged.endpoints_only, merged.reason) == (full, endpoints_only, reason)


def test_root_namespace_does_not_take_part_in_equality() -> None:
    assert PushRequest(root_namespace="a") == PushRequest(root_namespace="b")
