"""The proxy's locality: Envoy's node.locality, else its topology labels; set by the bootstrap."""

from __future__ import annotations

from envoy.config.core.v3 import base_pb2
from google.protobuf import struct_pb2

from sailmesh.xds.bootstrap import UnixAddress, render_bootstrap
from sailmesh.xds.node import proxy_from_node

TOPOLOGY = {
    "topology.kubernetes.io/region": "us-east",
    "topology.kubernetes.io/zone": "us-east-1a",
    "topology.istio.io/subzone": "rack7",
}


def test_proxy_locality_from_node_locality_or_labels() -> None:
    node = base_pb2.Node(id="sidecar~10.0.0.1~a.default~default.svc.cluster.local")
    labels = struct_pb2.Struct()
    labels.update({"LABELS": TOPOLOGY})
    node.metadata.CopyFrom(labels)
    assert proxy_from_node(node).locality == "us-east/us-east-1a/rack7"
    node.locality.CopyFrom(base_pb2.Locality(region="eu", zone="z9"))
    assert proxy_from_node(node).locality == "eu/z9"


def test_bootstrap_carries_the_node_locality() -> None:
    boot = render_bootstrap(node_id="sidecar~1~a.b~b.svc.cluster.local", cluster="c",
                            xds_address=UnixAddress("/x"), metadata={"LABELS": TOPOLOGY})  # fmt: skip
    assert boot["node"]["locality"] == {"region": "us-east", "zone": "us-east-1a",
                                        "sub_zone": "rack7"}  # fmt: skip
