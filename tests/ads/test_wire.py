"""Pre-encoded responses: the bytes the server sends parse to the response the machine meant."""

from __future__ import annotations

from ads_playbook import ack, delta_req, req, snapshot, tracker
from envoy.service.discovery.v3 import discovery_pb2

from sailmesh.ads import wire
from sailmesh.ads.delta import DeltaStream
from sailmesh.ads.resources import CLUSTER, ENDPOINT, ROUTE
from sailmesh.ads.stream import SotwStream


def test_field_numbers_match_the_protos() -> None:
    sotw = discovery_pb2.DiscoveryResponse.DESCRIPTOR.fields_by_name
    delta = discovery_pb2.DeltaDiscoveryResponse.DESCRIPTOR.fields_by_name
    assert sotw["nonce"].number == wire.NONCE
    assert delta["system_version_info"].number == wire.DELTA_SYSTEM_VERSION
    assert delta["resources"].number == wire.DELTA_RESOURCES
    assert delta["type_url"].number == wire.DELTA_TYPE_URL
    assert delta["nonce"].number == wire.NONCE
    assert delta["removed_resources"].number == wire.DELTA_REMOVED


def test_sotw_bytes_are_the_full_response_and_bodies_are_shared() -> None:
    snap = snapshot(clusters={"c1": 1, "c2": 2})
    streams = [SotwStream(tracker(), f"s{i}-") for i in range(2)]
    sent = []
    for s in streams:
        s.on_snapshot(snap)
        [cds] = s.on_request(req(CLUSTER))
        [eds] = s.on_request(req(ENDPOINT, ("c2", "c1")))
        sent.append((cds, eds))
    (cds0, eds0), (cds1, eds1) = sent
    assert cds0.body is cds1.body and eds0.body is eds1.body  # encoded once for both streams
    parsed = discovery_pb2.DiscoveryResponse.FromString(wire.encode(cds1))
    assert parsed.nonce == cds1.nonce == "s1-1"
    assert parsed.version_info == snap.version(CLUSTER) and parsed.type_url == CLUSTER
    assert list(parsed.resources) == list(snap.of(CLUSTER).packed.values())
    eds = eds0.message()
    assert [r.value for r in eds.resources] == [
        snap.of(ENDPOINT).packed[n].value for n in ("c1", "c2")
    ]


def test_sotw_named_subsets_get_their_own_body() -> None:
    s = SotwStream(tracker(), "n")
    s.on_snapshot(snapshot(clusters={"c1": 1, "c2": 2}))
    [cds] = s.on_request(req(CLUSTER))
    [eds] = s.on_request(req(ENDPOINT, ("c1",)))
    s.on_request(ack(cds))
    [more] = s.on_request(ack(eds, ("c1", "c2")))
    assert len(eds.message().resources) == 1 and len(more.message().resources) == 2


def test_delta_bytes_match_the_message() -> None:
    snap = snapshot(clusters={"c1": 1, "c2": 2})
    s = DeltaStream(tracker("delta"), "d")
    s.on_snapshot(snap)
    [cds] = s.on_request(delta_req(CLUSTER))
    parsed = discovery_pb2.DeltaDiscoveryResponse.FromString(wire.encode(cds))
    expected = discovery_pb2.DeltaDiscoveryResponse(
        system_version_info=snap.version(CLUSTER),
        resources=cds.resources,
        type_url=CLUSTER,
        nonce=cds.nonce,
    )
    assert parsed == expected
    s.on_request(delta_req(CLUSTER, nonce=cds.nonce))
    [gone] = s.on_snapshot(snapshot(clusters={"c1": 1}))
    assert list(gone.message().removed_resources) == ["c2"] and not gone.names


def test_plain_messages_and_bytes_pass_through() -> None:
    message = discovery_pb2.DiscoveryResponse(type_url=ROUTE, nonce="x")
    assert wire.encode(message) == message.SerializeToString()
    assert wire.encode(b"raw") == b"raw"
