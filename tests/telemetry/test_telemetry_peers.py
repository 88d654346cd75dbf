"""Who is at an address: Istio's names for a workload, and the directory's lookups."""

from __future__ import annotations

from sailmesh.telemetry.peers import Peer, PeerDirectory, ServiceName, peer_from_node


def test_istio_fallbacks_for_canonical_names_app_and_version() -> None:
    plain = Peer("reviews-v1", "default")
    assert (plain.canonical_service, plain.canonical_revision) == ("reviews-v1", "latest")
    assert (plain.app, plain.version) == ("unknown", "unknown")
    labelled = Peer("reviews-v1", "default", {"app": "reviews", "version": "v1"})
    assert (labelled.canonical_service, labelled.canonical_revision) == ("reviews", "v1")
    canonical = Peer(
        "w",
        "ns",
        {
            "app": "a",
            "service.istio.io/canonical-name": "shop",
            "app.kubernetes.io/version": "2",
        },
    )
    assert (canonical.canonical_service, canonical.canonical_revision) == ("shop", "2")


def test_a_node_id_and_its_metadata_name_the_proxy() -> None:
    node = "sidecar~10.244.0.5~reviews-v1-abcde-0.default~default.svc.cluster.local"
    address, peer = peer_from_node(
        node,
        {
            "NAMESPACE": "default",
            "WORKLOAD_NAME": "reviews-v1",
            "LABELS": {"app": "reviews"},
            "SERVICE_ACCOUNT": "bookinfo-reviews",
        },
    ) or ("", Peer("", ""))
    assert address == "10.244.0.5"
    assert (peer.workload, peer.namespace, peer.service_account) == (
        "reviews-v1",
        "default",
        "bookinfo-reviews",
    )
    _, bare = peer_from_node(node, {}) or ("", Peer("", ""))
    assert (bare.workload, bare.namespace) == ("reviews-v1-abcde-0", "default")  # the pod
    assert peer_from_node("not-a-node-id", {}) is None


def test_directory_lookups() -> None:
    first, second = Peer("a", "ns"), Peer("b", "ns")
    directory = PeerDirectory.build(
        [("10.0.0.1", first), ("10.0.0.1", second)],
        [("httpbin.org", ServiceName("httpbin.org", "egress"))],
    )
    assert directory.peer("10.0.0.1") is first  # the first entry for an address wins
    assert directory.peer("") is None and directory.peer("10.0.0.2") is None
    assert directory.service("httpbin.org") == ServiceName("httpbin.org", "egress")
    assert directory.service("ratings.bookinfo.svc.cluster.local") == ServiceName(
        "ratings", "bookinfo"
    )
    assert directory.service("example.com") is None
