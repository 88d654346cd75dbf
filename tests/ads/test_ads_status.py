"""Per-proxy sync status: what was sent, acknowledged or rejected, in Istio's vocabulary."""

from __future__ import annotations

from ads_playbook import NODE, snapshot

from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET
from sailmesh.ads.status import Nack, StatusTracker, SyncState
from sailmesh.clock import ManualClock


def started() -> tuple[StatusTracker, ManualClock]:
    clock = ManualClock(start=100.0, wall_start=100.0)
    return StatusTracker(NODE, f"{NODE}/7", "delta", clock), clock


def test_a_new_tracker_knows_its_stream_and_nothing_else() -> None:
    status, _ = started()
    view = status.view()
    assert (view.node_id, view.stream_id, view.mode, view.connected_at) == (
        NODE,
        f"{NODE}/7",
        "delta",
        100.0,
    )
    assert dict(view.types) == {}
    assert view.state(CLUSTER) == SyncState.NOT_SENT


def test_sent_then_acked_is_synced_with_times() -> None:
    status, clock = started()
    status.subscribed(CLUSTER)
    clock.advance(101.0 - clock.wall())
    status.sent(CLUSTER, "v1", "n1")
    assert status.view().state(CLUSTER) == SyncState.STALE  # sent, not yet acknowledged
    clock.advance(102.5 - clock.wall())
    status.acked(CLUSTER, "v1", "n1")
    found = status.view().types[CLUSTER]
    assert found.state == SyncState.SYNCED
    assert (found.sent_version, found.sent_nonce, found.sent_at) == ("v1", "n1", 101.0)
    assert (found.acked_version, found.acked_at) == ("v1", 102.5)
    assert found.subscribed is True and found.nack is None and found.desired_version is None


def test_a_rejected_response_is_nacked_with_envoys_message() -> None:
    status, clock = started()
    status.sent(CLUSTER, "v1", "n1")
    status.acked(CLUSTER, "v1", "n1")
    status.sent(CLUSTER, "v2", "n2")
    clock.advance(105.0 - clock.wall())
    status.nacked(CLUSTER, "v1", "n2", "bad cluster")
    found = status.view().types[CLUSTER]
    assert found.state == SyncState.NACKED
    assert found.nack == Nack("v1", "n2", "bad cluster", 105.0)


def test_a_nack_of_a_withdrawn_version_is_synced_once_the_wanted_version_is_held() -> None:
    desired = snapshot()
    wanted = desired.version(CLUSTER)
    status, _ = started()
    status.subscribed(CLUSTER)
    status.sent(CLUSTER, wanted, "n1")
    status.acked(CLUSTER, wanted, "n1")
    status.sent(CLUSTER, "rejected", "n2")
    status.nacked(CLUSTER, wanted, "n2", "bad")
    view = status.view(desired)
    assert view.types[CLUSTER].desired_version == wanted
    assert view.state(CLUSTER) == SyncState.SYNCED  # the control plane went back to `wanted`
    assert status.view(snapshot(clusters={"other": 1})).state(CLUSTER) == SyncState.NACKED
    assert status.view().state(CLUSTER) == SyncState.NACKED  # no desired snapshot known


def test_acked_but_not_the_desired_version_is_stale_only_when_subscribed() -> None:
    desired = snapshot()
    status, _ = started()
    status.sent(CLUSTER, "old", "n1")
    status.acked(CLUSTER, "old", "n1")
    assert status.view(desired).state(CLUSTER) == SyncState.SYNCED  # not subscribed: no wish
    status.subscribed(CLUSTER)
    assert status.view(desired).state(CLUSTER) == SyncState.STALE
    status.sent(CLUSTER, desired.version(CLUSTER), "n2")
    status.acked(CLUSTER, desired.version(CLUSTER), "n2")
    assert status.view(desired).state(CLUSTER) == SyncState.SYNCED


def test_in_sync_on_a_new_stream_counts_as_acknowledged() -> None:
    status, clock = started()
    status.subscribed(LISTENER)
    clock.advance(110.0 - clock.wall())
    status.in_sync(LISTENER, "v9")
    found = status.view().types[LISTENER]
    assert (found.state, found.acked_version, found.acked_at) == (SyncState.SYNCED, "v9", 110.0)


def test_in_sync_does_not_override_a_response_in_flight() -> None:
    status, _ = started()
    status.sent(ROUTE, "v2", "n2")
    status.in_sync(ROUTE, "v1")
    found = status.view().types[ROUTE]
    assert (found.state, found.acked_version) == (SyncState.STALE, None)


def test_types_are_listed_in_push_order_then_by_name() -> None:
    status, _ = started()
    for type_url in ("zz.custom", ROUTE, SECRET, "aa.custom", CLUSTER, ENDPOINT):
        status.subscribed(type_url)
    assert list(status.view().types) == [CLUSTER, ENDPOINT, ROUTE, SECRET, "aa.custom", "zz.custom"]


def test_sync_state_text_is_istios() -> None:
    assert [s.value for s in SyncState] == ["SYNCED", "STALE", "NOT SENT", "NACKED"]
