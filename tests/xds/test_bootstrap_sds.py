"""The bootstrap's SDS option: Istio's static ``sds-grpc`` cluster to the agent's socket."""

from __future__ import annotations

from sailmesh.xds.bootstrap import UnixAddress, render_bootstrap


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
