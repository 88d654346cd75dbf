"""Localities from Kubernetes topology labels."""

from __future__ import annotations

from sailmesh.registry.locality import locality_from_labels, with_topology_labels

TOPOLOGY = {
    "topology.kubernetes.io/region": "us-east",
    "topology.kubernetes.io/zone": "us-east-1a",
    "topology.istio.io/subzone": "rack7",
}


def test_locality_from_topology_labels() -> None:
    assert locality_from_labels(TOPOLOGY) == "us-east/us-east-1a/rack7"
    assert locality_from_labels({"topology.kubernetes.io/region": "eu"}) == "eu"
    assert locality_from_labels({}) == ""


def test_istio_locality_label_and_explicit_locality_win() -> None:
    assert locality_from_labels({**TOPOLOGY, "istio-locality": "r.z"}) == "r/z"
    assert locality_from_labels(TOPOLOGY, explicit="a/b/") == "a/b"


def test_topology_labels_are_added_back() -> None:
    labels = with_topology_labels({"app": "x"}, "r1/z1")
    assert labels == {"app": "x", "topology.kubernetes.io/region": "r1",
                      "topology.kubernetes.io/zone": "z1"}  # fmt: skip
