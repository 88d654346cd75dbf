"""Sidecar egress listeners with a port: own listeners and route configs with only their hosts,
the catch-all for the other ports, the first listener winning an address and port."""

from __future__ import annotations

import xds_fixtures as fx
from xds_cases import CASES

from sailmesh.ads.resources import CLUSTER, LISTENER, ROUTE
from sailmesh.xds.egress_listeners import egress_views
from sailmesh.xds.names import BLOCK_ALL_VHOST
from sailmesh.xds.scope import build_scope
from sailmesh.xds.translate import translate

DETAILS = "details.default.svc.cluster.local"


def _resources() -> dict[str, dict[str, object]]:
    return translate(fx.productpage_proxy(), CASES["sidecar_egress_listeners"]())


def _hosts(config: object) -> list[str]:
    return [vh.name for vh in config.virtual_hosts]  # type: ignore[attr-defined]


def test_views_follow_the_sidecar_order() -> None:
    scope = build_scope(fx.productpage_proxy(), CASES["sidecar_egress_listeners"]())
    views = egress_views(scope)
    assert [(v.port, v.address, v.bind_to_port) for v in views] == [
        (9080, "0.0.0.0", False),
        (9080, "127.0.0.1", True),
        (3306, "127.0.0.1", True),
        (9080, "unix://@sailmesh-test-out", True),
        (None, "0.0.0.0", False),
    ]
    assert [s.hostname for s in views[0].scope.services] == ["reviews.default.svc.cluster.local"]


def test_each_port_listener_routes_only_its_hosts() -> None:
    routes = _resources()[ROUTE]
    assert _hosts(routes["9080"]) == ["reviews.default.svc.cluster.local:9080", "allow_any"]
    # bound listeners have no original destination: unknown hosts get 502, not a loop
    assert _hosts(routes["127.0.0.1:9080"]) == [
        "ratings.default.svc.cluster.local:9080",
        BLOCK_ALL_VHOST,
    ]


def test_the_port_listener_holds_its_port_against_the_catch_all() -> None:
    out = _resources()
    # details (catch-all) is on 9080 too: the first listener for 0.0.0.0:9080 wins
    assert all(DETAILS not in h for h in _hosts(out[ROUTE]["9080"]))
    # but its cluster is there (clusters are every listener's services together)
    assert f"outbound|9080||{DETAILS}" in out[CLUSTER]


def test_bound_listeners_bind_and_captured_ones_do_not() -> None:
    listeners = _resources()[LISTENER]
    assert listeners["0.0.0.0_9080"].bind_to_port.value is False  # type: ignore[attr-defined]
    bound = listeners["127.0.0.1_3306"]
    assert not bound.HasField("bind_to_port")  # type: ignore[attr-defined]
    assert listeners["unix://@sailmesh-test-out_9080"].address.pipe.path == "@sailmesh-test-out"  # type: ignore[attr-defined]


def test_without_a_port_listener_the_scope_is_used_as_it_is() -> None:
    scope = build_scope(fx.productpage_proxy(), CASES["sidecar_egress_proxy"]())
    assert egress_views(scope) == []
