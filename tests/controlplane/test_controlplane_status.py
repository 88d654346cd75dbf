"""Proxy sync status as the JSON records ``sailctl proxy-status`` prints."""

from __future__ import annotations

from sailmesh.ads.resources import CLUSTER, ResourceSnapshot
from sailmesh.ads.status import StatusTracker
from sailmesh.clock import ManualClock
from sailmesh.controlplane.status import proxy_status_records

NODE = "sidecar~10.0.0.1~a-1.default~default.svc.cluster.local"


def test_records_name_every_type_and_carry_versions_and_nacks() -> None:
    clock = ManualClock()
    tracker = StatusTracker(NODE, f"{NODE}/1", "delta", clock)
    tracker.subscribed(CLUSTER)
    tracker.sent(CLUSTER, "v1", "n1")
    tracker.nacked(CLUSTER, "v1", "n1", "bad cluster")
    (record,) = proxy_status_records([tracker.view(ResourceSnapshot.build({CLUSTER: {}}))])
    assert record["node"] == NODE and record["mode"] == "delta"
    assert record["connectedAt"] == clock.wall()
    assert list(record["types"]) == ["CDS", "LDS", "EDS", "RDS", "SDS"]
    cds = record["types"]["CDS"]
    assert cds["state"] == "NACKED" and cds["sent"] == "v1" and cds["acked"] is None
    assert cds["nack"] == {"version": "v1", "message": "bad cluster"}
    assert record["types"]["SDS"] == {"state": "NOT SENT"}
