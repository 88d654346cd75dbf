"""The bootstrap's SDS option: Istio's static ``sds-grpc`` cluster to the agent's socket, and the
``sds-prefetch`` cluster that makes Envoy subscribe to ``default`` and ``ROOTCA`` at start."""

from __future__ import annotations

from google.protobuf import json_format

from sailmesh.xds.bootstrap import UnixAddress, render_bootstrap, sds_secret_config
from sailmesh.xds.secrets import DEFAULT_SECRET, ROOT_SECRET, sds_reference


def _clusters(**kwargs: object) -> dict[str, dict[str, object]]:
    document = render_bootstrap(
        node_id="n",
        cluster="c",
        xds_address=UnixAddress("/x.sock"),
        **kwargs,  # type: ignore[arg-type]
    )
    return {c["name"]: c for c in document["static_resources"]["clusters"]}


def test_off_by_default() -> None:
    assert list(_clusters()) == ["xds-grpc"]


def test_sds_cluster_on_the_agent_socket() -> None:
    sds = _clusters(sds_socket="/pod/sds.sock")["sds-grpc"]
    endpoint = sds["load_assignment"]["endpoints"][0]  # type: ignore[index]
    assert endpoint["lb_endpoints"][0]["endpoint"]["address"] == {"pipe": {"path": "/pod/sds.sock"}}
    assert "http2_protocol_options" in str(sds["typed_extension_protocol_options"])


def test_sds_flag_round_trips_through_node_metadata() -> None:
    from envoy.config.core.v3 import base_pb2
    from google.protobuf import json_format

    from sailmesh.xds.node import node_metadata_for, options_from_node

    def options(sds: bool) -> bool:
        node = base_pb2.Node(id="sidecar~10.0.0.1~a.default~default.svc.cluster.local")
        json_format.ParseDict(node_metadata_for("default", {}, "a", sds=sds), node.metadata)
        return options_from_node(node).sds

    assert options(True) is True
    assert options(False) is False


def test_prefetch_cluster_subscribes_to_both_secrets_and_carries_no_traffic() -> None:
    clusters = _clusters(sds_socket="/pod/sds.sock")
    assert list(clusters) == ["xds-grpc", "sds-grpc", "sds-prefetch"]
    prefetch = clusters["sds-prefetch"]
    assert "endpoints" not in prefetch["load_assignment"]  # type: ignore[operator]
    common = prefetch["transport_socket"]["typed_config"]["common_tls_context"]  # type: ignore[index]
    assert common["tls_certificate_sds_secret_configs"] == [sds_secret_config(DEFAULT_SECRET)]
    assert common["validation_context_sds_secret_config"] == sds_secret_config(ROOT_SECRET)


def test_json_secret_reference_is_the_protobuf_one() -> None:
    for name in (DEFAULT_SECRET, ROOT_SECRET):
        expected = json_format.MessageToDict(sds_reference(name), preserving_proto_field_name=True)
        assert sds_secret_config(name) == expected
