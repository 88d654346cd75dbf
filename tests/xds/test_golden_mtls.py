"""Golden files of the mutual TLS parts of translator output: transport sockets of the clusters,
tlsMode metadata of the endpoints, and ``virtualInbound``'s filter chains under each
PeerAuthentication mode (refresh with ``SAILMESH_UPDATE_GOLDEN=1``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import xds_fixtures as fx
from mtls_world import SDS, api_proxy, as_dict, snapshot
from test_cluster_tls import ISTIO_MUTUAL, ORIGINATE, ORIGINATE_HTTPS_PORT
from test_inbound_mtls import DISABLE, PERMISSIVE, PORT_LEVEL, STRICT

from sailmesh.ads.resources import CLUSTER, ENDPOINT, LISTENER
from sailmesh.snapshot.proxy import Proxy
from sailmesh.xds.translate import translate

GOLDEN = Path(__file__).parent / "golden"
_TLS_FIELDS = ("transport_socket", "transport_socket_matches", "typed_extension_protocol_options")

#: case -> (proxy, config): clients' clusters for the outbound cases, the api workload's
#: inbound listener for the PeerAuthentication ones.
CASES: dict[str, tuple[Proxy, str]] = {
    "mtls_auto": (fx.productpage_proxy(), ""),
    "mtls_destination_rules": (fx.productpage_proxy(), ISTIO_MUTUAL + "---\n" + ORIGINATE),
    "mtls_originate_https_port": (fx.productpage_proxy(), ORIGINATE_HTTPS_PORT),
    "mtls_strict": (api_proxy(), STRICT),
    "mtls_permissive": (api_proxy(), PERMISSIVE),
    "mtls_disable": (api_proxy(), DISABLE),
    "mtls_port_level": (api_proxy(), PORT_LEVEL),
}


def _clusters(found: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, message in sorted(found.items()):
        data = as_dict(message)
        if "transport_socket" in data or "transport_socket_matches" in data:
            out[name] = {k: data[k] for k in _TLS_FIELDS if k in data}
    return out


def _endpoints(found: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, message in sorted(found.items()):
        for group in message.endpoints:
            for lb in group.lb_endpoints:
                match = lb.metadata.filter_metadata.get("envoy.transport_socket_match")
                address = lb.endpoint.address.socket_address.address
                out.setdefault(name, {})[address] = dict(match) if match is not None else None
    return out


def _inbound(listener: Any) -> dict[str, Any]:
    data = as_dict(listener)
    return {
        "listener_filters": data.get("listener_filters", []),
        "filter_chains": [
            {
                "name": chain["name"],
                "filter_chain_match": chain.get("filter_chain_match", {}),
                "transport_socket": chain.get("transport_socket"),
                "filters": [f["name"] for f in chain["filters"]],
            }
            for chain in data["filter_chains"]
        ],
    }


def render(proxy: Proxy, text: str) -> dict[str, Any]:
    resources = translate(proxy, snapshot(text), options=SDS)
    if proxy.pod_name == "api-1":
        return {"virtualInbound": _inbound(resources[LISTENER]["virtualInbound"])}
    return {
        "clusters": _clusters(resources[CLUSTER]),
        "endpoints": _endpoints(resources[ENDPOINT]),
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_mtls(case: str) -> None:
    output = render(*CASES[case])
    text = json.dumps(output, indent=1, sort_keys=True) + "\n"
    path = GOLDEN / f"{case}.json"
    if os.environ.get("SAILMESH_UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_text(text)
        if os.environ.get("SAILMESH_UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden file {path.name} was missing and has been written")
    assert json.loads(path.read_text()) == output, (
        f"{path.name} differs; rerun with SAILMESH_UPDATE_GOLDEN=1 if the change is intended"
    )
